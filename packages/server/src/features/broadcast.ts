import {
  type BroadcastServerMessage,
  CHANNEL_PATTERN,
  encodeServerMessage,
} from '@roomkit/protocol';
import { runHook } from '../hooks.js';
import type { Room } from '../rooms/room.js';
import { type Feature, type FeatureContext, onRoomMessage } from './feature.js';

/** The `from` of a message the application publishes with `RoomServer.broadcast`. */
export const SERVER_SENDER = 'server';

/**
 * Encodes a channel message once for every recipient. The shape is fixed (no client field travels
 * except `cid`), so a member can trust `from` and `timestamp`.
 */
export function encodeBroadcast(
  room: Pick<Room, 'id'>,
  channel: string,
  payload: unknown,
  from: string,
  cid?: string,
): string {
  const message: BroadcastServerMessage = {
    type: 'broadcast',
    room: room.id,
    channel,
    payload: payload === undefined ? null : payload,
    from,
    timestamp: Date.now(),
  };
  if (cid !== undefined) message.cid = cid;
  return encodeServerMessage(message);
}

/** Throws a `TypeError` unless `channel` is a valid channel name (for the server API). */
export function checkChannel(name: string, channel: unknown): asserts channel is string {
  if (typeof channel !== 'string' || !CHANNEL_PATTERN.test(channel)) {
    throw new TypeError(
      `${name}: channel must be 1-128 printable ASCII characters without spaces, got ${JSON.stringify(channel)}`,
    );
  }
}

/**
 * Broadcast channels: a member publishes `payload` on a named channel of a room and every other
 * member receives it, stamped with the sender (`from`) and the server time; the sending connection
 * does not (the sender's other tabs do). `onMessage` sees the message first, as it sees
 * application messages, and may replace its `payload`. Encoded once, relayed reliably.
 */
export class BroadcastFeature implements Feature {
  readonly name = 'broadcast';

  readonly handlers = [
    onRoomMessage('broadcast', (message, session, { room }) => {
      const senderId = session.identity.userId;
      const onMessage = this.ctx.config.hooks.onMessage;
      let { payload } = message;
      if (onMessage) {
        // The hook gets a copy without `ref` (copied only when there is a hook to see it).
        const { ref: _ref, ...fields } = message;
        runHook(this.ctx.logger, 'onMessage', () => onMessage(room.id, senderId, fields));
        payload = fields.payload;
      }
      // The channel and cid as validated: only the payload is the hook's to change.
      const frame = encodeBroadcast(room, message.channel, payload, senderId, message.cid);
      room.broadcast(frame, [session.id]);
      return undefined;
    }),
  ];

  constructor(private readonly ctx: FeatureContext) {}
}
