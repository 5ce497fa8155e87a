import { SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { startServer } from './helpers.js';
import {
  API_KEY,
  call,
  describeBackends,
  errorOf,
  type OpenStore,
  SECRET,
  startSpaces,
  userToken,
} from './spaces-rest-helpers.js';
import { afterThisTest } from './test-databases.js';

/**
 * Who gets in to the Spaces routes: users' JWTs (missing, bad, expired, forged), servers without
 * `jwt` or without Spaces, the per-user rate limit, guest sign-in, and the API keys of the
 * live-room routes still working beside them.
 */

const ID = '00000000-0000-4000-8000-000000000000';
const MISSING = 'missing token: send "Authorization: Bearer <token>"';

/** Every Spaces route, with a body that would pass validation. */
const ROUTES: ReadonlyArray<readonly [string, string, unknown?]> = [
  ['GET', '/api/rooms'],
  ['POST', '/api/rooms/create', { name: 'x' }],
  ['GET', '/api/rooms/code/ABCDEF'],
  ['GET', `/api/rooms/${ID}`],
  ['POST', `/api/rooms/${ID}/join`, {}],
  ['DELETE', `/api/rooms/${ID}/leave`],
  ['GET', `/api/rooms/${ID}/participants`],
  ['GET', `/api/rooms/${ID}/messages?limit=5`],
  ['PATCH', `/api/rooms/${ID}/state`, { currentMode: 'x' }],
  ['DELETE', `/api/rooms/${ID}`],
  ['POST', `/api/rooms/${ID}/kick`, { userId: 'bob' }],
  ['DELETE', `/api/rooms/${ID}/bans/bob`],
];

function suite(open: OpenStore): void {
  it('every route needs a token: none, or another scheme, is 401 with a challenge', async () => {
    const { server } = await startSpaces(open);
    for (const [method, path, body] of ROUTES) {
      for (const headers of [
        {} as Record<string, string>,
        { authorization: `Basic ${btoa('a:b')}` },
        { 'x-api-key': API_KEY },
      ]) {
        const answer = await call(server, method, path, { body, headers });
        expect(answer.status, `${method} ${path}`).toBe(401);
        expect(answer.body).toEqual(errorOf('unauthorized', MISSING));
        expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="roomkit"');
      }
    }
  });

  it('bad tokens are 401 with what was wrong; the body is not looked at first', async () => {
    const { server } = await startSpaces(open);
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, string]> = [
      ['garbage', 'invalid token'],
      [API_KEY, 'invalid token'],
      [await userToken('alice', 'Alice', { secret: 'y'.repeat(32) }), 'invalid token'],
      [await userToken('alice', 'Alice', { expiresAt: now - 60 }), 'token expired'],
      [new UnsecuredJWT({ sub: 'alice' }).encode(), 'token algorithm not accepted'],
      [
        await new SignJWT({})
          .setProtectedHeader({ alg: 'HS256' })
          .setExpirationTime(now + 60)
          .sign(new TextEncoder().encode(SECRET)),
        'token has no subject',
      ],
      [`${'a'.repeat(5000)}.${'b'.repeat(5000)}.c`, 'invalid token'],
    ];
    for (const [token, message] of cases) {
      // A body that would be a 400: auth comes first.
      const answer = await call(server, 'POST', '/api/rooms/create', { token, body: { name: 5 } });
      expect(answer, message).toMatchObject({
        status: 401,
        body: errorOf('unauthorized', message),
      });
      expect(answer.headers.get('www-authenticate')).toMatch(
        /^Bearer realm="roomkit", error="invalid_token"$/,
      );
    }
  });

  it('a good token is the user: sub is the id (a token per user, not per request)', async () => {
    const spaces = await startSpaces(open);
    const token = await userToken('alice', 'Alice Liddell');
    const created = await call(spaces.server, 'POST', '/api/rooms/create', {
      token,
      body: { name: 'Tea' },
    });
    expect(created.body.room).toMatchObject({ hostUserId: 'alice' });
    // Another token for the same sub is the same user.
    const again = await userToken('alice', 'Someone else');
    expect(
      (await call(spaces.server, 'GET', '/api/rooms', { token: again })).body.rooms,
    ).toHaveLength(1);
    // The "bearer" scheme is case-insensitive.
    const lower = await call(spaces.server, 'GET', '/api/rooms', {
      headers: { authorization: `bearer ${token}` },
    });
    expect(lower.status).toBe(200);
  });

  it('per-user rate limit: the N+1th request is 429; other users and bad tokens do not count', async () => {
    const spaces = await startSpaces(open, {
      spaces: { rateLimit: { max: 3, timeWindowMs: 60_000 } },
    });
    for (let i = 0; i < 3; i++) {
      const answer = await spaces.as('alice', 'GET', '/api/rooms');
      expect(answer.status).toBe(200);
      expect(answer.headers.get('x-ratelimit-limit')).toBe('3');
      expect(answer.headers.get('x-ratelimit-remaining')).toBe(String(2 - i));
    }
    const limited = await spaces.as('alice', 'POST', '/api/rooms/create', { body: { name: 'x' } });
    expect(limited).toMatchObject({
      status: 429,
      body: errorOf(
        'rate_limited',
        /^rate limit exceeded \(3 requests per 60000 ms per user\): retry in /,
      ),
    });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Nothing was created by the refused request.
    expect(await spaces.service.listUserRooms('alice')).toEqual([]);

    // Requests with bad or missing tokens are refused before they are counted.
    for (let i = 0; i < 5; i++) {
      expect((await call(spaces.server, 'GET', '/api/rooms', { token: 'bad' })).status).toBe(401);
      expect((await call(spaces.server, 'GET', '/api/rooms')).status).toBe(401);
    }
    for (let i = 0; i < 3; i++)
      expect((await spaces.as('bob', 'GET', '/api/rooms')).status).toBe(200);
    expect((await spaces.as('bob', 'GET', '/api/rooms')).status).toBe(429);
    // A fresh token for Alice is still Alice.
    const fresh = await userToken('alice', 'Alice', { claims: { jti: 'other' } });
    expect((await call(spaces.server, 'GET', '/api/rooms', { token: fresh })).status).toBe(429);
    // The live-room API keeps its own budget.
    const stats = await call(spaces.server, 'GET', '/api/rooms/stats', {
      headers: { 'x-api-key': API_KEY },
    });
    expect(stats.status).toBe(200);
  });

  it('spaces.rateLimit: false turns the per-user limit off', async () => {
    const spaces = await startSpaces(open, { spaces: { rateLimit: false } });
    for (let i = 0; i < 120; i++)
      expect((await spaces.as('alice', 'GET', '/api/rooms')).status).toBe(200);
  });

  it('guest sign-in: a token for a display name that works on every Spaces route', async () => {
    const spaces = await startSpaces(open);
    const answer = await call(spaces.server, 'POST', '/api/auth/guest', {
      body: { displayName: '  Guest Star ' },
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      success: true,
      token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      user: {
        id: expect.stringMatching(/^guest-[0-9a-f-]{36}$/),
        displayName: 'Guest Star',
        guest: true,
      },
    });
    const token = answer.body.token as string;
    const created = await call(spaces.server, 'POST', '/api/rooms/create', {
      token,
      body: { name: 'Guests' },
    });
    expect(created.status).toBe(201);
    expect((created.body.room as { hostUserId: string }).hostUserId).toBe(
      (answer.body.user as { id: string }).id,
    );
    // Two sign-ins are two users.
    const other = await call(spaces.server, 'POST', '/api/auth/guest', {
      body: { displayName: 'Guest Star' },
    });
    expect((other.body.user as { id: string }).id).not.toBe(
      (answer.body.user as { id: string }).id,
    );
  });

  it('guest sign-in: bad display names are 400; the limit counts per address', async () => {
    const spaces = await startSpaces(open, {
      spaces: { rateLimit: { max: 8, timeWindowMs: 60_000 } },
    });
    const guest = (body: unknown, headers?: Record<string, string>) =>
      call(spaces.server, 'POST', '/api/auth/guest', { body, headers });
    const bad: Array<[unknown, string | RegExp]> = [
      [{}, 'body/displayName is required'],
      [{ displayName: '' }, 'body/displayName must NOT have fewer than 1 characters'],
      [{ displayName: '   ' }, /displayName/],
      [{ displayName: 'x'.repeat(65) }, 'body/displayName must NOT have more than 64 characters'],
      [{ displayName: 7 }, 'body/displayName must be string'],
      [{ displayName: 'A', admin: true }, 'body/admin is not an allowed field'],
    ];
    for (const [body, message] of bad) {
      expect(await guest(body), JSON.stringify(body)).toMatchObject({
        status: 400,
        body: errorOf('bad_request', message),
      });
    }
    expect((await guest('{"displayName":"A"}', { 'content-type': 'text/plain' })).status).toBe(415);
    // 7 requests so far from this address; the 8th passes, the 9th does not.
    expect((await guest({ displayName: 'Eight' })).status).toBe(200);
    expect(await guest({ displayName: 'Nine' })).toMatchObject({
      status: 429,
      body: errorOf('rate_limited', /per 60000 ms per address/),
    });
    // Signed-in users have their own budgets.
    expect((await spaces.as('alice', 'GET', '/api/rooms')).status).toBe(200);
  });
}

