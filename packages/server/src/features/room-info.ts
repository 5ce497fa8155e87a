import {
  encodeServerMessage,
  type RoomEventUser,
  type RoomUserJoinedServerMessage,
  type RoomUserLeftServerMessage,
} from '@roomkit/protocol';
import type { RoomConnection } from '../rooms/connection.js';
import type { Room } from '../rooms/room.js';
import type { Feature, FeatureContext } from './feature.js';

/**
 * What members hear about the room itself: `room:info` (its settings) to every joiner, right after
 * `state:init`; `room:user:joined` to the others when a user's first connection joins, and
 * `room:user:left` to the rest when its last one leaves. The events are per user, not per tab, and
 * reliable; they go out at once, so they precede the coalesced `presence` of the same change.
 */
export class RoomEventsFeature implements Feature {
  readonly name = 'room-events';
  /**
   * Per room, the users the others were told joined and not yet told left. A user whose only
   * connection never got announced (a rolled-back join) is not in it, so gets no `room:user:left`.
   */
  private readonly announced = new Map<Room, Set<string>>();

  constructor(private readonly ctx: FeatureContext) {}

  onJoin(room: Room, connection: RoomConnection): void {
    connection.session.send(room.infoFrame());
  }

  onAnnounce(room: Room, connection: RoomConnection): void {
    const { userId, displayName, color, avatarUrl } = connection.user;
    let users = this.announced.get(room);
    if (!users) {
      users = new Set();
      this.announced.set(room, users);
    }
    if (users.has(userId)) return;
    users.add(userId);
    const user: RoomEventUser = { userId, displayName, color };
    if (avatarUrl !== undefined) user.avatarUrl = avatarUrl;
    const event: RoomUserJoinedServerMessage = {
      type: 'room:user:joined',
      room: room.id,
      payload: { userId, user },
      timestamp: Date.now(),
    };
    room.broadcast(encodeServerMessage(event), [connection.id]);
  }

  onLeave(room: Room, connection: RoomConnection): void {
    const { userId } = connection.user;
    const users = this.announced.get(room);
    // Another tab of the user is still in the room: nothing changed for the others.
    if (!users?.has(userId) || room.connectionsOf(userId) > 0) return;
    users.delete(userId);
    if (users.size === 0) this.announced.delete(room);
    // A removed room's members hear `room:left` instead; there is no one left to tell.
    if (this.ctx.rooms.get(room.id) !== room) return;
    const event: RoomUserLeftServerMessage = {
      type: 'room:user:left',
      room: room.id,
      payload: userId,
      timestamp: Date.now(),
    };
    room.broadcast(encodeServerMessage(event));
  }

  onRoomUnload(room: Room): void {
    this.announced.delete(room);
  }
}
