import { ErrorCode } from '@roomkit/protocol';
import type { Membership } from '../rooms/membership.js';
import { type Feature, onSessionMessage, ProtocolError } from './feature.js';

/**
 * Multi-room on one socket: `room:join` (with the password it presents and the settings of a room
 * it creates), `room:leave`, `room:list`.
 */
export class RoomsFeature implements Feature {
  readonly name = 'rooms';

  readonly handlers = [
    onSessionMessage('room:join', (message, session) => {
      const { password, maxUsers, metadata } = message;
      const joined = this.membership().authorizeAndJoin(session, message.room, {
        password,
        maxUsers,
        metadata,
      });
      return joined instanceof Promise ? joined.then(() => undefined) : undefined;
    }),
    onSessionMessage('room:leave', (message, session) => {
      if (!this.membership().leave(session, message.room)) {
        throw new ProtocolError(ErrorCode.NotInRoom, `not in room "${message.room}"`);
      }
      return undefined;
    }),
    onSessionMessage('room:list', (_message, session) => ({
      type: 'room:list',
      rooms: [...session.memberships.keys()],
    })),
  ];

  /** Membership is built after the features it drives, so it is looked up lazily. */
  constructor(private readonly membership: () => Membership) {}
}
