import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import {
  base64url,
  type CryptoKey,
  decodeJwt,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bearerToken, JwtAuth, type JwtConfig, JwtError } from '../src/auth/jwt.js';

const SECRET = 'jwt-test-secret-0123456789abcdef-xyz';
const SECRET_KEY = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);

interface KeyPair {
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}
let rsa: KeyPair;
let ec: KeyPair;
let stranger: KeyPair;
let jwks: { keys: JWK[] };

beforeAll(async () => {
  [rsa, ec, stranger] = await Promise.all([
    generateKeyPair('RS256'),
    generateKeyPair('ES256'),
    generateKeyPair('RS256'),
  ]);
  jwks = {
    keys: [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ],
  };
});

// --- helpers -------------------------------------------------------------------------------

function sign(
  claims: JWTPayload,
  key: Uint8Array | CryptoKey = SECRET_KEY,
  header: { alg: string; kid?: string } = { alg: 'HS256' },
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(header).sign(key);
}

const part = (value: unknown) => base64url.encode(JSON.stringify(value));

/** Settles `promise` and checks it rejected with a JwtError carrying exactly `message`. */
async function refused(promise: Promise<unknown>, message: string): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(JwtError);
  expect((error as JwtError).message).toBe(message);
  expect((error as JwtError).code).toBe('unauthorized');
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
  );
});

/** A real JWKS endpoint on loopback; `answer` decides each response. */
async function serveJwks(
  answer: () => { status: number; body: string } = () => ({
    status: 200,
    body: JSON.stringify(jwks),
  }),
): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits += 1;
    const { status, body } = answer();
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/.well-known/jwks.json`, hits: () => hits };
}

/** A loopback URL nothing listens on: bound once, then closed. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/jwks.json`;
}

const hsAuth = (extra: Partial<JwtConfig> = {}) => new JwtAuth({ secret: SECRET, ...extra });

// --- HS256 ----------------------------------------------------------------------------------

