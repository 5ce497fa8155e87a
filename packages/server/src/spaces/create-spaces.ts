import type { Bus } from '../bus/bus.js';
import type { FeatureContext } from '../features/feature.js';
import type { JoinPath } from '../rooms/join-path.js';
import type { Store } from '../store/store.js';
import { SpacesFeature } from './spaces-feature.js';
import { SpacesHub } from './spaces-hub.js';
import { SpacesLive } from './spaces-live.js';
import { SpacesService } from './spaces-service.js';

/** What the server holds of Spaces: the operations and the WebSocket feature. */
export interface SpacesParts {
  hub: SpacesHub;
  feature: SpacesFeature;
}

/** Builds Spaces over the store when `spaces` is configured (null otherwise). */
export function createSpaces(
  ctx: FeatureContext,
  store: Store | undefined,
  membership: () => JoinPath,
  bus: Bus,
  /** Drops what the core kept of a deleted room outside the Spaces tables (its document). */
  forgetRoom: (roomId: string) => Promise<void>,
): SpacesParts | null {
  const settings = ctx.config.spaces;
  if (!settings || !store) return null;
  const service = new SpacesService(store, {
    maxActiveRoomsPerUser: settings.maxActiveRoomsPerUser,
    defaultMaxParticipants: settings.defaultMaxParticipants,
    defaultMode: settings.defaultMode,
  });
  const live = new SpacesLive(
    service,
    settings,
    ctx.rooms,
    membership,
    bus,
    ctx.logger,
    forgetRoom,
  );
  // Kicks, bans, REST leaves and deletions run on one node and reach the members on the others.
  ctx.rooms.onSpaces((room, message) => live.receive(room, message));
  // A crashed node's members never leave through this node: their seats go offline from here.
  ctx.rooms.listen({ membersLost: (room, lost) => live.membersLost(room, lost) });
  const hub = new SpacesHub(service, live, settings, ctx.logger);
  return { hub, feature: new SpacesFeature(hub, settings) };
}
