import type { JoinSettings, RoomClient } from '../room-client.js';
import { memo, type ReadonlySignal } from '../signals.js';
import type { Room, RoomkitError, User } from '../types.js';

export interface MembershipOptions extends JoinSettings {
  user?: Partial<User>;
}

/** What `useRoom` returns: explicit join and leave, the room, its users, the last error. */
export interface RoomMembership {
  /** The joined room, or null. */
  room: ReadonlySignal<Room | null>;
  users: ReadonlySignal<User[]>;
  isJoined: ReadonlySignal<boolean>;
  /** Why the last join failed (`code`: `wrong_password`, `room_full`, `forbidden`, ...), or null. */
  error: ReadonlySignal<RoomkitError | null>;
  /** Joins (or retries a failed join). Resolves true once joined, false if refused. Never rejects. */
  join(): Promise<boolean>;
  /**
   * Leaves, unless another feature on this client still holds the room: `isJoined()` is false
   * when it returns, and a later `join()` joins again.
   */
  leave(): void;
  /** An application message `{type, payload}` to the room; also delivered to this client's own `on(type)` handlers. */
  broadcast(type: string, payload?: unknown): void;
  dispose(): void;
}

export function createMembership(
  room: RoomClient,
  options: MembershipOptions = {},
): RoomMembership {
  room.configure(options);
  let release: ReturnType<RoomClient['hold']> | undefined;
  /** `join()` promises still open: a `leave()` first settles them with false. */
  const waiting = new Set<(joined: boolean) => void>();
  /**
   * `leave()` lets go at once: when it returns, `isJoined()` is false (unless something else
   * holds the room). `dispose()` lets go at the end of the tick, as every feature does: a
   * component re-mounting in one tick (StrictMode) holds the room again and sends nothing.
   */
  const stop = (now: boolean) => {
    release?.({ now });
    release = undefined;
    for (const settle of [...waiting]) settle(false);
  };
  return {
    room: memo(() => {
      const info = room.info();
      if (!room.isJoined()) return null;
      // Without a `room:info` (an older server), the earliest member's arrival is the best guess.
      const createdAt =
        info && Number.isFinite(info.createdAt)
          ? info.createdAt
          : Math.min(...room.members().map((member) => member.connectedAt));
      const result: Room = { id: room.id, users: room.users(), createdAt: new Date(createdAt) };
      if (info) result.metadata = info.metadata;
      return result;
    }),
    users: room.users,
    isJoined: room.isJoined,
    error: room.error,
    join() {
      if (release) room.join();
      else release = room.hold();
      return new Promise<boolean>((resolve) => {
        const settle = (joined: boolean) => {
          if (!waiting.delete(settle)) return;
          resolve(joined);
        };
        waiting.add(settle);
        void room.whenJoined().then(settle);
      });
    },
    leave: () => stop(true),
    broadcast(type, payload) {
      room.broadcast(type, payload);
    },
    dispose: () => stop(false),
  };
}