describe('HS256 with a shared secret', () => {
  it('accepts a good token', async () => {
    const token = await sign({ sub: 'u1', name: 'Ada', exp: now() + 60 });
    expect(await hsAuth().verify(token)).toEqual({ id: 'u1', displayName: 'Ada', guest: false });
  });

  it('refuses a token signed with another secret, or tampered with', async () => {
    const other = new TextEncoder().encode('another-secret-0123456789abcdef-xyz');
    await refused(hsAuth().verify(await sign({ sub: 'u1' }, other)), 'invalid token');
    const [h, , s] = (await sign({ sub: 'u1' })).split('.');
    await refused(hsAuth().verify(`${h}.${part({ sub: 'admin' })}.${s}`), 'invalid token');
  });

  it('expired, not yet valid, and the clock tolerance', async () => {
    const auth = hsAuth();
    await refused(auth.verify(await sign({ sub: 'u', exp: now() - 30 })), 'token expired');
    await refused(auth.verify(await sign({ sub: 'u', nbf: now() + 60 })), 'token not yet valid');
    // Within the default 5 s of skew both pass.
    expect((await auth.verify(await sign({ sub: 'u', exp: now() - 2 }))).id).toBe('u');
    expect((await auth.verify(await sign({ sub: 'u', nbf: now() + 2 }))).id).toBe('u');
    const strict = hsAuth({ clockToleranceSec: 0 });
    await refused(strict.verify(await sign({ sub: 'u', exp: now() - 2 })), 'token expired');
    const lax = hsAuth({ clockToleranceSec: 120 });
    expect((await lax.verify(await sign({ sub: 'u', nbf: now() + 60 }))).id).toBe('u');
    await refused(auth.verify(await sign({ sub: 'u', exp: 'soon' as never })), 'invalid token');
  });

  it('refuses alg none in any spelling, and algorithms off the allow-list', async () => {
    for (const alg of ['none', 'None', 'NONE']) {
      const unsigned = `${part({ alg, typ: 'JWT' })}.${part({ sub: 'u1' })}.`;
      await refused(hsAuth().verify(unsigned), 'token algorithm not accepted');
    }
    const hs512 = await sign({ sub: 'u1' }, SECRET_KEY, { alg: 'HS512' });
    await refused(hsAuth().verify(hs512), 'token algorithm not accepted');
    expect((await hsAuth({ algorithms: ['HS256', 'HS512'] }).verify(hs512)).id).toBe('u1');
  });

  it('checks issuer and audience when configured', async () => {
    const auth = hsAuth({ issuer: 'https://idp.test', audience: ['roomkit', 'other'] });
    const good = await sign({ sub: 'u', iss: 'https://idp.test', aud: ['x', 'roomkit'] });
    expect((await auth.verify(good)).id).toBe('u');
    const badIss = await sign({ sub: 'u', iss: 'https://evil.test', aud: 'roomkit' });
    await refused(auth.verify(badIss), 'token issuer not accepted');
    await refused(
      auth.verify(await sign({ sub: 'u', aud: 'roomkit' })),
      'token issuer not accepted',
    );
    const badAud = await sign({ sub: 'u', iss: 'https://idp.test', aud: 'elsewhere' });
    await refused(auth.verify(badAud), 'token audience not accepted');
    const noAud = await sign({ sub: 'u', iss: 'https://idp.test' });
    await refused(auth.verify(noAud), 'token audience not accepted');
  });

  it('needs a usable subject', async () => {
    const auth = hsAuth();
    await refused(auth.verify(await sign({ name: 'x' })), 'token has no subject');
    await refused(auth.verify(await sign({ sub: '' })), 'token has no subject');
    await refused(auth.verify(await sign({ sub: '   ' })), 'token has no subject');
    await refused(auth.verify(await sign({ sub: 42 as never })), 'token has no subject');
    await refused(auth.verify(await sign({ sub: 'x'.repeat(129) })), 'invalid token');
    await refused(auth.verify(await sign({ sub: 'server' })), 'invalid token');
    expect((await auth.verify(await sign({ sub: 'x'.repeat(128) }))).id).toBe('x'.repeat(128));
  });

  it('display name: configured claim, name, preferred_username, sub; trimmed, max 64', async () => {
    const name = async (claims: JWTPayload, auth = hsAuth()) =>
      (await auth.verify(await sign({ sub: 'sub-1', ...claims }))).displayName;
    expect(await name({ name: '  Ada  ', preferred_username: 'ada' })).toBe('Ada');
    expect(await name({ name: '   ', preferred_username: ' ada_l ' })).toBe('ada_l');
    expect(await name({ name: 7, preferred_username: ['x'] })).toBe('sub-1');
    expect(await name({ nick: 'Nick', name: 'Ada' }, hsAuth({ displayNameClaim: 'nick' }))).toBe(
      'Nick',
    );
    expect(await name({ nick: ' ', name: 'Ada' }, hsAuth({ displayNameClaim: 'nick' }))).toBe(
      'Ada',
    );
    expect(await name({ name: 'n'.repeat(100) })).toBe('n'.repeat(64));
    // A surrogate pair on the cut is dropped whole rather than split.
    expect(await name({ name: `${'a'.repeat(63)}😀tail` })).toBe('a'.repeat(63));
    const longSub = await hsAuth().verify(await sign({ sub: 's'.repeat(128) }));
    expect(longSub.displayName).toBe('s'.repeat(64));
  });

  it('refuses oversize tokens without parsing them', async () => {
    await refused(hsAuth().verify('a'.repeat(8193)), 'invalid token');
    const big = await sign({ sub: 'u', pad: 'p'.repeat(9000) });
    await refused(hsAuth().verify(big), 'invalid token');
    await refused(hsAuth().verify(42 as unknown as string), 'invalid token');
  });
});

// --- JWKS -----------------------------------------------------------------------------------

