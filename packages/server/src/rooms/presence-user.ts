import type { OnlineStatus, PresenceUser } from '@roomkit/protocol';

/** Eight colors readable on light and dark backgrounds. */
export const USER_COLORS: readonly string[] = [
  '#E57373',
  '#F06292',
  '#BA68C8',
  '#7986CB',
  '#4FC3F7',
  '#4DB6AC',
  '#AED581',
  '#FFB74D',
];

/** FNV-1a over the id's UTF-16 units: stable across processes and restarts, unlike a random pick. */
export function colorForUser(userId: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    hash ^= userId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return USER_COLORS[(hash >>> 0) % USER_COLORS.length]!;
}

const STATUS_RANK: Record<OnlineStatus, number> = { offline: 0, away: 1, online: 2 };

/**
 * Folds the per-connection records of one room into one entry per user: the most recently active
 * connection supplies the fields (optional ones fall back to another tab's), the best status wins,
 * the user is idle only if every tab is.
 */
export function aggregatePresence(records: Iterable<PresenceUser>): PresenceUser[] {
  const byUser = new Map<string, PresenceUser>();
  for (const record of records) {
    const seen = byUser.get(record.userId);
    if (!seen) {
      byUser.set(record.userId, { ...record, connections: 1 });
      continue;
    }
    const newer = record.lastActiveAt > seen.lastActiveAt;
    const base = newer ? { ...record } : seen;
    const other = newer ? seen : record;
    // A field one tab set and the more recent one did not is still the user's.
    if (base.location === undefined && other.location !== undefined) base.location = other.location;
    if (base.metadata === undefined && other.metadata !== undefined) base.metadata = other.metadata;
    if (base.avatarUrl === undefined && other.avatarUrl !== undefined)
      base.avatarUrl = other.avatarUrl;
    base.connections = seen.connections + 1;
    base.connectedAt = Math.min(seen.connectedAt, record.connectedAt);
    base.isIdle = seen.isIdle && record.isIdle;
    base.lastActiveAt = Math.max(seen.lastActiveAt, record.lastActiveAt);
    base.onlineStatus =
      STATUS_RANK[record.onlineStatus] > STATUS_RANK[seen.onlineStatus]
        ? record.onlineStatus
        : seen.onlineStatus;
    byUser.set(record.userId, base);
  }
  return [...byUser.values()];
}
