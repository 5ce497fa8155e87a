import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { MAX_SPACES_DISPLAY_NAME_LENGTH } from '@roomkit/protocol';
import {
  type CryptoKey,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  jwtVerify,
  type RemoteJWKSet,
  SignJWT,
} from 'jose';
import { RESERVED_USER_ID } from './identity.js';

/** Where the user's JWTs come from and what they must look like. */
export interface JwtConfig {
  /** Shared secret for HS256 (at least 32 bytes). Needed to issue guest tokens. */
  secret?: string;
  /** URL of a JSON Web Key Set (asymmetric keys: RS256, ES256, EdDSA, ...). */
  jwksUrl?: string;
  issuer?: string | string[];
  audience?: string | string[];
  /** Accepted algorithms. Default: ['HS256'] with a secret, plus ['RS256','PS256','ES256','ES384','EdDSA'] with a JWKS. Never 'none'. */
  algorithms?: string[];
  /** Seconds of clock skew tolerated on exp/nbf. Default 5. */
  clockToleranceSec?: number;
  /** Claim read as the display name (default: `name`, then `preferred_username`, then `sub`). */
  displayNameClaim?: string;
  /** WebSocket upgrades without a token get 401 (default false: anonymous connections may still use non-Spaces rooms). */
  requireOnUpgrade?: boolean;
  /** Dev-mode guest sign-in (`POST /api/auth/guest`). Off by default. Without `secret`, a random one is made at start (guest tokens then die with the process). */
  guest?: boolean | { expiresInSec?: number /* default 86400 */ };
}

/** The user a verified token speaks for. `guest` is true only for tokens this server issued itself. */
export interface VerifiedUser {
  id: string;
  displayName: string;
  guest: boolean;
}

/** Why a token was refused. The message is safe to show to the client; details stay in `cause`. */
export class JwtError extends Error {
  readonly code = 'unauthorized' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JwtError';
  }
}

/** Refused unparsed: no honest token is this long, and parsing huge input costs CPU. */
const MAX_TOKEN_LENGTH = 8192;
const MAX_SUBJECT_LENGTH = 128;
const GUEST_ISSUER = 'roomkit-guest';
const DEFAULT_GUEST_TTL_SEC = 86_400;
const ASYMMETRIC_DEFAULTS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'];

function check(ok: boolean, option: string, rule: string): asserts ok {
  if (!ok) throw new TypeError(`jwt.${option} ${rule}`);
}

function stringList(option: string, value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  const ok =
    Array.isArray(list) && list.length > 0 && list.every((v) => typeof v === 'string' && v);
  check(ok, option, 'must be a non-empty string or a non-empty array of non-empty strings');
  return list as string[];
}

/** Cuts to `max` UTF-16 units without splitting a surrogate pair. */
function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const last = cut.charCodeAt(max - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}

/** Turns anything jose (or we) threw into a JwtError whose message reveals nothing internal. */
function toJwtError(error: unknown): JwtError {
  if (error instanceof JwtError) return error;
  const cause = { cause: error };
  if (error instanceof errors.JWTExpired) return new JwtError('token expired', cause);
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' && error.reason === 'check_failed') {
      return new JwtError('token not yet valid', cause);
    }
    if (error.claim === 'iss') return new JwtError('token issuer not accepted', cause);
    if (error.claim === 'aud') return new JwtError('token audience not accepted', cause);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return new JwtError('token algorithm not accepted', cause);
  }
  return new JwtError('invalid token', cause);
}

/**
 * Verifies users' JWTs (HS* with a shared secret, asymmetric algorithms against a JWKS) and, in
 * dev mode, issues guest tokens. The key is picked by the token's `alg`, so an HS token is never
 * checked against a public key and an RS/ES token never against the secret (alg confusion).
 */
export class JwtAuth {
  readonly requireOnUpgrade: boolean;
  readonly guestEnabled: boolean;
  private readonly secret: Uint8Array | null;
  private readonly jwks: RemoteJWKSet | null;
  private readonly algorithms: ReadonlySet<string>;
  private readonly issuer: string[] | undefined;
  private readonly audience: string[] | undefined;
  private readonly clockToleranceSec: number;
  private readonly displayNameClaims: string[];
  private readonly guestTtlSec: number;