describe('asymmetric keys from a JWKS', () => {
  it('accepts RS256 and ES256 tokens from the key set, fetching it once', async () => {
    const { url, hits } = await serveJwks();
    const auth = new JwtAuth({ jwksUrl: url });
    const rs = await sign({ sub: 'r', name: 'Rsa' }, rsa.privateKey, {
      alg: 'RS256',
      kid: 'rsa-1',
    });
    const es = await sign({ sub: 'e' }, ec.privateKey, { alg: 'ES256', kid: 'ec-1' });
    expect(await auth.verify(rs)).toEqual({ id: 'r', displayName: 'Rsa', guest: false });
    expect((await auth.verify(es)).id).toBe('e');
    expect(hits()).toBe(1);
  });

  it('refuses an unknown kid, and a known kid signed by another key', async () => {
    const { url } = await serveJwks();
    const auth = new JwtAuth({ jwksUrl: url });
    const unknown = await sign({ sub: 'r' }, stranger.privateKey, { alg: 'RS256', kid: 'nope' });
    await refused(auth.verify(unknown), 'invalid token');
    const forged = await sign({ sub: 'r' }, stranger.privateKey, { alg: 'RS256', kid: 'rsa-1' });
    await refused(auth.verify(forged), 'invalid token');
  });

  it('tries every matching key when the token has no kid', async () => {
    const keys = [
      { ...(await exportJWK(stranger.publicKey)), alg: 'RS256' },
      { ...(await exportJWK(rsa.publicKey)), alg: 'RS256' },
    ];
    const { url } = await serveJwks(() => ({ status: 200, body: JSON.stringify({ keys }) }));
    const auth = new JwtAuth({ jwksUrl: url });
    expect((await auth.verify(await sign({ sub: 'k' }, rsa.privateKey, { alg: 'RS256' }))).id).toBe(
      'k',
    );
    const ecToken = await sign({ sub: 'k' }, ec.privateKey, { alg: 'ES256' });
    await refused(auth.verify(ecToken), 'invalid token');
  });

  it('an unreachable or broken JWKS gives "could not verify the token"', async () => {
    const token = await sign({ sub: 'r' }, rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' });
    await refused(
      new JwtAuth({ jwksUrl: await deadUrl() }).verify(token),
      'could not verify the token',
    );
    const down = await serveJwks(() => ({ status: 503, body: '{}' }));
    await refused(new JwtAuth({ jwksUrl: down.url }).verify(token), 'could not verify the token');
    const junk = await serveJwks(() => ({ status: 200, body: '{"keys": 3' }));
    await refused(new JwtAuth({ jwksUrl: junk.url }).verify(token), 'could not verify the token');
  });

  it('with a secret and a JWKS, the key is picked by alg; alg confusion fails', async () => {
    const { url } = await serveJwks();
    const both = new JwtAuth({ secret: SECRET, jwksUrl: url });
    expect((await both.verify(await sign({ sub: 'h' }))).id).toBe('h');
    const rs = await sign({ sub: 'r' }, rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' });
    expect((await both.verify(rs)).id).toBe('r');
    // HS256 "signed" with the public key text: checked against the secret only, so it fails.
    const pem = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
    const confused = await sign({ sub: 'admin' }, pem, { alg: 'HS256', kid: 'rsa-1' });
    await refused(both.verify(confused), 'invalid token');
    await refused(new JwtAuth({ jwksUrl: url }).verify(confused), 'token algorithm not accepted');
    const listed = new JwtAuth({ jwksUrl: url, algorithms: ['HS256', 'RS256'] });
    await refused(listed.verify(confused), 'token algorithm not accepted');
    // And an RS256 token is never checked against the secret.
    const secretOnly = hsAuth({ algorithms: ['HS256', 'RS256'] });
    await refused(secretOnly.verify(rs), 'token algorithm not accepted');
    await refused(hsAuth().verify(rs), 'token algorithm not accepted');
  });
});

// --- guests ---------------------------------------------------------------------------------

describe('guest tokens', () => {
  it('issue then verify round trip, without a configured secret', async () => {
    const auth = new JwtAuth({ guest: true });
    expect(auth.guestEnabled).toBe(true);
    const { token, user } = await auth.issueGuest('  Grace  ');
    expect(user.id).toMatch(/^guest-[0-9a-f-]{36}$/);
    expect(user).toEqual({ id: user.id, displayName: 'Grace', guest: true });
    expect(await auth.verify(token)).toEqual(user);
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      sub: user.id,
      name: 'Grace',
      guest: true,
      iss: 'roomkit-guest',
    });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(86_400);
    // Another process (another random secret) does not accept it.
    await refused(new JwtAuth({ guest: true }).verify(token), 'invalid token');
  });

  it('honours expiresInSec, and the configured issuer and audience', async () => {
    const auth = hsAuth({ guest: { expiresInSec: 60 }, issuer: 'https://idp', audience: 'rk' });
    const { token, user } = await auth.issueGuest('G');
    const claims = decodeJwt(token);
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(60);
    expect(await auth.verify(token)).toEqual(user);
  });

  it('the guest flag needs the guest issuer and the secret', async () => {
    const auth = hsAuth({ guest: true });
    const otherIss = await sign({ sub: 'u', guest: true, iss: 'someone' });
    expect((await auth.verify(otherIss)).guest).toBe(false);
    const noIss = await sign({ sub: 'u', guest: true });
    expect((await auth.verify(noIss)).guest).toBe(false);
    const truthy = await sign({ sub: 'u', guest: 'true', iss: 'roomkit-guest' } as JWTPayload);
    expect((await auth.verify(truthy)).guest).toBe(false);
    const { url } = await serveJwks();
    const viaJwks = await sign({ sub: 'r', guest: true, iss: 'roomkit-guest' }, rsa.privateKey, {
      alg: 'RS256',
      kid: 'rsa-1',
    });
    expect((await new JwtAuth({ jwksUrl: url }).verify(viaJwks)).guest).toBe(false);
  });

  it('guest tokens stop working when guest sign-in is switched off', async () => {
    const { token } = await hsAuth({ guest: true }).issueGuest('Ada');
    await refused(hsAuth().verify(token), 'token issuer not accepted');
  });

  it('refuses when guest sign-in is off, and bad display names', async () => {
    expect(hsAuth().guestEnabled).toBe(false);
    await expect(hsAuth().issueGuest('Ada')).rejects.toThrow(TypeError);
    const auth = hsAuth({ guest: true });
    for (const bad of ['', '   ', 'x'.repeat(65), 3 as unknown as string]) {
      await expect(auth.issueGuest(bad)).rejects.toThrow(
        new RangeError('displayName must be 1-64 characters'),
      );
    }
    expect((await auth.issueGuest(` ${'x'.repeat(64)} `)).user.displayName).toBe('x'.repeat(64));
  });
});

