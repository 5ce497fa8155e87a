import type { CursorPosition as WireCursor } from '@roomkit/protocol';
import type { RoomClient } from '../room-client.js';
import { memo, type ReadonlySignal, signal } from '../signals.js';
import type { CursorState, User } from '../types.js';
import { toUser } from '../users.js';
import { readCursor } from '../wire.js';

export interface CursorsOptions {
  user?: Partial<User>;
  /** At most one position per this many ms is sent (default 50); the last one always goes out. */
  throttle?: number;
}

export interface Cursors {
  /** The other users' cursors; a user's cursor goes away when they leave the room. */
  cursors: ReadonlySignal<CursorState[]>;
  broadcast(x: number, y: number): void;
  dispose(): void;
}

export function createCursors(room: RoomClient, options: CursorsOptions = {}): Cursors {
  const throttle = options.throttle ?? 50;
  if (!(throttle >= 0)) throw new TypeError('throttle must be a number >= 0');
  room.configure({ user: options.user });
  const release = room.hold();
  const positions = signal<ReadonlyMap<string, WireCursor>>(new Map());
  let lastSent = 0;
  let pending: { x: number; y: number } | null = null;
  /** The last position broadcast, shown again to the others after a rejoin. */
  let last: { x: number; y: number } | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const flush = () => {
    timer = undefined;
    if (!pending || !room.isJoined.peek()) return;
    const { x, y } = pending;
    last = pending;
    pending = null;
    lastSent = Date.now();
    room.client.sendMessage({ type: 'cursor:update', room: room.id, x, y });
  };
  const stopListening = room.listen('cursor:update', (message) => {
    const cursor = readCursor(message.cursor);
    if (!cursor) return;
    const next = new Map(positions.peek());
    next.set(cursor.userId, cursor);
    positions.set(next);
  });
  const stopLeft = room.onLeft(() => positions.set(new Map()));
  // Forget the positions of users who left, so one who comes back does not show a stale cursor.
  const stopMembers = room.members.subscribe((members) => {
    const present = new Set(members.map((member) => member.userId));
    const current = positions.peek();
    if ([...current.keys()].every((userId) => present.has(userId))) return;
    positions.set(new Map([...current].filter(([userId]) => present.has(userId))));
  });
  // After a (re)join the others have no cursor for this user: send the latest position again.
  const stopJoined = room.onJoined(() => {
    pending ??= last;
    if (pending) flush();
  });

  const cursors = memo(() => {
    const me = room.client.session()?.userId;
    const members = new Map(room.members().map((member) => [member.userId, member]));
    const result: CursorState[] = [];
    for (const cursor of positions().values()) {
      if (cursor.userId === me) continue;
      const member = members.get(cursor.userId);
      // Drop the cursors of users who left (the server sends no message for that).
      if (!member) continue;
      result.push({ x: cursor.x, y: cursor.y, timestamp: cursor.lastUpdate, user: toUser(member) });
    }
    return result;
  });

  return {
    cursors,
    broadcast(x, y) {
      if (!Number.isFinite(x) || !Number.isFinite(y)) return;
      pending = { x, y };
      if (timer !== undefined) return;
      const wait = lastSent + throttle - Date.now();
      if (wait <= 0) flush();
      else timer = setTimeout(flush, wait);
    },
    dispose() {
      clearTimeout(timer);
      stopListening();
      stopLeft();
      stopMembers();
      stopJoined();
      release();
    },
  };
}
