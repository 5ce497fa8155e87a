import type { Feature, MemberPayload } from './feature.js';

/**
 * `room:info` (the room's settings) to every joiner, right after `state:init`. Who came and went
 * (`room:user:joined` / `room:user:left`) is told with presence, which knows every node's members.
 */
export class RoomInfoFeature implements Feature {
  readonly name = 'room-info';

  onJoin({ room, connection }: MemberPayload): void {
    connection.session.send(room.infoFrame());
  }
}
