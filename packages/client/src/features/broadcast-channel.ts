import { CHANNEL_PATTERN } from '@roomkit/protocol/limits';
import type { RoomClient } from '../room-client.js';
import { memo, type ReadonlySignal, signal } from '../signals.js';
import { finite, text } from '../wire.js';

/** A received (or sent) channel message: the payload's fields plus who sent it and when. */
export type BroadcastMessage<T> = T & { from: string; timestamp: number };

export interface BroadcastOptions {
  /** 1-128 printable ASCII characters. */
  channel: string;
  /** Messages kept in `history()` (default 100; the oldest go first). */
  historyLimit?: number;
}

export interface BroadcastChannel<T> {
  /** Sends to everyone else in the room; it also goes into this client's own history. */
  broadcast(message: T): void;
  lastMessage: ReadonlySignal<BroadcastMessage<T> | null>;
  history: ReadonlySignal<BroadcastMessage<T>[]>;
  clear(): void;
  dispose(): void;
}

export function createBroadcastChannel<T extends object>(
  room: RoomClient,
  options: BroadcastOptions,
): BroadcastChannel<T> {
  const { channel } = options;
  if (typeof channel !== 'string' || !CHANNEL_PATTERN.test(channel)) {
    throw new TypeError(
      `invalid channel ${JSON.stringify(channel)}: 1-128 printable ASCII characters, no spaces`,
    );
  }
  const limit = options.historyLimit ?? 100;
  if (!(limit >= 1)) throw new TypeError('historyLimit must be a number >= 1');
  const history = signal<BroadcastMessage<T>[]>([]);
  const push = (payload: unknown, from: string, timestamp: number) => {
    const fields = typeof payload === 'object' && payload !== null ? payload : { value: payload };
    const entry = { ...fields, from, timestamp } as BroadcastMessage<T>;
    const next = [...history.peek(), entry];
    history.set(next.length > limit ? next.slice(next.length - limit) : next);
  };
  const release = room.hold();
  const stop = room.listen('broadcast', (message) => {
    if (message.channel !== channel) return;
    push(message.payload, text(message.from), finite(message.timestamp, Date.now()));
  });
  return {
    broadcast(message) {
      room.send({ type: 'broadcast', room: room.id, channel, payload: message });
      push(message, room.selfId ?? '', Date.now());
    },
    lastMessage: memo(() => history().at(-1) ?? null),
    history,
    clear() {
      history.set([]);
    },
    dispose() {
      stop();
      release();
    },
  };
}
