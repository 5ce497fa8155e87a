import { ErrorCode, encodeServerMessage, FORBIDDEN_KEYS, isRecord } from '@roomkit/protocol';
import type { Room } from '../rooms/room.js';
import {
  type Feature,
  type FeatureContext,
  type MemberPayload,
  onRoomMessage,
  ProtocolError,
} from './feature.js';

/**
 * Live state: a per-room last-writer-wins map. `state:init` on join; `state:update` writes are
 * stamped by the server's hybrid logical clock (never the client's) and broadcast to everyone,
 * the writer included, so all members apply the same order.
 */
export class LiveStateFeature implements Feature {
  readonly name = 'live-state';

  readonly handlers = [
    onRoomMessage('state:update', (message, session, { room }) => {
      writeState(
        this.ctx,
        room,
        message.key,
        message.value,
        session.identity.userId,
        message.merge,
      );
      return undefined;
    }),
  ];

  constructor(private readonly ctx: FeatureContext) {}

  onJoin({ room, connection }: MemberPayload): void {
    connection.session.send(
      encodeServerMessage({ type: 'state:init', room: room.id, states: room.liveState.snapshot() }),
    );
  }
}

/**
 * Writes one live-state entry as `userId` (a member's `state:update`, or server code): checked
 * against the key rules and the room's limits (a `ProtocolError` if refused), stamped by the
 * server's clock, applied on every node, then broadcast to every member, the writer included.
 */
export function writeState(
  ctx: FeatureContext,
  room: Room,
  key: string,
  newValue: unknown,
  userId: string,
  merge = false,
): void {
  if (FORBIDDEN_KEYS.has(key)) {
    throw new ProtocolError(ErrorCode.ForbiddenKey, `state key "${key}" is not allowed`);
  }
  if (room.liveState.isFull(key)) {
    throw new ProtocolError(
      ErrorCode.StateLimit,
      `room state is limited to ${room.liveState.maxKeys} keys`,
    );
  }
  let value = newValue;
  if (merge) {
    if (!isRecord(value)) {
      throw new ProtocolError(
        ErrorCode.InvalidMessage,
        'state:update: field "value" must be an object when "merge" is true',
      );
    }
    const current = room.liveState.get(key)?.value;
    // Spread defines own properties, so a merge can never write through to a prototype.
    value = isRecord(current) ? { ...current, ...value } : { ...value };
    const size = Buffer.byteLength(JSON.stringify(value));
    if (size > ctx.config.limits.maxMessageBytes) {
      throw new ProtocolError(
        ErrorCode.StateLimit,
        `merged value of "${key}" would be ${size} bytes, over the ${ctx.config.limits.maxMessageBytes}-byte limit`,
      );
    }
  }
  const entry = { value, timestamp: ctx.clock.now(), userId };
  const frame = encodeServerMessage({ type: 'state:update', room: room.id, key, ...entry });
  // The broadcast frame's size stands for the entry's: measured without a second encode.
  if (room.liveState.wouldExceedBytes(key, frame.length)) {
    throw new ProtocolError(
      ErrorCode.StateLimit,
      `room state is limited to ${room.liveState.limits.maxBytes} bytes`,
    );
  }
  if (room.liveState.set(key, entry, frame.length)) {
    // Every node's copy takes the entry (last writer wins by the clock), then every member
    // hears it.
    ctx.rooms.applyLocal(room, {
      kind: 'state-set',
      room: room.id,
      key,
      entry,
      size: frame.length,
    });
    room.broadcast(frame);
  }
}
