import type { IncomingMessage } from 'node:http';
import {
  CAPABILITIES,
  type Capability,
  ErrorCode,
  MAX_ROOM_PASSWORD_LENGTH,
  UpgradeErrorCode,
} from '@roomkit/protocol';
import { TIMED_OUT, withDeadline } from '../auth/deadline.js';
import {
  type IdentityResult,
  identityFromAuth,
  identityFromJwt,
  identityFromQuery,
} from '../auth/identity.js';
import { bearerToken, type JwtAuth, JwtError } from '../auth/jwt.js';
import type { RoomDescription } from '../bus/messages.js';
import type { MaybePromise } from '../bus/room-directory.js';
import { type Feature, type FeatureContext, ProtocolError } from '../features/feature.js';
import type { Identity, Wire } from '../rooms/connection.js';
import type { JoinPath } from '../rooms/join-path.js';
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
  /** What the client asked to turn on (`?capabilities=a,b`); names the server lacks are ignored. */
  capabilities: Capability[];
}

/** `?capabilities=presence-delta,...`: the known ones, each once; unknown names are ignored. */
export function parseCapabilities(value: string | null): Capability[] {
  if (value === null) return [];
  const asked = new Set(value.split(',').map((name) => name.trim()));
  return CAPABILITIES.filter((name) => asked.has(name));
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
  membership: () => JoinPath;
  jwt: JwtAuth | null;
  /** The features with an `onAuthenticate` check (extensions), in order. */
  authenticators: readonly Required<Pick<Feature, 'onAuthenticate' | 'name'>>[];
  /** Tells Spaces rooms (joined with `room:join` only) from others; null when Spaces is off. */
  spaces: Pick<SpacesFeature, 'isSpacesRoom'> | null;
}

/**
 * The checks an upgrade passes before it becomes a connection, in order: path, origin,
 * identity (the `auth` handler, else a JWT, else the query string), the path room's password
 * shape, Spaces rooms, `authorizeRoom`; then admission to the path room (`seat`), which holds
 * the seat across the handshake.
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
    if (this.deps.authenticators.length > 0) {
      const refused = await this.authenticate(req, identity.identity, roomId);
      if (refused) return refused;
    }
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
    const capabilities = parseCapabilities(target.query.get('capabilities'));
    return {
      ok: true,
      admission: { identity: identity.identity, roomId, wire, readOnly, password, capabilities },
    };
  }

  /**
   * Admission to the path room (the same check as `room:join`'s): takes the seat for the
   * connection to be, or answers the refusal. The seat is the connection's once it is accepted.
   */
  seat(
    connectionId: string,
    admission: Admission,
  ): MaybePromise<{ ok: true; seat: RoomDescription } | Refusal> {
    const { roomId, identity, password } = admission;
    if (roomId === null) throw new Error('seat: no path room');
    let claimed: MaybePromise<RoomDescription>;
    try {
      claimed = this.deps.membership().claimSeat(connectionId, identity, 0, roomId, { password });
    } catch (error) {
      return refusalFor(error);
    }
    const seated = (seat: RoomDescription) => ({ ok: true as const, seat });
    return claimed instanceof Promise ? claimed.then(seated, refusalFor) : seated(claimed);
  }

  /** The features' `onAuthenticate` checks, in order, each within `limits.authTimeoutMs`. */
  private async authenticate(
    request: IncomingMessage,
    identity: Identity,
    roomId: string | null,
  ): Promise<Refusal | null> {
    const { config, logger } = this.deps.ctx;
    for (const feature of this.deps.authenticators) {
      let outcome: unknown;
      try {
        outcome = await withDeadline(
          Promise.resolve(feature.onAuthenticate({ request, identity, roomId })),
          config.limits.authTimeoutMs,
        );
      } catch (error) {
        const reason = error instanceof Error && error.message ? error.message : 'refused';
        return refusal(403, UpgradeErrorCode.Forbidden, reason);
      }
      if (outcome === TIMED_OUT) {
        logger.warn({ feature: feature.name }, 'onAuthenticate timed out');
        return refusal(
          403,
          UpgradeErrorCode.Forbidden,
          'the connection could not be authorized in time',
        );
      }
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

/** The upgrade's answer to a refused admission (a `ProtocolError`); anything else is rethrown. */
function refusalFor(error: unknown): Refusal {
  if (!(error instanceof ProtocolError)) throw error;
  switch (error.code) {
    case ErrorCode.WrongPassword:
      return refusal(403, UpgradeErrorCode.WrongPassword, error.message);
    case ErrorCode.RoomLimit:
      return refusal(503, UpgradeErrorCode.RoomLimit, 'the server has no room for another room');
    default:
      return refusal(503, UpgradeErrorCode.RoomFull, error.message);
  }
}
