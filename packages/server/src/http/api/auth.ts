import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { TIMED_OUT, withDeadline } from '../../auth/deadline.js';
import type { Logger } from '../../observability/logger.js';
import type { ResolvedApiConfig } from './api-config.js';
import { ApiError, ApiErrorCode, CHALLENGE } from './errors.js';

/** The answer to every `/api` request of a server started without any key or `authorize`. */
export const NO_KEY_MESSAGE = 'the HTTP API needs an API key: start the server with --api-key';
export const MISSING_KEY_MESSAGE =
  'missing API key: send "Authorization: Bearer <key>" or "X-API-Key: <key>"';
export const WRONG_KEY_MESSAGE = 'invalid API key';
export const REFUSED_MESSAGE = 'not allowed to use the HTTP API';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The credentials a request presents: the `Authorization: Bearer` token and `X-API-Key`. */
export function presentedCredentials(headers: IncomingHttpHeaders): string[] {
  const found: string[] = [];
  const bearer = BEARER.exec(headers.authorization ?? '')?.[1];
  if (bearer) found.push(bearer);
  const key = headers['x-api-key'];
  for (const value of Array.isArray(key) ? key : [key]) {
    const trimmed = value?.trim();
    if (trimmed) found.push(trimmed);
  }
  return found;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Matches presented credentials against the configured keys in constant time: each candidate is
 * hashed (so lengths do not matter) and compared with every key's hash, without stopping early.
 */
export class KeyMatcher {
  private readonly digests: readonly Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  get size(): number {
    return this.digests.length;
  }

  /** The index of the key `candidate` equals, or -1. */
  match(candidate: string): number {
    const presented = digest(candidate);
    let found = -1;
    this.digests.forEach((key, index) => {
      if (timingSafeEqual(presented, key) && found === -1) found = index;
    });
    return found;
  }
}

/** What the API knows of a request's credentials, worked out once per request. */
interface Credentials {
  /** Whether the request presented any credential at all. */
  presented: boolean;
  /** The index of the configured key it presented, or -1. */
  keyIndex: number;
}

const CREDENTIALS = Symbol('roomkit.api.credentials');
type WithCredentials = FastifyRequest & { [CREDENTIALS]?: Credentials };

/** API-key and `authorize` checks for the protected routes, and the rate limiter's key. */
export class ApiAuth {
  private readonly matcher: KeyMatcher;

  constructor(
    private readonly config: ResolvedApiConfig,
    private readonly logger: Logger,
    private readonly authTimeoutMs: number,
  ) {
    this.matcher = new KeyMatcher(config.keys);
  }

  credentials(request: FastifyRequest): Credentials {
    const holder = request as WithCredentials;
    if (holder[CREDENTIALS]) return holder[CREDENTIALS];
    const presented = presentedCredentials(request.headers);
    let keyIndex = -1;
    for (const candidate of presented) {
      const index = this.matcher.match(candidate);
      if (keyIndex === -1) keyIndex = index;
    }
    const credentials = { presented: presented.length > 0, keyIndex };
    holder[CREDENTIALS] = credentials;
    return credentials;
  }

  /** The rate-limit bucket: the API key presented, else the client's address. */
  rateLimitKey(request: FastifyRequest): string {
    const { keyIndex } = this.credentials(request);
    return keyIndex >= 0 ? `key:${keyIndex}` : `ip:${request.ip}`;
  }

  /** Resolves when the request may use the API; throws a 401 or 403 `ApiError` otherwise. */
  async check(request: FastifyRequest): Promise<void> {
    const { authorize } = this.config;
    if (this.matcher.size === 0 && !authorize) {
      throw new ApiError(401, ApiErrorCode.Unauthorized, NO_KEY_MESSAGE, CHALLENGE);
    }
    const { presented, keyIndex } = this.credentials(request);
    if (keyIndex >= 0) return;
    if (authorize && (await this.authorized(request))) return;
    if (!presented) {
      throw new ApiError(401, ApiErrorCode.Unauthorized, MISSING_KEY_MESSAGE, CHALLENGE);
    }
    throw new ApiError(
      403,
      ApiErrorCode.Forbidden,
      authorize ? REFUSED_MESSAGE : WRONG_KEY_MESSAGE,
    );
  }

  /** Runs `authorize`: only `true` admits; a throw or a timeout refuses (logged). */
  private async authorized(request: FastifyRequest): Promise<boolean> {
    try {
      const answer = await withDeadline(
        Promise.resolve(this.config.authorize!(request.raw)),
        this.authTimeoutMs,
      );
      if (answer === TIMED_OUT) {
        throw new Error(`authorize did not answer within ${this.authTimeoutMs} ms`);
      }
      return answer === true;
    } catch (error) {
      this.logger.warn({ err: error }, 'api.authorize failed; request refused');
      return false;
    }
  }
}
