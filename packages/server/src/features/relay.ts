import type { AppMessage } from '@roomkit/protocol';
import { runHook } from '../hooks.js';
import type { ClientSession } from '../rooms/connection.js';
import type { FeatureContext, RoomTarget } from './feature.js';

/**
 * Application messages (any type that is not built in): `onMessage` first, then relayed to the
 * other members, stamped with the sender's `userId` (`from`) and server time (`timestamp`). The
 * client's own `from`, `timestamp`, `ref` and `offset` are replaced or dropped, so a sender cannot
 * be forged. `onMessage` may add fields to the message it is given; they are relayed.
 */
export class Relay {
  constructor(private readonly ctx: FeatureContext) {}

  relay(message: AppMessage, session: ClientSession, { room }: RoomTarget): void {
    const { ref: _ref, offset: _offset, ...fields } = message;
    const senderId = session.identity.userId;
    const onMessage = this.ctx.config.hooks.onMessage;
    if (onMessage) {
      runHook(this.ctx.logger, 'onMessage', () => onMessage(room.id, senderId, fields));
    }
    const relayed = { ...fields, room: room.id, from: senderId, timestamp: Date.now() };
    room.broadcast(JSON.stringify(relayed), [session.id]);
  }
}
