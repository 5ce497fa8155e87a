import type { JwtConfig } from './auth/jwt.js';
import { CliError, type OptionSpec } from './cli-option-table.js';
import { createExampleResponder } from './spaces/responder.js';
import type { SpacesConfig } from './spaces/spaces-config.js';

/** The sign-in and Spaces group of options (read by `readSpacesOptions`). */
export const SPACES_OPTIONS: readonly OptionSpec[] = [
  {
    flag: 'jwt-secret',
    env: 'ROOMKIT_JWT_SECRET',
    kind: 'string',
    help: 'HS256 secret (32+ bytes) users\u2019 JWTs are signed with',
    defaultText: 'none',
  },
  {
    flag: 'jwks-url',
    env: 'ROOMKIT_JWKS_URL',
    kind: 'string',
    help: 'JSON Web Key Set URL of your identity provider (RS256, ES256, ...)',
    defaultText: 'none',
  },
  {
    flag: 'jwt-issuer',
    env: 'ROOMKIT_JWT_ISSUER',
    kind: 'string',
    help: 'required `iss` of users\u2019 JWTs',
    defaultText: 'any',
  },
  {
    flag: 'jwt-audience',
    env: 'ROOMKIT_JWT_AUDIENCE',
    kind: 'string',
    help: 'required `aud` of users\u2019 JWTs',
    defaultText: 'any',
  },
  {
    flag: 'guest-auth',
    env: 'ROOMKIT_GUEST_AUTH',
    kind: 'flag',
    help: 'DEV ONLY: POST /api/auth/guest signs anyone in by display name',
    defaultText: 'off',
  },
  {
    flag: 'spaces',
    env: 'ROOMKIT_SPACES',
    kind: 'string',
    help: 'Spaces (rooms with codes, hosts, history): on | off (needs --db)',
    defaultText: 'on',
  },
  {
    flag: 'spaces-responder',
    env: 'ROOMKIT_SPACES_RESPONDER',
    kind: 'string',
    help: 'answer Spaces messages: example (the built-in "@bot" responder) | off',
    defaultText: 'off',
  },
  {
    flag: 'spaces-join-link',
    env: 'ROOMKIT_SPACES_JOIN_LINK',
    kind: 'string',
    help: 'base of room join links ({base}/{roomCode})',
    defaultText: '/spaces',
  },
  {
    flag: 'spaces-max-rooms',
    env: 'ROOMKIT_SPACES_MAX_ROOMS',
    kind: 'number',
    help: 'active Spaces rooms one user may host',
    defaultText: '5',
  },
  {
    flag: 'spaces-inactive-after',
    env: 'ROOMKIT_SPACES_INACTIVE_AFTER_MS',
    kind: 'number',
    help: 'ms without activity after which a Spaces room is deleted',
    defaultText: '86400000',
  },
  {
    flag: 'spaces-cleanup-interval',
    env: 'ROOMKIT_SPACES_CLEANUP_INTERVAL_MS',
    kind: 'number',
    help: 'ms between Spaces cleanup runs',
    defaultText: '3600000',
  },
];

/** Reads an option's raw value (flag, else environment); a `flag` option reads as 'true'. */
type Read = (flag: string) => string | undefined;

const ON = new Set(['1', 'true', 'yes', 'on']);
const OFF = new Set(['0', 'false', 'no', 'off']);

function onOff(flag: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined) return fallback;
  const value = raw.trim().toLowerCase();
  if (ON.has(value)) return true;
  if (OFF.has(value)) return false;
  throw new CliError(`--${flag} must be on or off, got "${raw}"`);
}

function positive(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value <= 0) {
    throw new CliError(`--${flag} must be a positive whole number, got "${raw}"`);
  }
  return value;
}

/** The sign-in and Spaces parts of the server config, from the command line. */
export function readSpacesOptions(
  read: Read,
  hasStore: boolean,
): { jwt?: JwtConfig; spaces?: SpacesConfig | false } {
  const result: { jwt?: JwtConfig; spaces?: SpacesConfig | false } = {};
  const guest = onOff('guest-auth', read('guest-auth'), false);
  const secret = read('jwt-secret');
  const jwksUrl = read('jwks-url');
  if (secret !== undefined || jwksUrl !== undefined || guest) {
    const jwt: JwtConfig = { guest };
    if (secret !== undefined) jwt.secret = secret;
    if (jwksUrl !== undefined) jwt.jwksUrl = jwksUrl;
    const issuer = read('jwt-issuer');
    const audience = read('jwt-audience');
    if (issuer !== undefined) jwt.issuer = issuer;
    if (audience !== undefined) jwt.audience = audience;
    result.jwt = jwt;
  }
  const wanted = onOff('spaces', read('spaces'), true);
  if (!wanted || !hasStore) {
    if (wanted && read('spaces') !== undefined) {
      throw new CliError('--spaces on needs a store: --db <file|postgres-url>');
    }
    return result;
  }
  const responder = read('spaces-responder') ?? 'off';
  if (responder !== 'example' && responder !== 'off') {
    throw new CliError(`--spaces-responder must be example or off, got "${responder}"`);
  }
  const spaces: SpacesConfig = {
    maxActiveRoomsPerUser: positive('spaces-max-rooms', read('spaces-max-rooms')),
    cleanup: {
      intervalMs: positive('spaces-cleanup-interval', read('spaces-cleanup-interval')),
      inactiveAfterMs: positive('spaces-inactive-after', read('spaces-inactive-after')),
    },
  };
  const joinLink = read('spaces-join-link');
  if (joinLink !== undefined) spaces.joinLinkBase = joinLink;
  if (responder === 'example') spaces.responder = createExampleResponder();
  result.spaces = spaces;
  return result;
}