// --- configuration --------------------------------------------------------------------------

describe('configuration', () => {
  it('refuses nonsense with a TypeError naming the option', () => {
    const cases: Array<[unknown, string]> = [
      [{}, 'jwt.secret'],
      [null, 'jwt.config'],
      [{ secret: 'x'.repeat(31) }, 'jwt.secret'],
      [{ secret: 42 }, 'jwt.secret'],
      [{ jwksUrl: 'ftp://keys.test/jwks.json' }, 'jwt.jwksUrl'],
      [{ jwksUrl: 'not a url' }, 'jwt.jwksUrl'],
      [{ secret: SECRET, algorithms: [] }, 'jwt.algorithms'],
      [{ secret: SECRET, algorithms: [''] }, 'jwt.algorithms'],
      [{ secret: SECRET, algorithms: [7] }, 'jwt.algorithms'],
      [{ secret: SECRET, algorithms: ['HS256', 'none'] }, 'jwt.algorithms'],
      [{ secret: SECRET, algorithms: ['NONE'] }, 'jwt.algorithms'],
      [{ secret: SECRET, guest: true, algorithms: ['HS512'] }, 'jwt.algorithms'],
      [{ secret: SECRET, clockToleranceSec: -1 }, 'jwt.clockToleranceSec'],
      [{ secret: SECRET, clockToleranceSec: Number.NaN }, 'jwt.clockToleranceSec'],
      [{ guest: { expiresInSec: 0 } }, 'jwt.guest.expiresInSec'],
      [{ guest: { expiresInSec: 1.5 } }, 'jwt.guest.expiresInSec'],
      [{ guest: 'yes' }, 'jwt.guest'],
      [{ secret: SECRET, issuer: [] }, 'jwt.issuer'],
      [{ secret: SECRET, audience: [''] }, 'jwt.audience'],
      [{ secret: SECRET, displayNameClaim: '' }, 'jwt.displayNameClaim'],
      [{ secret: SECRET, requireOnUpgrade: 'yes' }, 'jwt.requireOnUpgrade'],
    ];
    for (const [config, option] of cases) {
      expect(() => new JwtAuth(config as JwtConfig), JSON.stringify(config)).toThrow(TypeError);
      expect(() => new JwtAuth(config as JwtConfig)).toThrow(option);
    }
  });

  it('accepts sane configs and reports requireOnUpgrade', () => {
    expect(new JwtAuth({ secret: 'é'.repeat(16) }).requireOnUpgrade).toBe(false);
    expect(hsAuth({ requireOnUpgrade: true }).requireOnUpgrade).toBe(true);
    expect(new JwtAuth({ jwksUrl: 'https://idp.test/jwks.json' }).guestEnabled).toBe(false);
  });
});