  /** Throws TypeError naming the option for a config that could never verify anything safely. */
  constructor(config: JwtConfig) {
    check(typeof config === 'object' && config !== null, 'config', 'must be an object');
    const { secret, jwksUrl, guest, clockToleranceSec = 5, displayNameClaim } = config;
    const { requireOnUpgrade = false } = config;
    check(
      secret !== undefined || jwksUrl !== undefined || Boolean(guest),
      'secret',
      'or jwksUrl or guest is needed',
    );
    const longEnough = typeof secret === 'string' && Buffer.byteLength(secret) >= 32;
    check(secret === undefined || longEnough, 'secret', 'must be a string of at least 32 bytes');
    const url = typeof jwksUrl === 'string' && URL.canParse(jwksUrl) ? new URL(jwksUrl) : null;
    const web = url?.protocol === 'http:' || url?.protocol === 'https:';
    check(jwksUrl === undefined || web, 'jwksUrl', 'must be an http(s) URL');
    const guestShape = typeof guest === 'boolean' || (typeof guest === 'object' && guest !== null);
    check(guest === undefined || guestShape, 'guest', 'must be a boolean or { expiresInSec }');
    const ttl =
      (typeof guest === 'object' ? guest.expiresInSec : undefined) ?? DEFAULT_GUEST_TTL_SEC;
    check(Number.isSafeInteger(ttl) && ttl > 0, 'guest.expiresInSec', 'must be a positive integer');
    const tolerance = Number.isFinite(clockToleranceSec) && clockToleranceSec >= 0;
    check(tolerance, 'clockToleranceSec', 'must be a number >= 0');
    const claimOk =
      displayNameClaim === undefined ||
      (typeof displayNameClaim === 'string' && displayNameClaim !== '');
    check(claimOk, 'displayNameClaim', 'must be a non-empty string');
    check(typeof requireOnUpgrade === 'boolean', 'requireOnUpgrade', 'must be a boolean');
    this.guestEnabled = Boolean(guest);
    this.guestTtlSec = ttl;
    // Without a secret, guest tokens are signed with a per-process one: they die with the process.
    this.secret =
      secret !== undefined ? new TextEncoder().encode(secret) : guest ? randomBytes(32) : null;
    this.jwks = url && web ? createRemoteJWKSet(url) : null;
    const defaults = [...(this.secret ? ['HS256'] : []), ...(this.jwks ? ASYMMETRIC_DEFAULTS : [])];
    const algorithms = stringList('algorithms', config.algorithms) ?? defaults;
    const none = algorithms.some((alg) => alg.toLowerCase() === 'none');
    check(!none, 'algorithms', "must never include 'none'");
    const guestAlg = !this.guestEnabled || algorithms.includes('HS256');
    check(guestAlg, 'algorithms', 'must include HS256 when guest sign-in is on');
    this.algorithms = new Set(algorithms);
    this.issuer = stringList('issuer', config.issuer);
    this.audience = stringList('audience', config.audience);
    this.clockToleranceSec = clockToleranceSec;
    this.displayNameClaims = [displayNameClaim ?? 'name', 'name', 'preferred_username'];
    this.requireOnUpgrade = requireOnUpgrade;
  }

