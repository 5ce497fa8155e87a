import type { AppMessage } from '@roomkit/protocol';
import type { ExtensionFeature } from '../extensions/extension-feature.js';
import { runHook } from '../hooks.js';
import type { ClientSession } from '../rooms/connection.js';
import type { Feature, FeatureContext, HandlerOutcome, RoomTarget } from './feature.js';

/**
 * Application messages (a type neither built in nor declared by an extension): the extensions'
 * `onMessage` hooks may refuse one (waited for, in order, when async), then the `onMessage`
 * config hook, then it is relayed to the other members, stamped with the sender's `userId`
 * (`from`) and server time (`timestamp`). The client's own `from`, `timestamp`, `ref` and
 * `offset` are replaced or dropped, so a sender cannot be forged. `onMessage` may add fields to
 * the message it is given; they are relayed.
 */
export class Relay implements Feature {
  readonly name = 'relay';

  constructor(
    private readonly ctx: FeatureContext,
    private readonly checks: readonly ExtensionFeature[] = [],
  ) {}

  handleAppMessage(
    message: AppMessage,
    session: ClientSession,
    target: RoomTarget,
  ): HandlerOutcome {
    const { ref: _ref, offset: _offset, ...fields } = message;
    const pending = this.check(fields, target, 0);
    if (pending === undefined) {
      this.relay(fields, session, target);
      return undefined;
    }
    return pending.then(() => {
      this.relay(fields, session, target);
      return undefined;
    });
  }

  /** Runs the extensions' checks from `from` on: at once while they answer at once. */
  private check(fields: AppMessage, target: RoomTarget, from: number): Promise<void> | undefined {
    for (let i = from; i < this.checks.length; i++) {
      const pending = this.checks[i]!.checkAppMessage(fields, target.connection);
      if (pending) return pending.then(() => this.check(fields, target, i + 1));
    }
    return undefined;
  }

  private relay(
    fields: AppMessage,
    session: ClientSession,
    { room, connection }: RoomTarget,
  ): void {
    // Left meanwhile (an async check): the message has no room to go to.
    if (session.memberships.get(room.id) !== connection) return;
    const senderId = session.identity.userId;
    const onMessage = this.ctx.config.hooks.onMessage;
    if (onMessage) {
      runHook(this.ctx.logger, 'onMessage', () => onMessage(room.id, senderId, fields));
    }
    const relayed = { ...fields, room: room.id, from: senderId, timestamp: Date.now() };
    room.broadcast(JSON.stringify(relayed), [session.id]);
  }
}
