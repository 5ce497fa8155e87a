import type { PresenceUser } from '@roomkit/protocol';
import type { RoomClient } from '../room-client.js';
import { memo, type ReadonlySignal } from '../signals.js';
import type { PresenceState, User } from '../types.js';
import { toUser } from '../users.js';

export interface PresenceOptions<T> {
  /** How this user appears to the others (`id` is always the server's `userId`). */
  user?: Partial<User>;
  initialData?: T;
  /** Presence changes are sent at most once per this many ms (default 1000); the last one always goes out. */
  syncInterval?: number;
}

export interface Presence<T> {
  /** Everyone else in the room (other users; this user's other tabs are not "others"). */
  others: ReadonlySignal<PresenceState<T>[]>;
  myPresence: ReadonlySignal<T>;
  /** Connected and in the room. */
  isConnected: ReadonlySignal<boolean>;
  /** Users in the room, including this one. */
  count: ReadonlySignal<number>;
  updatePresence(data: Partial<T>): void;
  /** Stops holding the room for presence. */
  dispose(): void;
}

export function createPresence<T extends object = Record<string, unknown>>(
  room: RoomClient,
  options: PresenceOptions<T> = {},
): Presence<T> {
  const syncInterval = options.syncInterval ?? 1000;
  if (!(syncInterval >= 0)) throw new TypeError('syncInterval must be a number >= 0');
  room.configure({ user: options.user });
  if (options.initialData !== undefined) {
    room.setPresence({ ...options.initialData, ...room.presenceData.peek() }, syncInterval);
  }
  const release = room.hold();
  const others = memo(() => {
    const me = room.client.session()?.userId;
    return room
      .members()
      .filter((member) => member.userId !== me)
      .map((member) => toPresenceState<T>(member));
  });
  return {
    others,
    myPresence: memo(() => room.presenceData() as T),
    isConnected: memo(() => room.isJoined()),
    count: memo(() => room.members().length),
    updatePresence(data) {
      room.setPresence({ ...room.presenceData.peek(), ...data }, syncInterval);
    },
    dispose: release,
  };
}

export function toPresenceState<T>(member: PresenceUser): PresenceState<T> {
  const data = member.metadata?.data;
  return {
    user: toUser(member),
    data: (typeof data === 'object' && data !== null ? data : {}) as T,
    lastSeen: member.lastActiveAt,
    onlineStatus: member.onlineStatus,
  };
}
