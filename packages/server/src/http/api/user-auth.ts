import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bearerToken, type JwtAuth, JwtError, type VerifiedUser } from '../../auth/jwt.js';
import type { Logger } from '../../observability/logger.js';
import type { SpacesHub } from '../../spaces/spaces-hub.js';
import type { RateLimitSettings } from './api-config.js';
import { ApiError, ApiErrorCode, CHALLENGE } from './errors.js';

export const SPACES_OFF_MESSAGE = 'Spaces is not enabled on this server';
export const NO_JWT_MESSAGE = 'Spaces needs JWT auth: configure jwt';
export const MISSING_TOKEN_MESSAGE = 'missing token: send "Authorization: Bearer <token>"';
/** What a client is told when verifying failed for a reason that is not the token's fault. */
const UNVERIFIABLE_MESSAGE = 'could not verify the token';

const BAD_TOKEN_CHALLENGE = {
  'www-authenticate': 'Bearer realm="roomkit", error="invalid_token"',
};

const USER = Symbol('roomkit.api.user');
type WithUser = FastifyRequest & { [USER]?: VerifiedUser };

/**
 * The signed-in user of a Spaces request (set by `UserAuth.hook`). Throws if the hook did not
 * run: a route outside the authenticated scope asking for a user is a bug, not a 401.
 */
export function userOf(request: FastifyRequest): VerifiedUser {
  const user = (request as WithUser)[USER];
  if (!user) throw new Error('userOf: the request was not authenticated');
  return user;
}

/**
 * JWT bearer auth for the Spaces routes: Spaces must be on, the server must have `jwt`, and the
 * request must carry a token `jwt.verify` accepts. The user goes on the request for the routes
 * and the per-user rate limit.
 */
export class UserAuth {
  constructor(
    private readonly spaces: SpacesHub | null,
    private readonly jwt: JwtAuth | null,
    private readonly logger: Logger,
  ) {}

  /** The hub, or the 404 of a server without Spaces. */
  hub(): SpacesHub {
    const hub = this.spaces;
    if (!hub) throw new ApiError(404, ApiErrorCode.NotFound, SPACES_OFF_MESSAGE);
    return hub;
  }

  /** The `onRequest` hook of the Spaces scope (arrow: Fastify calls it unbound). */
  readonly hook = async (request: FastifyRequest): Promise<void> => {
    // A server without Spaces has no Spaces routes to authenticate for.
    this.hub();
    const { jwt } = this;
    if (!jwt) throw new ApiError(401, ApiErrorCode.Unauthorized, NO_JWT_MESSAGE, CHALLENGE);
    const token = bearerToken(request.headers);
    if (token === null) {
      throw new ApiError(401, ApiErrorCode.Unauthorized, MISSING_TOKEN_MESSAGE, CHALLENGE);
    }
    let user: VerifiedUser;
    try {
      user = await jwt.verify(token);
    } catch (error) {
      if (error instanceof JwtError) {
        throw new ApiError(401, ApiErrorCode.Unauthorized, error.message, BAD_TOKEN_CHALLENGE);
      }
      // The contract says verify rejects with JwtError only; anything else is logged, and the
      // client still gets a 401 (not a 500 it could trigger at will).
      this.logger.error({ err: error }, 'JWT verification failed unexpectedly');
      throw new ApiError(401, ApiErrorCode.Unauthorized, UNVERIFIABLE_MESSAGE, BAD_TOKEN_CHALLENGE);
    }
    (request as WithUser)[USER] = user;
  };
}

/** The error of a request over a rate limit, with the limit (and what it counts) in the message. */
function limitError(limit: RateLimitSettings, per: string, after: string): ApiError {
  return new ApiError(
    429,
    ApiErrorCode.RateLimited,
    `rate limit exceeded (${limit.max} requests per ${limit.timeWindowMs} ms${per ? ` per ${per}` : ''}): retry in ${after}`,
  );
}

/**
 * Adds a rate limit to `scope` as an `onRequest` hook, keyed by `key`. Add it after the auth
 * hook when the key is the user, so refused requests are not counted. (The plugin runs one
 * limiter per request: a scope must not sit inside another limited scope.)
 */
export function limitScope(
  scope: FastifyInstance,
  limit: RateLimitSettings,
  per: string,
  key: (request: FastifyRequest) => string,
): void {
  scope.addHook(
    'onRequest',
    scope.rateLimit({
      max: limit.max,
      timeWindow: limit.timeWindowMs,
      keyGenerator: key,
      // Buckets for this many users or addresses are kept (least recently seen go first).
      cache: 10_000,
      errorResponseBuilder: (_request, context) => limitError(limit, per, context.after),
    }),
  );
}
