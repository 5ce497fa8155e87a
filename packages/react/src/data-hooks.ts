import type { BroadcastMessage, RoomkitError, Storage } from '@roomkit/client';
import { useCallback } from 'react';
import { useTargetRoom } from './context.js';
import type { RoomTarget } from './hooks.js';
import { useFeature } from './use-feature.js';
import { useSignalOr } from './use-signal.js';

const NO_MESSAGES: readonly never[] = Object.freeze([]);

// ---- broadcast channels ----

/** Options of `useBroadcast` (as in `@roomkit/client`, with `client` and `room` optional). */
export interface UseBroadcastOptions extends RoomTarget {
  /** 1-128 printable ASCII characters. */
  channel: string;
  /** Messages kept in `history` (default 100; the oldest go first). */
  historyLimit?: number;
}

/** What `useBroadcast` returns. The actions are stable. */
export interface UseBroadcastResult<T = Record<string, unknown>> {
  /** Messages received (and sent) since mount, oldest first. */
  history: readonly BroadcastMessage<T>[];
  lastMessage: BroadcastMessage<T> | null;
  /** Sends `message` to everyone else in the room; it also goes into this history. */
  broadcast: (message: T) => void;
  /** Empties this component's history. */
  clear: () => void;
}

/**
 * A broadcast channel in the room: `broadcast(message)` to the others, and the `history` and
 * `lastMessage` received while mounted (each component has its own history). Holds the room while
 * mounted; a new `channel` starts a new history.
 */
export function useBroadcast<T extends object = Record<string, unknown>>(
  options: UseBroadcastOptions,
): UseBroadcastResult<T> {
  const room = useTargetRoom(options, 'useBroadcast');
  const { channel, historyLimit } = options;
  const { feature, run } = useFeature(
    () => room.channel<T>(channel, { historyLimit }),
    [room, channel, historyLimit],
  );
  const history = useSignalOr<readonly BroadcastMessage<T>[]>(
    feature?.history ?? null,
    NO_MESSAGES,
  );
  const lastMessage = useSignalOr(feature?.lastMessage ?? null, null);
  const broadcast = useCallback(
    (message: T) => run((feature) => feature.broadcast(message)),
    [run],
  );
  const clear = useCallback(() => run((feature) => feature.clear()), [run]);
  return { history, lastMessage, broadcast, clear };
}

// ---- shared state ----

/** Options of `useSharedState` (as in `@roomkit/client`, with `client` and `room` optional). */
export interface UseSharedStateOptions<T> extends RoomTarget {
  /** Shown for keys the room's state does not have yet (read on mount; not written to the server). */
  initialState: T;
}

/** What `useSharedState` returns. `set` and `merge` are stable; `get` reads this render's `state`. */
export interface UseSharedStateResult<T> {
  /** The room's state over `initialState`, with this client's unconfirmed writes on top. */
  state: T;
  /** Counts every change this client has seen. */
  version: number;
  /** `state[key]`; a new function whenever `state` changes, so it is safe in dependency lists. */
  get: <K extends keyof T>(key: K) => T[K];
  /** Sets one key (last writer wins); shown at once, confirmed or rolled back by the server. */
  set: <K extends keyof T>(key: K, value: T[K]) => void;
  /** Sets several keys (each replaced; not a deep merge). */
  merge: (partial: Partial<T>) => void;
}

/**
 * The room's shared last-writer-wins state as an object, with `set` / `merge`. Writes show at once
 * and are sent again after a reconnect if the server had not confirmed them. Holds the room while
 * mounted.
 */
export function useSharedState<T extends object>(
  options: UseSharedStateOptions<T>,
): UseSharedStateResult<T> {
  const room = useTargetRoom(options, 'useSharedState');
  const { initialState } = options;
  const { feature, run } = useFeature(() => room.sharedState<T>({ initialState }), [room]);
  const state = useSignalOr(feature?.state ?? null, initialState);
  const version = useSignalOr(feature?.version ?? null, 0);
  const get = useCallback(<K extends keyof T>(key: K): T[K] => state[key], [state]);
  const set = useCallback(
    <K extends keyof T>(key: K, value: T[K]) => run((feature) => feature.set(key, value)),
    [run],
  );
  const merge = useCallback(
    (partial: Partial<T>) => run((feature) => feature.merge(partial)),
    [run],
  );
  return { state, version, get, set, merge };
}

// ---- storage ----

/** What `useStorage` returns. */
export interface UseStorageResult {
  /** The room's Yjs document (one per room per client; the same object for every render). */
  doc: Storage['doc'];
  /** The document has caught up with the server since the last (re)join. */
  synced: boolean;
  /** Local changes sent and not yet confirmed durable by the server. */
  pendingUpdates: number;
  /** The server's last refusal of a local change, or null. */
  error: RoomkitError | null;
  /** Resolves at the next (or current) sync. Stable. */
  whenSynced: () => Promise<void>;
}

/**
 * The room's Yjs document (Roomkit's CRDT storage), kept in sync with the server
 * and the other users while mounted: edit `doc` directly. `synced` says whether it has caught up
 * since the last (re)join. Holds the room while mounted.
 */
export function useStorage(options: RoomTarget = {}): UseStorageResult {
  const room = useTargetRoom(options, 'useStorage');
  // The doc and its signals belong to the room, not to a handle, so render can show them at once;
  // the view takes no hold (render must not), the feature below holds the room while mounted.
  const view = room.storage({ hold: false });
  useFeature(() => room.storage(), [room]);
  const synced = useSignalOr(view.synced, false, undefined, { value: false });
  const pendingUpdates = useSignalOr(view.pendingUpdates, 0, undefined, { value: 0 });
  const error = useSignalOr(view.error, null, undefined, { value: null });
  return { doc: view.doc, synced, pendingUpdates, error, whenSynced: view.whenSynced };
}
