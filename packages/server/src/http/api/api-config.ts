import type { IncomingMessage } from 'node:http';
import { count } from '../../config-values.js';

/**
 * The HTTP API on the server's port (`/api/...`, docs/http-api.md): external systems push messages
 * and events into live rooms. Secure by default: with no `keys` and no `authorize`, every request
 * but `GET /api/openapi.json` gets 401.
 */
export interface ApiConfig {
  /**
   * API keys, presented as `Authorization: Bearer <key>` or `X-API-Key: <key>` (compared in
   * constant time). Each is 1-4096 visible ASCII characters; use long random ones.
   */
  keys?: string[];
  /**
   * Admits a request that presents no configured key (e.g. one with a token of your own): only
   * `true` admits. A throw, or no answer within `limits.authTimeoutMs`, refuses (403, or 401 if the
   * request presented no credential at all).
   */
  authorize?: (req: IncomingMessage) => boolean | Promise<boolean>;
  /**
   * Requests per window per API key (per client address for requests without a valid key); past it
   * 429. `false` turns it off. Default 100 per 1000 ms.
   */
  rateLimit?: { max?: number; timeWindowMs?: number } | false;
  /** Largest request body; larger gets 413. Default 65536. */
  maxBodyBytes?: number;
}

/** A resolved rate limit: `max` requests per `timeWindowMs`. */
export interface RateLimitSettings {
  max: number;
  timeWindowMs: number;
}

export interface ResolvedApiConfig {
  keys: readonly string[];
  authorize: ApiConfig['authorize'];
  /** Null when the rate limit is off. */
  rateLimit: RateLimitSettings | null;
  maxBodyBytes: number;
}

/** API keys: what a header can carry unchanged (no spaces, nothing a proxy would trim). */
export const API_KEY_PATTERN = /^[\x21-\x7e]{1,4096}$/;

export function resolveApi(api: ApiConfig | false | undefined): ResolvedApiConfig | null {
  if (api === false) return null;
  const options = api ?? {};
  const keys = options.keys ?? [];
  if (!Array.isArray(keys)) throw new TypeError('RoomServer: api.keys must be an array of strings');
  keys.forEach((key, index) => {
    // Never echo the key itself: this message may be logged.
    if (typeof key !== 'string' || !API_KEY_PATTERN.test(key)) {
      throw new TypeError(
        `RoomServer: api.keys[${index}] must be 1-4096 visible ASCII characters (no spaces)`,
      );
    }
  });
  if (options.authorize !== undefined && typeof options.authorize !== 'function') {
    throw new TypeError('RoomServer: api.authorize must be a function');
  }
  const rl = options.rateLimit;
  return {
    keys: [...keys],
    authorize: options.authorize,
    rateLimit:
      rl === false
        ? null
        : {
            max: count('api.rateLimit.max', rl?.max, 100),
            timeWindowMs: count('api.rateLimit.timeWindowMs', rl?.timeWindowMs, 1000),
          },
    maxBodyBytes: count('api.maxBodyBytes', options.maxBodyBytes, 64 * 1024),
  };
}
