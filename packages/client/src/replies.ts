import { type RealtimeMessage, RoomkitError } from './types.js';
import { text } from './wire.js';

/** A request's outcome: the server's reply, or why there is none. Never rejects. */
export type Reply = { ok: true; message: RealtimeMessage } | { ok: false; error: RoomkitError };

/** Server messages that answer a request by its `ref`. */
const REPLY_TYPES: ReadonlySet<string> = new Set(['ack', 'error', 'room:list', 'storage:init']);

export function isReply(message: RealtimeMessage): boolean {
  return REPLY_TYPES.has(message.type);
}

/** The error a server's `error` (or `room:error`) message stands for. */
export function errorOf(message: RealtimeMessage): RoomkitError {
  return new RoomkitError(text(message.code, 'error'), text(message.message));
}

/**
 * The client's requests awaiting a reply, by numeric `ref` (binary frames carry refs as numbers,
 * so JSON requests use numbers too). Every request ends: with its reply, or with `failAll` when
 * the connection is lost.
 */
export class PendingReplies {
  private readonly waiting = new Map<number, (reply: Reply) => void>();
  private nextRef = 1;

  makeRef(): number {
    return this.nextRef++;
  }

  expect(ref: number): Promise<Reply> {
    return new Promise((resolve) => this.onReply(ref, resolve));
  }

  /**
   * Calls `callback` with the reply to `ref` as it arrives, synchronously: before the frames that
   * follow it in the same network read are handled (a promise callback would run after them).
   */
  onReply(ref: number, callback: (reply: Reply) => void): void {
    this.waiting.set(ref, callback);
  }

  /** Resolves the request `message` answers; false if it answers none of ours. */
  settle(message: RealtimeMessage): boolean {
    const ref = message.ref;
    const resolve = typeof ref === 'number' ? this.waiting.get(ref) : undefined;
    if (!resolve) return false;
    this.waiting.delete(ref as number);
    // `room:error` is how Spaces operations (and joins of Spaces rooms) are refused.
    resolve(
      message.type === 'error' || message.type === 'room:error'
        ? { ok: false, error: errorOf(message) }
        : { ok: true, message },
    );
    return true;
  }

  failAll(error: RoomkitError): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const resolve of waiting) resolve({ ok: false, error });
  }
}
