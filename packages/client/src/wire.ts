/**
 * Reads what the server sends into well-formed values. A buggy or hostile server (or a proxy in
 * between) must not be able to put a non-array into `users()`, a `null` entry into the live
 * state, or make a signal's computation throw: malformed entries are dropped, malformed fields
 * get neutral defaults.
 */
import type { CursorPosition, PresenceUser, StateEntry } from '@roomkit/protocol';
import type { RoomInfo } from './room-client.js';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Keys that would reach an object's prototype when used as a computed property. */
export function isSafeKey(key: string): boolean {
  return key !== '__proto__' && key !== 'constructor' && key !== 'prototype';
}

const str = (value: unknown, fallback = ''): string =>
  typeof value === 'string' ? value : fallback;
const num = (value: unknown, fallback = 0): number =>
  typeof value === 'number' && Number.isFinite(value) ? value : fallback;
const STATUSES = new Set(['online', 'away', 'offline']);

/** A `presence` list: entries without a string `userId` are dropped, one entry per userId. */
export function readPresenceUsers(value: unknown): PresenceUser[] | null {
  if (!Array.isArray(value)) return null;
  const users = new Map<string, PresenceUser>();
  for (const entry of value) {
    if (!isRecord(entry) || typeof entry.userId !== 'string') continue;
    const connectedAt = num(entry.connectedAt);
    const user: PresenceUser = {
      userId: entry.userId,
      displayName: str(entry.displayName, entry.userId),
      color: str(entry.color),
      connectedAt,
      onlineStatus: STATUSES.has(entry.onlineStatus as string)
        ? (entry.onlineStatus as PresenceUser['onlineStatus'])
        : 'online',
      lastActiveAt: num(entry.lastActiveAt, connectedAt),
      isIdle: entry.isIdle === true,
      connections: num(entry.connections, 1),
    };
    if (typeof entry.avatarUrl === 'string') user.avatarUrl = entry.avatarUrl;
    if (typeof entry.location === 'string') user.location = entry.location;
    if (isRecord(entry.metadata)) user.metadata = entry.metadata;
    users.set(user.userId, user);
  }
  return [...users.values()];
}

/** A `state:update` (or one `state:init` entry) as a live-state entry, or null if malformed. */
export function readStateEntry(value: unknown): StateEntry | null {
  if (!isRecord(value) || !('value' in value)) return null;
  return { value: value.value, timestamp: num(value.timestamp), userId: str(value.userId) };
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
    lastUpdate: num(value.lastUpdate, Date.now()),
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
    createdAt: num(message.createdAt, Number.NaN),
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
export function finite(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}
