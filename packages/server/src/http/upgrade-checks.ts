import type { IncomingMessage } from 'node:http';
import { ErrorCode, MAX_ROOM_PASSWORD_LENGTH, UpgradeErrorCode } from '@roomkit/protocol';
import {
  type IdentityResult,
  identityFromAuth,
  identityFromJwt,
  identityFromQuery,
} from '../auth/identity.js';
import { bearerToken, type JwtAuth, JwtError } from '../auth/jwt.js';
import { type FeatureContext, ProtocolError } from '../features/feature.js';
import type { Identity, Wire } from '../rooms/connection.js';
import type { Membership } from '../rooms/membership.js';
import { checkRoomAccess } from '../rooms/room-settings.js';
import type { SpacesFeature } from '../spaces/spaces-feature.js';
import { isOriginAllowed, parseUpgradeTarget } from './upgrade-target.js';

/** Who may connect, and to what: the outcome of an upgrade's checks. */
export interface Admission {
  identity: Identity;
  roomId: string | null;
  wire: Wire;
  readOnly: boolean;
  /** The path room's password (`?password=`). */
  password: string | undefined;
}

export type Refusal = { ok: false; status: number; code: UpgradeErrorCode; reason: string };
export type Verdict = { ok: true; admission: Admission } | Refusal;

const refusal = (status: number, code: UpgradeErrorCode, reason: string): Refusal => ({
  ok: false,
  status,
  code,
  reason,
});

export interface UpgradeCheckDeps {
  ctx: FeatureContext;
  membership: () => Membership;
  jwt: JwtAuth | null;
  /** Tells Spaces rooms (joined with `room:join` only) from others; null when Spaces is off. */
  spaces: Pick<SpacesFeature, 'isSpacesRoom'> | null;
}

/**
 * The checks an upgrade passes before it becomes a connection, in order: path, origin,
 * identity (the `auth` handler, else a JWT, else the query string), the path room's password
 * shape, Spaces rooms, `authorizeRoom`; then, synchronously at the moment of the handshake,
 * the room's capacity and password (`seat`).
 */
export class UpgradeChecks {
  constructor(private readonly deps: UpgradeCheckDeps) {}

  async check(req: IncomingMessage): Promise<Verdict> {
    const { config, logger } = this.deps.ctx;
    const target = parseUpgradeTarget(req.url, config.path, config.yjsPath);
    if (!target.ok) return refusal(target.status, target.code, target.reason);
    if (!isOriginAllowed(req.headers.origin, config.allowedOrigins)) {
      return refusal(
        403,
        UpgradeErrorCode.OriginNotAllowed,
        `origin ${req.headers.origin} is not allowed`,
      );
    }
    // Without auth or jwt, no await: the common upgrade stays on one tick.
    const identity = config.auth
      ? await identityFromAuth(config.auth, req, config.limits.authTimeoutMs, logger)
      : this.deps.jwt
        ? await this.identityFromToken(this.deps.jwt, req, target.query)
        : identityFromQuery(target.query);
    if (!identity.ok) {
      const code =
        identity.status === 401 ? UpgradeErrorCode.Unauthorized : UpgradeErrorCode.BadRequest;
      return refusal(identity.status, code, identity.reason);
    }
    const { roomId, wire } = target;
    // The path room's password: read even with `auth` (it is the room's secret, not an identity),
    // and checked once the room's other checks passed, like a room:join's.
    const password = roomId === null ? undefined : (target.query.get('password') ?? undefined);
    if (password !== undefined && (password === '' || password.length > MAX_ROOM_PASSWORD_LENGTH)) {
      return refusal(
        400,
        UpgradeErrorCode.BadRequest,
        `password must be 1-${MAX_ROOM_PASSWORD_LENGTH} characters`,
      );
    }
    const { spaces } = this.deps;
    if (roomId !== null && spaces && (await spaces.isSpacesRoom(roomId))) {
      return refusal(
        400,
        UpgradeErrorCode.BadRequest,
        `"${roomId}" is a Spaces room: connect to ${config.path} and send room:join`,
      );
    }
    let readOnly = false;
    if (roomId !== null && config.auth?.authorizeRoom) {
      const access = await this.deps.membership().authorizeIdentity(identity.identity, roomId);
      if (access === false) {
        return refusal(403, UpgradeErrorCode.Forbidden, `not allowed to join room "${roomId}"`);
      }
      readOnly = access === 'read-only';
    }
    return {
      ok: true,
      admission: { identity: identity.identity, roomId, wire, readOnly, password },
    };
  }

  /** The path room's capacity, room count and password, checked when the seat is reserved. */
  seat(roomId: string, userId: string, password: string | undefined): Refusal | null {
    const { ctx } = this.deps;
    if (ctx.rooms.occupancy(roomId) >= ctx.config.maxConnectionsPerRoom) {
      return refusal(503, UpgradeErrorCode.RoomFull, `room "${roomId}" is full`);
    }
    if (!ctx.rooms.get(roomId) && ctx.rooms.roomCount >= ctx.config.limits.maxRooms) {
      return refusal(503, UpgradeErrorCode.RoomLimit, 'the server has no room for another room');
    }
    try {
      checkRoomAccess(ctx, roomId, userId, { password });
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      return error.code === ErrorCode.WrongPassword
        ? refusal(403, UpgradeErrorCode.WrongPassword, error.message)
        : refusal(503, UpgradeErrorCode.RoomFull, error.message);
    }
    return null;
  }

  /**
   * With `jwt` and no `auth` handler: the token (`Authorization: Bearer` or `?token=`), else the
   * query string's `userId`/`displayName` (not signed in) unless a token is required.
   */
  private async identityFromToken(
    jwt: JwtAuth,
    req: IncomingMessage,
    query: URLSearchParams,
  ): Promise<IdentityResult> {
    const token = bearerToken(req.headers) ?? query.get('token');
    if (token === null) {
      if (jwt.requireOnUpgrade) {
        return { ok: false, status: 401, reason: 'a token is required (?token= or Authorization)' };
      }
      return identityFromQuery(query);
    }
    try {
      return { ok: true, identity: identityFromJwt(await jwt.verify(token)) };
    } catch (error) {
      if (!(error instanceof JwtError)) throw error;
      return { ok: false, status: 401, reason: error.message };
    }
  }
}