describeBackends('Spaces REST auth', suite);

describeBackends('Spaces REST on servers configured otherwise', (open) => {
  it('without jwt.guest there is no guest route (the plain JSON 404)', async () => {
    const spaces = await startSpaces(open, { jwt: { secret: SECRET } });
    expect(
      await call(spaces.server, 'POST', '/api/auth/guest', { body: { displayName: 'A' } }),
    ).toMatchObject({
      status: 404,
      body: errorOf('not_found', 'no route for POST /api/auth/guest'),
    });
    // Users' own tokens still work.
    expect((await spaces.as('alice', 'GET', '/api/rooms')).status).toBe(200);
  });

  it('without jwt, Spaces routes are 401 saying so, whatever the request carries', async () => {
    const store = await open();
    const server = await startServer({ store, spaces: {}, api: { keys: [API_KEY] } });
    afterThisTest(() => server.stop());
    for (const [method, path, body] of ROUTES) {
      for (const token of [undefined, await userToken('alice')]) {
        const answer = await call(server, method, path, { body, token });
        expect(answer, `${method} ${path}`).toMatchObject({
          status: 401,
          body: errorOf('unauthorized', 'Spaces needs JWT auth: configure jwt'),
        });
      }
    }
    expect(
      (await call(server, 'POST', '/api/auth/guest', { body: { displayName: 'A' } })).status,
    ).toBe(404);
  });
});

describe('Spaces REST on a server without Spaces', () => {
  it('without Spaces, its routes are 404 saying so; the live-room routes still work', async () => {
    const server = await startServer({ jwt: { secret: SECRET }, api: { keys: [API_KEY] } });
    for (const [method, path, body] of ROUTES) {
      for (const token of [undefined, await userToken('alice')]) {
        const answer = await call(server, method, path, { body, token });
        expect(answer, `${method} ${path}`).toMatchObject({
          status: 404,
          body: errorOf('not_found', 'Spaces is not enabled on this server'),
        });
      }
    }
    const key = { authorization: `Bearer ${API_KEY}` };
    expect((await call(server, 'GET', '/api/rooms/stats', { headers: key })).status).toBe(200);
    expect(
      (await call(server, 'POST', '/api/rooms/r1/messages', { headers: key, body: { text: 'x' } }))
        .status,
    ).toBe(200);
  });
});
