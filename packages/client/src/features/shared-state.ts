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
  /** Writes not yet confirmed: key → the value and the write's sequence number. */
  const unconfirmed = signal<ReadonlyMap<string, { value: unknown; seq: number }>>(new Map());
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
  const stopJoined = room.onJoined(() => {
    for (const [key, write] of unconfirmed.peek()) send(key, write.value, write.seq);
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
