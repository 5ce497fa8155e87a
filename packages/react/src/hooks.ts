import type {
  CursorState,
  PresenceState,
  Room,
  RoomkitError,
  User,
  WebSocketClient,
} from '@roomkit/client';
import { useCallback } from 'react';
import { useTargetRoom } from './context.js';
import { sameData } from './equal.js';
import { useFeature, useRoomSettings } from './use-feature.js';
import { useSignalOr } from './use-signal.js';

/**
 * Where a hook works: `client` and `room` (a room id) default to the nearest `RoomProvider`'s;
 * give both to use a hook without a provider.
 */
export interface RoomTarget {
  client?: WebSocketClient;
  /** The room id. */
  room?: string;
}

// Stable fallbacks shown before a feature exists: a new [] per render would defeat memoization.
const NO_ITEMS: readonly never[] = Object.freeze([]);
const NO_DATA: Readonly<Record<string, never>> = Object.freeze({});

// ---- presence ----

/** Options of `usePresence` (as in `@roomkit/client`, with `client` and `room` optional). */
export interface UsePresenceOptions<T = Record<string, unknown>> extends RoomTarget {
  /** How this user appears to the others (`id` is always the server's `userId`). */
  user?: Partial<User>;
  /** This user's presence data until `updatePresence` changes it (read on mount). */
  initialData?: T;
  /** Presence changes are sent at most once per this many ms (default 1000). */
  syncInterval?: number;
}

/** What `usePresence` returns: values as of this render, and a stable `updatePresence`. */
export interface UsePresenceResult<T = Record<string, unknown>> {
  /** Everyone else in the room. */
  others: readonly PresenceState<T>[];
  /** This user's presence data. */
  myPresence: T;
  /** Users in the room, including this one. */
  count: number;
  /** Connected and in the room. */
  isConnected: boolean;
  /** Merges `data` into this user's presence data and shares it (throttled by `syncInterval`). */
  updatePresence: (data: Partial<T>) => void;
}

/**
 * Who is in the room and what they share (`others`, `myPresence`, `count`, `isConnected`), and
 * `updatePresence` to share this user's data. Holds the room while mounted. Re-renders only when
 * one of these values changes (an equal new list does not count).
 */
export function usePresence<T extends object = Record<string, unknown>>(
  options: UsePresenceOptions<T> = {},
): UsePresenceResult<T> {
  const room = useTargetRoom(options, 'usePresence');
  const { initialData, syncInterval } = options;
  useRoomSettings(room, {}, options.user);
  const { feature, run } = useFeature(
    () => room.presence<T>({ initialData, syncInterval }),
    [room, syncInterval],
  );
  const others = useSignalOr<readonly PresenceState<T>[]>(
    feature?.others ?? null,
    NO_ITEMS,
    sameData,
  );
  const myPresence = useSignalOr(
    feature?.myPresence ?? null,
    initialData ?? (NO_DATA as T),
    sameData,
  );
  const count = useSignalOr(feature?.count ?? null, 0);
  const isConnected = useSignalOr(feature?.isConnected ?? null, false);
  const updatePresence = useCallback(
    (data: Partial<T>) => run((presence) => presence.updatePresence(data)),
    [run],
  );
  return { others, myPresence, count, isConnected, updatePresence };
}

// ---- cursors ----

/** Options of `useCursors` (as in `@roomkit/client`, with `client` and `room` optional). */
export interface UseCursorsOptions extends RoomTarget {
  user?: Partial<User>;
  /** At most one position per this many ms is sent (default 50); the last one always goes out. */
  throttle?: number;
}

/** What `useCursors` returns. */
export interface UseCursorsResult {
  /** The other users' cursors. */
  cursors: readonly CursorState[];
  /** Shares this user's cursor position (throttled). Stable. */
  broadcast: (x: number, y: number) => void;
}

/**
 * The other users' live cursors, and a throttled `broadcast(x, y)` for this user's. Holds the room
 * while mounted; re-renders only when a cursor moves, appears or goes.
 */
export function useCursors(options: UseCursorsOptions = {}): UseCursorsResult {
  const room = useTargetRoom(options, 'useCursors');
  const { throttle } = options;
  useRoomSettings(room, {}, options.user);
  const { feature, run } = useFeature(() => room.cursors({ throttle }), [room, throttle]);
  const cursors = useSignalOr<readonly CursorState[]>(feature?.cursors ?? null, NO_ITEMS, sameData);
  const broadcast = useCallback(
    (x: number, y: number) => run((feature) => feature.broadcast(x, y)),
    [run],
  );
  return { cursors, broadcast };
}

// ---- room ----

/** Options of `useRoom` (`client` and `roomId` optional; `room` also names the id). */
export interface UseRoomOptions {
  client?: WebSocketClient;
  roomId?: string;
  /** Same as `roomId`. */
  room?: string;
  user?: Partial<User>;
  password?: string;
  /** When this join creates the room: the most distinct users it admits. */
  maxUsers?: number;
  /** When this join creates the room: its metadata. */
  metadata?: Record<string, unknown>;
}

/** What `useRoom` returns. The actions are stable. */
export interface UseRoomResult {
  /** The joined room (id, users, metadata, createdAt), or null. */
  room: Room | null;
  users: readonly User[];
  isJoined: boolean;
  /** Why the last join failed (`code`: `wrong_password`, `room_full`, ...), or null. */
  error: RoomkitError | null;
  /** Joins (or retries a failed join). Resolves true once joined, false if refused or unmounted. */
  join: () => Promise<boolean>;
  /** Stops this hook's hold on the room (the room stays joined while a provider or feature holds it). */
  leave: () => void;
  /** An application message `{type, payload}` to the room; also delivered to this client's `on(type)`. */
  broadcast: (type: string, payload?: unknown) => void;
}

/**
 * A room handle: the room, its users, whether it is joined and why not, with explicit
 * `join()` / `leave()`. Inside a `RoomProvider` the room is already joined; outside, call `join()`
 * (e.g. in an effect). Unmounting leaves whatever `join()` took.
 */
export function useRoom(options: UseRoomOptions = {}): UseRoomResult {
  const { client, password, maxUsers, metadata, user } = options;
  const room = useTargetRoom({ client, room: options.roomId ?? options.room }, 'useRoom');
  useRoomSettings(room, { password, maxUsers, metadata }, user);
  const { feature, run } = useFeature(() => room.membership(), [room]);
  const roomValue = useSignalOr(feature?.room ?? null, null, sameData);
  const users = useSignalOr<readonly User[]>(feature?.users ?? null, NO_ITEMS, sameData);
  const isJoined = useSignalOr(feature?.isJoined ?? null, false);
  const error = useSignalOr(feature?.error ?? null, null);
  const join = useCallback(
    () =>
      new Promise<boolean>((resolve) => {
        if (!run((membership) => void membership.join().then(resolve))) resolve(false);
      }),
    [run],
  );
  const leave = useCallback(() => run((membership) => membership.leave()), [run]);
  const broadcast = useCallback(
    (type: string, payload?: unknown) => run((membership) => membership.broadcast(type, payload)),
    [run],
  );
  return { room: roomValue, users, isJoined, error, join, leave, broadcast };
}
