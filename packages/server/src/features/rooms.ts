import { ErrorCode, type RoomJoinMessage } from '@roomkit/protocol';
import type { ClientSession } from '../rooms/connection.js';
import type { JoinPath } from '../rooms/join-path.js';
import type { SpacesFeature } from '../spaces/spaces-feature.js';
import { type Feature, type HandlerReply, onSessionMessage, ProtocolError } from './feature.js';

/**
 * Multi-room on one socket: `room:join` (with the password it presents and the settings of a room
 * it creates), `room:leave`, `room:list`.
 */
export class RoomsFeature implements Feature {
  readonly name = 'rooms';

  readonly handlers = [
    onSessionMessage('room:join', (message, session) => {
      // A Spaces room (a UUID found in the Spaces tables) is joined through the same core join,
      // after its seat is taken; any other room is joined at once.
      const { spaces } = this;
      if (spaces?.mayBeSpacesRoom(message.room)) {
        return spaces
          .join(session, message)
          .then((reply) => reply ?? this.coreJoin(message, session));
      }
      return this.coreJoin(message, session);
    }),
    onSessionMessage('room:leave', (message, session) => {
      const connection = session.memberships.get(message.room);
      const seated = connection !== undefined && this.spaces?.isSeated(connection) === true;
      if (!this.membership().leave(session, message.room)) {
        throw new ProtocolError(ErrorCode.NotInRoom, `not in room "${message.room}"`);
      }
      return seated ? { type: 'room:left', room: message.room, reason: 'left' } : undefined;
    }),
    onSessionMessage('room:list', (_message, session) => ({
      type: 'room:list',
      rooms: [...session.memberships.keys()],
    })),
  ];

  /** JoinPath is built after the features it drives, so it is looked up lazily. */
  constructor(
    private readonly membership: () => JoinPath,
    /** Spaces rooms' joins and leaves, or null when Spaces is off. */
    private readonly spaces: SpacesFeature | null = null,
  ) {}

  private coreJoin(
    message: RoomJoinMessage,
    session: ClientSession,
  ): HandlerReply | Promise<HandlerReply> {
    const { password, maxUsers, metadata, presence } = message;
    const joined = this.membership().authorizeAndJoin(session, message.room, {
      password,
      maxUsers,
      metadata,
      presence,
    });
    return joined instanceof Promise ? joined.then(() => undefined) : undefined;
  }
}