// --- bearerToken ----------------------------------------------------------------------------

describe('bearerToken', () => {
  it('reads a single bearer token, any case of the scheme', () => {
    expect(bearerToken({ authorization: 'Bearer a.b.c' })).toBe('a.b.c');
    expect(bearerToken({ authorization: 'bearer a.b.c' })).toBe('a.b.c');
    expect(bearerToken({ authorization: '  BEARER   a-b_c~+/==  ' })).toBe('a-b_c~+/==');
    for (const value of ['Basic abc', 'Bearer', 'Bearer ', 'Bearer a b', 'Bearera.b', 'a.b.c']) {
      expect(bearerToken({ authorization: value }), value).toBeNull();
    }
    expect(bearerToken({})).toBeNull();
  });
});

// --- hostile input --------------------------------------------------------------------------

describe('hostile input', () => {
  /** Calls verify; a synchronous throw fails the property, the rejection must be a JwtError. */
  async function alwaysJwtError(auth: JwtAuth, token: string): Promise<void> {
    let pending: Promise<unknown> | undefined;
    expect(() => {
      pending = auth.verify(token);
    }).not.toThrow();
    const error = await pending?.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(JwtError);
  }

  it('arbitrary strings always reject with JwtError', async () => {
    const auth = hsAuth();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 400 })),
        (token) => alwaysJwtError(auth, token),
      ),
      { numRuns: 300 },
    );
  });

  it('arbitrary JWT-shaped strings always reject with JwtError', async () => {
    const { url } = await serveJwks();
    const auth = new JwtAuth({ secret: SECRET, jwksUrl: url, issuer: 'i', audience: 'a' });
    const header = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          alg: fc.constantFrom('HS256', 'RS256', 'ES256', 'none', 'HS512', 'EdDSA', 'PS256', ''),
          kid: fc.oneof(fc.constantFrom('rsa-1', 'ec-1'), fc.string()),
          typ: fc.string(),
          crit: fc.array(fc.string()),
          b64: fc.boolean(),
        },
        { requiredKeys: ['alg'] },
      ),
    );
    const encoded = (value: fc.Arbitrary<unknown>) => value.map(part);
    const signature = fc.uint8Array({ maxLength: 300 }).map((bytes) => base64url.encode(bytes));
    const token = fc
      .tuple(encoded(header), encoded(fc.jsonValue()), fc.oneof(signature, fc.string()))
      .map((parts) => parts.join('.'));
    await fc.assert(
      fc.asyncProperty(token, (t) => alwaysJwtError(auth, t)),
      { numRuns: 300 },
    );
  });
});