  /** The user a token speaks for. Rejects with JwtError only, whatever is wrong. */
  async verify(token: string): Promise<VerifiedUser> {
    try {
      if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) {
        throw new JwtError('invalid token');
      }
      const header = decodeProtectedHeader(token);
      const alg = header.alg;
      if (typeof alg !== 'string' || !this.algorithms.has(alg)) {
        throw new JwtError('token algorithm not accepted');
      }
      const symmetric = alg.startsWith('HS');
      if (symmetric && !this.secret) throw new JwtError('token algorithm not accepted');
      const keys: Array<Uint8Array | CryptoKey> =
        symmetric && this.secret ? [this.secret] : await this.jwksKeys(header);
      // Guest tokens carry this server's own issuer; only the secret can have signed them.
      const guestIssuer = symmetric && this.guestEnabled && this.issuer;
      const options = {
        algorithms: [alg],
        issuer: guestIssuer ? [...guestIssuer, GUEST_ISSUER] : this.issuer,
        audience: this.audience,
        clockTolerance: this.clockToleranceSec,
      };
      let payload: JWTPayload | undefined;
      for (const [index, key] of keys.entries()) {
        try {
          payload = (await jwtVerify(token, key, options)).payload;
          break;
        } catch (error) {
          // Several JWKS keys may match a token without `kid`: only the last failure counts.
          const tryNext = error instanceof errors.JWSSignatureVerificationFailed;
          if (!tryNext || index === keys.length - 1) throw error;
        }
      }
      if (!payload) throw new JwtError('invalid token');
      return this.toUser(payload, symmetric);
    } catch (error) {
      throw toJwtError(error);
    }
  }

  /** Signs a guest token (dev mode). Throws TypeError when guest sign-in is off. */
  async issueGuest(displayName: string): Promise<{ token: string; user: VerifiedUser }> {
    if (!this.guestEnabled || !this.secret) throw new TypeError('guest sign-in is not enabled');
    const name = typeof displayName === 'string' ? displayName.trim() : '';
    if (name.length < 1 || name.length > MAX_SPACES_DISPLAY_NAME_LENGTH) {
      throw new RangeError('displayName must be 1-64 characters');
    }
    const user: VerifiedUser = { id: `guest-${randomUUID()}`, displayName: name, guest: true };
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({ name, guest: true })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user.id)
      .setIssuer(GUEST_ISSUER)
      .setIssuedAt(now)
      .setExpirationTime(now + this.guestTtlSec);
    // Guest tokens must pass this server's own audience check.
    if (this.audience) jwt.setAudience(this.audience);
    return { token: await jwt.sign(this.secret), user };
  }

  /** Candidate public keys for the token's header; JWKS outages become 'could not verify the token'. */
  private async jwksKeys(header: Parameters<RemoteJWKSet>[0]): Promise<CryptoKey[]> {
    if (!this.jwks) throw new JwtError('token algorithm not accepted');
    try {
      return [await this.jwks(header)];
    } catch (error) {
      if (error instanceof errors.JWKSMultipleMatchingKeys) {
        const keys: CryptoKey[] = [];
        for await (const key of error) keys.push(key);
        return keys;
      }
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JOSENotSupported) {
        throw new JwtError('invalid token', { cause: error });
      }
      throw new JwtError('could not verify the token', { cause: error });
    }
  }

  private toUser(payload: JWTPayload, symmetric: boolean): VerifiedUser {
    const sub = payload.sub;
    if (typeof sub !== 'string' || !sub.trim()) throw new JwtError('token has no subject');
    if (sub.length > MAX_SUBJECT_LENGTH || sub === RESERVED_USER_ID) {
      throw new JwtError('invalid token');
    }
    let displayName = '';
    for (const claim of this.displayNameClaims) {
      const value = payload[claim];
      if (typeof value === 'string' && value.trim()) {
        displayName = value.trim();
        break;
      }
    }
    displayName = truncate(displayName || sub.trim(), MAX_SPACES_DISPLAY_NAME_LENGTH).trim();
    const guest = symmetric && payload.guest === true && payload.iss === GUEST_ISSUER;
    // A guest token outliving a switch-off of guest sign-in (same secret) is not let in.
    if (guest && !this.guestEnabled) throw new JwtError('token issuer not accepted');
    return { id: sub, displayName, guest };
  }
}

/** `Authorization: Bearer <token>` from headers, else null (other schemes, several tokens, none). */
export function bearerToken(headers: IncomingHttpHeaders): string | null {
  const value = headers.authorization;
  if (typeof value !== 'string') return null;
  const match = /^[ \t]*bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i.exec(value);
  return match?.[1] ?? null;
}
