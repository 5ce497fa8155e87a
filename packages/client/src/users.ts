import type { PresenceUser } from '@roomkit/protocol';
import type { User } from './types.js';
import { isRecord } from './wire.js';

/**
 * A server member as a `User`: the server's id; the fields the user's client declared over the
 * server's. Declared `name`, `avatar` and `color` are another client's input, so only strings
 * are taken for them (the `User` type promises strings).
 */
export function toUser(member: PresenceUser): User {
  const declared = member.metadata?.user;
  const fields = isRecord(declared) ? { ...declared } : {};
  for (const key of ['name', 'avatar', 'color'] as const) {
    if (key in fields && typeof fields[key] !== 'string') delete fields[key];
  }
  return {
    name: member.displayName,
    color: member.color,
    ...(member.avatarUrl !== undefined ? { avatar: member.avatarUrl } : {}),
    ...fields,
    id: member.userId,
  };
}
