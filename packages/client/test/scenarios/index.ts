import type { Scenario } from './env.js';
import { broadcastChannel, cursors, presence, room, sharedState, storage } from './features.js';
import { disconnectStops, reconnectAfterDrop } from './reconnect.js';

export type { Scenario, ScenarioEnv } from './env.js';

/** Every shared scenario by name: the Node and the Chromium runners both run all of them. */
export const scenarios: Record<string, Scenario> = {
  presence,
  cursors,
  room,
  broadcastChannel,
  sharedState,
  storage,
  reconnectAfterDrop,
  disconnectStops,
};
