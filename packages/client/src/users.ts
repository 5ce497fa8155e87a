import type { PresenceUser } from '@roomkit/protocol';
import type { User } from './types.js';

/** A server member as a `User`: the server's id; declared display fields over the server's. */
export function toUser(member: PresenceUser): User {
  const declared = member.metadata?.user;
  const fields = typeof declared === 'object' && declared !== null ? declared : {};
  return {
    name: member.displayName,
    color: member.color,
    ...(member.avatarUrl !== undefined ? { avatar: member.avatarUrl } : {}),
    ...fields,
    id: member.userId,
  };
}
