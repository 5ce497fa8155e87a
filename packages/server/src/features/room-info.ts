import type { RoomConnection } from '../rooms/connection.js';
import type { Room } from '../rooms/room.js';
import type { Feature } from './feature.js';

/**
 * `room:info` (the room's settings) to every joiner, right after `state:init`. Who came and went
 * (`room:user:joined` / `room:user:left`) is told with presence, which knows every node's members.
 */
export class RoomInfoFeature implements Feature {
  readonly name = 'room-info';

  onJoin(room: Room, connection: RoomConnection): void {
    connection.session.send(room.infoFrame());
  }
}
