import type { RoomClient } from '../room-client.js';
import { batch, memo, type ReadonlySignal, signal } from '../signals.js';
import { isSafeKey } from '../wire.js';

export interface SharedStateOptions<T> {
  /** Shown for keys the room's state does not have yet (not written to the server). */
  initialState: T;
}

export interface SharedState<T extends object> {
  /** The room's state over `initialState`, with this client's unconfirmed writes on top. */
  state: ReadonlySignal<T>;
  get<K extends keyof T>(key: K): T[K];
  /** Counts every change this client has seen (its own writes and everyone's). */
  version: ReadonlySignal<number>;
  /** Sets one key (last writer wins, by the server's clock). Applied locally at once. */
  set<K extends keyof T>(key: K, value: T[K]): void;
  /** Sets several keys (each key is replaced; this is not a deep merge). */
  merge(partial: Partial<T>): void;
  dispose(): void;
}

/**
 * The room's last-writer-wins state as an object. Writes show at once; each is confirmed (or
 * refused and rolled back) by the server, and writes made offline are sent after the rejoin.
 */
export function createSharedState<T extends object>(
  room: RoomClient,
  options: SharedStateOptions<T>,
): SharedState<T> {
  const initial = { ...options.initialState } as Record<string, unknown>;
  /**
   * Writes not yet confirmed: key → the value, the write's sequence number, and, once sent, the
   * newest server timestamp this client had seen in the room then (`sentAfter`).
   */
  const unconfirmed = signal<ReadonlyMap<string, Write>>(new Map());
  const version = signal(0);
  let seq = 0;
  const release = room.hold();

  const confirm = (key: string, writeSeq: number) => {
    const current = unconfirmed.peek().get(key);
    if (!current || current.seq !== writeSeq) return;
    const next = new Map(unconfirmed.peek());
    next.delete(key);
    batch(() => {
      unconfirmed.set(next);
      version.set((n) => n + 1);
    });
  };
  const send = (key: string, value: unknown, writeSeq: number) => {
    const write = unconfirmed.peek().get(key);
    if (write?.seq === writeSeq) write.sentAfter = newestTimestamp(room.liveState.peek());
    void room.client.request({ type: 'state:update', room: room.id, key, value }).then((reply) => {
      if (reply.ok) confirm(key, writeSeq);
      else if (reply.error.code !== 'disconnected') {
        // Refused: nothing was applied on the server, so show its value again.
        confirm(key, writeSeq);
        room.client.reportError(reply.error);
      }
    });
  };
  const stopState = room.liveState.subscribe(() => version.set((n) => n + 1));
  // Unconfirmed writes go again after a rejoin, except a write that was sent and whose fate is
  // unknown (its ack was lost with the connection) when the server now holds it as ours, or holds
  // a newer write of the key by anyone: sending it again could undo that later write.
  const stopJoined = room.onJoined(() => {
    const me = room.selfId;
    const held = room.liveState.peek();
    for (const [key, write] of unconfirmed.peek()) {
      const entry = Object.hasOwn(held, key) ? held[key] : undefined;
      const ours = entry?.userId === me && sameJson(entry?.value, write.value);
      const superseded =
        entry !== undefined && write.sentAfter !== undefined && entry.timestamp > write.sentAfter;
      if (ours || superseded) confirm(key, write.seq);
      else send(key, write.value, write.seq);
    }
  });

  const state = memo(() => {
    const result: Record<string, unknown> = { ...initial };
    for (const [key, entry] of Object.entries(room.liveState())) result[key] = entry.value;
    // A write of `__proto__` is refused by the server; until then it must not become a prototype.
    for (const [key, write] of unconfirmed()) if (isSafeKey(key)) result[key] = write.value;
    return result as T;
  });
  const set = <K extends keyof T>(key: K, value: T[K]) => {
    const name = String(key);
    const writeSeq = ++seq;
    batch(() => {
      unconfirmed.set(new Map(unconfirmed.peek()).set(name, { value, seq: writeSeq }));
      version.set((n) => n + 1);
    });
    if (room.isJoined.peek()) send(name, value, writeSeq);
  };
  return {
    state,
    get: (key) => state()[key],
    version,
    set,
    merge(partial) {
      batch(() => {
        for (const [key, value] of Object.entries(partial))
          set(key as keyof T, value as T[keyof T]);
      });
    },
    dispose() {
      stopState();
      stopJoined();
      release();
    },
  };
}

function sameJson(a: unknown, b: unknown): boolean {
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return false;
  }
}

interface Write {
  value: unknown;
  seq: number;
  sentAfter?: number;
}

/** The newest server timestamp among the room's entries (the server's clock as this client saw it). */
function newestTimestamp(entries: Readonly<Record<string, { timestamp: number }>>): number {
  let newest = 0;
  for (const entry of Object.values(entries))
    if (entry.timestamp > newest) newest = entry.timestamp;
  return newest;
}
