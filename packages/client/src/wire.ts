/**
 * Reads what the server sends into well-formed values. A buggy or hostile server (or a proxy in
 * between) must not be able to put a non-array into `users()`, a `null` entry into the live
 * state, or make a signal's computation throw: malformed entries are dropped, malformed fields
 * get neutral defaults.
 */
import type { CursorPosition, PresenceUser, StateEntry } from '@roomkit/protocol';
import { DEFAULT_MAX_MESSAGE_BYTES, FORBIDDEN_KEYS, isValidRoomId } from '@roomkit/protocol/limits';
import type { RoomInfo } from './room-client.js';
import type { RealtimeMessage, Session } from './types.js';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Keys that would reach an object's prototype when used as a computed property. */
export function isSafeKey(key: string): boolean {
  return !FORBIDDEN_KEYS.has(key);
}

const str = (value: unknown, fallback = ''): string =>
  typeof value === 'string' ? value : fallback;
const STATUSES = new Set(['online', 'away', 'offline']);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** A text frame as a message, or null unless it is a JSON object with a string `type`. */
export function readMessage(data: string): RealtimeMessage | null {
  try {
    const parsed: unknown = JSON.parse(data);
    return isRecord(parsed) && typeof parsed.type === 'string' ? (parsed as RealtimeMessage) : null;
  } catch {
    return null;
  }
}

/** The server's `welcome` as the session; `heartbeatMs` stands in for a missing interval. */
export function readSession(message: RealtimeMessage, heartbeatMs: number): Session {
  return {
    connectionId: text(message.connectionId),
    userId: text(message.userId),
    displayName: text(message.displayName),
    color: text(message.color),
    heartbeatIntervalMs: positive(message.heartbeatIntervalMs, heartbeatMs),
    maxMessageBytes: positive(message.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES),
    room: isValidRoomId(message.room) ? message.room : null,
    protocol: finite(message.protocol, 1),
  };
}

/** A `presence` list: entries without a string `userId` are dropped, one entry per userId. */
export function readPresenceUsers(value: unknown): PresenceUser[] | null {
  return Array.isArray(value) ? [...readUsers(value, new Map()).values()] : null;
}

/** Reads a list's entries into `users`: an entry replaces the one of its userId in place. */
function readUsers(value: unknown, users: Map<string, PresenceUser>): Map<string, PresenceUser> {
  for (const entry of list(value)) {
    if (!isRecord(entry) || typeof entry.userId !== 'string') continue;
    const connectedAt = finite(entry.connectedAt);
    const user: PresenceUser = {
      userId: entry.userId,
      displayName: str(entry.displayName, entry.userId),
      color: str(entry.color),
      connectedAt,
      onlineStatus: STATUSES.has(entry.onlineStatus as string)
        ? (entry.onlineStatus as PresenceUser['onlineStatus'])
        : 'online',
      lastActiveAt: finite(entry.lastActiveAt, connectedAt),
      isIdle: entry.isIdle === true,
      connections: finite(entry.connections, 1),
    };
    if (typeof entry.avatarUrl === 'string') user.avatarUrl = entry.avatarUrl;
    if (typeof entry.location === 'string') user.location = entry.location;
    if (isRecord(entry.metadata)) user.metadata = entry.metadata;
    users.set(user.userId, user);
  }
  return users;
}

/**
 * `members` with a `presence:delta` applied: `left` removed, `joined` added (or replacing the
 * whole entry), then `updated` fields replaced. Entries keep their place; new ones go last. Each
 * entry is read like a `presence` list's: a malformed field gets its neutral default, and a field
 * updated to `null` (removed) is left out, or gets its default. An update for a user not in the
 * list is dropped. Applying one twice is harmless.
 */
export function applyPresenceDelta(
  members: readonly PresenceUser[],
  delta: Record<string, unknown>,
): PresenceUser[] {
  const byId = new Map(members.map((member) => [member.userId, member]));
  for (const userId of list(delta.left)) byId.delete(userId as string);
  readUsers(delta.joined, byId);
  for (const changes of list(delta.updated) as Array<Record<string, unknown> | null>) {
    const before = byId.get(changes?.userId as string);
    // Spread, not assignment: a `__proto__` key stays a plain (ignored) field.
    if (before) readUsers([{ ...before, ...changes }], byId);
  }
  return [...byId.values()];
}

/** A `state:update` (or one `state:init` entry) as a live-state entry, or null if malformed. */
export function readStateEntry(value: unknown): StateEntry | null {
  if (!isRecord(value) || !('value' in value)) return null;
  return { value: value.value, timestamp: finite(value.timestamp), userId: str(value.userId) };
}

/** `state:init`'s `states`: a fresh object without a prototype-reaching key. */
export function readStates(value: unknown): Record<string, StateEntry> | null {
  if (!isRecord(value)) return null;
  const states: Record<string, StateEntry> = {};
  for (const [key, raw] of Object.entries(value)) {
    const entry = readStateEntry(raw);
    if (entry && isSafeKey(key)) states[key] = entry;
  }
  return states;
}

/** A `cursor:update`'s cursor, or null unless it names a user and finite coordinates. */
export function readCursor(value: unknown): CursorPosition | null {
  if (!isRecord(value) || typeof value.userId !== 'string') return null;
  const { x, y } = value;
  if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x + y)) return null;
  return {
    ...value,
    userId: value.userId,
    displayName: str(value.displayName, value.userId),
    color: str(value.color),
    x,
    y,
    lastUpdate: finite(value.lastUpdate, Date.now()),
  };
}

/** A positive finite number, else `fallback` (for the server's parameters in `welcome`). */
export function positive(value: unknown, fallback: number): number {
  return typeof value === 'number' && value > 0 && Number.isFinite(value) ? value : fallback;
}

/** A `room:info`: the room's creation time, metadata and settings. */
export function readRoomInfo(message: Record<string, unknown>): RoomInfo {
  const { maxUsers } = message;
  return {
    createdAt: finite(message.createdAt, Number.NaN),
    metadata: isRecord(message.metadata) ? message.metadata : {},
    maxUsers: typeof maxUsers === 'number' && maxUsers > 0 ? maxUsers : null,
    hasPassword: message.hasPassword === true,
  };
}

/**
 * A string field as text. `String(value)` is not safe on parsed JSON: an object such as
 * `{"toString":1}` makes it throw.
 */
export function text(value: unknown, fallback = ''): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return fallback;
}

/** A finite number field, or `fallback` (`Number(value)` throws on some parsed objects). */
export function finite(value: unknown, fallback = 0): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}
