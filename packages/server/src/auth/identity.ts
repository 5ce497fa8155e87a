import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AuthHandler, AuthResult } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { Identity } from '../rooms/connection.js';
import { colorForUser } from '../rooms/presence-user.js';
import { TIMED_OUT, withDeadline } from './deadline.js';
import type { VerifiedUser } from './jwt.js';

const MAX_ID_LENGTH = 128;
/** The `from` of messages the application publishes (`RoomServer.broadcast`); no user may hold it. */
export const RESERVED_USER_ID = 'server';

export type IdentityResult =
  | { ok: true; identity: Identity }
  | { ok: false; status: 400 | 401; reason: string };

/** `verified`: the identity was proven (auth handler or JWT), not typed into a query string. */
function toIdentity(result: AuthResult, verified: boolean): Identity {
  const identity: Identity = {
    userId: result.userId,
    displayName: result.displayName,
    color: colorForUser(result.userId),
  };
  if (typeof result.avatarUrl === 'string') identity.avatarUrl = result.avatarUrl;
  if (result.metadata && typeof result.metadata === 'object') identity.metadata = result.metadata;
  if (result.readOnly === true) identity.readOnly = true;
  if (verified) identity.verified = true;
  return identity;
}

/** The identity of a user signed in with a verified JWT. */
export function identityFromJwt(user: VerifiedUser): Identity {
  const identity = toIdentity({ userId: user.id, displayName: user.displayName }, true);
  if (user.guest) identity.guest = true;
  return identity;
}

function isValidName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;
}

/** Identity from the `userId`/`displayName` query params (no auth handler configured). */
export function identityFromQuery(query: URLSearchParams): IdentityResult {
  const userId = query.get('userId') ?? `guest-${randomUUID().slice(0, 8)}`;
  const displayName = query.get('displayName') ?? userId;
  if (!isValidName(userId) || !isValidName(displayName)) {
    return {
      ok: false,
      status: 400,
      reason: `userId and displayName must be 1-${MAX_ID_LENGTH} characters`,
    };
  }
  if (userId === RESERVED_USER_ID) {
    return { ok: false, status: 400, reason: `userId "${RESERVED_USER_ID}" is reserved` };
  }
  // Whoever typed it: the query string proves nothing.
  return { ok: true, identity: toIdentity({ userId, displayName }, false) };
}

/**
 * Runs the auth handler with a deadline. `null`, a throw, a timeout or a malformed result all
 * reject with 401; the query string is ignored when a handler is configured.
 */
export async function identityFromAuth(
  auth: AuthHandler,
  req: IncomingMessage,
  timeoutMs: number,
  logger: Logger,
): Promise<IdentityResult> {
  try {
    const result = await withDeadline(Promise.resolve(auth.authenticate(req)), timeoutMs);
    if (result === TIMED_OUT) return { ok: false, status: 401, reason: 'authentication timed out' };
    if (result === null || result === undefined)
      return { ok: false, status: 401, reason: 'authentication failed' };
    if (!isValidName(result.userId) || !isValidName(result.displayName)) {
      return {
        ok: false,
        status: 401,
        reason: 'authentication returned no valid userId/displayName',
      };
    }
    if (result.userId === RESERVED_USER_ID) {
      logger.warn(
        { userId: result.userId },
        'auth.authenticate returned a reserved userId; refusing the upgrade',
      );
      return { ok: false, status: 401, reason: `userId "${RESERVED_USER_ID}" is reserved` };
    }
    return { ok: true, identity: toIdentity(result, true) };
  } catch (error) {
    logger.warn({ err: error }, 'auth.authenticate threw; refusing the upgrade');
    return { ok: false, status: 401, reason: 'authentication failed' };
  }
}
