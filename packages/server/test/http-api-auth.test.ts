import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { KeyMatcher, presentedCredentials } from '../src/http/api/auth.js';
import { RoomServer, type ServerConfig } from '../src/index.js';
import { startServer } from './helpers.js';

const KEY = 'auth-key-0123456789abcdef';
const OTHER = 'second-key-fedcba9876543210';
const NO_KEY = 'the HTTP API needs an API key: start the server with --api-key';
const MISSING = 'missing API key: send "Authorization: Bearer <key>" or "X-API-Key: <key>"';

interface Answer {
  status: number;
  headers: Headers;
  body: { error?: { code: string; message: string }; [field: string]: unknown };
}

async function call(
  server: RoomServer,
  path: string,
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<Answer> {
  const response = await fetch(`http://127.0.0.1:${server.port}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: JSON.parse(await response.text()) as Answer['body'],
  };
}

const stats = (server: RoomServer, headers?: Record<string, string>) =>
  call(server, '/api/rooms/stats', headers);

const ROUTES: Array<[string, unknown]> = [
  ['/api/rooms/stats', undefined],
  ['/api/rooms/r1/messages', { text: 'hi' }],
  ['/api/rooms/r1/emit', { event: 'e' }],
];

describe('secure by default', () => {
  it('without any key configured, every route is 401 with a message saying what to do', async () => {
    const server = await startServer();
    for (const [path, body] of ROUTES) {
      const variants: Record<string, string>[] = [
        {},
        { authorization: 'Bearer anything' },
        { 'x-api-key': 'x' },
      ];
      for (const headers of variants) {
        const answer = await call(server, path, headers, body);
        expect(answer.status).toBe(401);
        expect(answer.body).toEqual({
          success: false,
          error: { code: 'unauthorized', message: NO_KEY },
        });
        expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="roomkit"');
      }
    }
  });

  it('keys: [] is the same as none', async () => {
    const server = await startServer({ api: { keys: [] } });
    expect((await stats(server, { authorization: 'Bearer x' })).body.error?.message).toBe(NO_KEY);
  });

  it('the OpenAPI document stays public', async () => {
    const server = await startServer();
    expect((await call(server, '/api/openapi.json')).status).toBe(200);
  });

  it('auth runs before validation: an unauthenticated bad body is 401, not 400', async () => {
    const server = await startServer({ api: { keys: [KEY] } });
    const answer = await call(server, '/api/rooms/-bad-/messages', {}, { nonsense: true });
    expect(answer.status).toBe(401);
  });
});

describe('API keys', () => {
  it.each([
    ['Authorization: Bearer', { authorization: `Bearer ${KEY}` }],
    ['lower-case bearer', { authorization: `bearer ${KEY}` }],
    ['X-API-Key', { 'x-api-key': KEY }],
    ['a wrong bearer next to a right X-API-Key', { authorization: 'Bearer no', 'x-api-key': KEY }],
  ])('%s is admitted', async (_label, headers) => {
    const server = await startServer({ api: { keys: [KEY] } });
    for (const [path, body] of ROUTES) {
      expect((await call(server, path, headers, body)).status).toBe(200);
    }
  });

  it.each([
    ['no header', {}],
    ['Basic auth', { authorization: `Basic ${Buffer.from(`u:${KEY}`).toString('base64')}` }],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['an empty X-API-Key', { 'x-api-key': '' }],
  ])('%s → 401 unauthorized', async (_label, headers) => {
    const server = await startServer({ api: { keys: [KEY] } });
    const answer = await stats(server, headers);
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({
      success: false,
      error: { code: 'unauthorized', message: MISSING },
    });
    expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="roomkit"');
  });

  it.each([
    ['a wrong bearer', { authorization: 'Bearer wrong' }],
    ['a wrong X-API-Key', { 'x-api-key': 'wrong' }],
    ['the key with one more character', { authorization: `Bearer ${KEY}x` }],
    ['a prefix of the key', { authorization: `Bearer ${KEY.slice(0, -1)}` }],
    ['the key in another case', { 'x-api-key': KEY.toUpperCase() }],
  ])('%s → 403 forbidden', async (_label, headers) => {
    const server = await startServer({ api: { keys: [KEY] } });
    for (const [path, body] of ROUTES) {
      const answer = await call(server, path, headers, body);
      expect(answer.status).toBe(403);
      expect(answer.body).toEqual({
        success: false,
        error: { code: 'forbidden', message: 'invalid API key' },
      });
    }
  });

  it('any of several keys works', async () => {
    const server = await startServer({ api: { keys: [KEY, OTHER] } });
    expect((await stats(server, { 'x-api-key': KEY })).status).toBe(200);
    expect((await stats(server, { authorization: `Bearer ${OTHER}` })).status).toBe(200);
    expect((await stats(server, { authorization: 'Bearer third' })).status).toBe(403);
  });

  it('KeyMatcher compares by hash, finds the right key, and reads both headers', () => {
    const matcher = new KeyMatcher([KEY, OTHER]);
    expect(matcher.match(KEY)).toBe(0);
    expect(matcher.match(OTHER)).toBe(1);
    expect(matcher.match('')).toBe(-1);
    expect(matcher.match(`${KEY}\u0000`)).toBe(-1);
    expect(presentedCredentials({ authorization: 'Bearer a', 'x-api-key': ' b ' })).toEqual([
      'a',
      'b',
    ]);
    expect(presentedCredentials({ authorization: 'Token a' })).toEqual([]);
  });

  it.each([
    [{ keys: ['has space'] }],
    [{ keys: [''] }],
    [{ keys: ['é-not-ascii'] }],
    [{ keys: [42 as unknown as string] }],
    [{ keys: 'not-an-array' as unknown as string[] }],
    [{ authorize: 'yes' as unknown as () => boolean }],
    [{ rateLimit: { max: 0 } }],
    [{ rateLimit: { timeWindowMs: -1 } }],
    [{ maxBodyBytes: 0 }],
  ])('config %j is refused at construction, without echoing a key', (api) => {
    let message = '';
    try {
      new RoomServer({ api: api as ServerConfig['api'] });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^RoomServer: api\./);
    expect(message).not.toContain('has space');
    expect(message).not.toContain('é-not-ascii');
  });
});

describe('authorize hook', () => {
  it('admits what it returns true for, with the raw request to look at', async () => {
    const seen: IncomingMessage[] = [];
    const server = await startServer({
      api: {
        authorize: (req) => {
          seen.push(req);
          return req.headers['x-team'] === 'ops';
        },
      },
    });
    expect((await stats(server, { 'x-team': 'ops' })).status).toBe(200);
    expect(seen[0]?.url).toBe('/api/rooms/stats');
    expect(seen[0]?.method).toBe('GET');
    // Refused without a credential: 401; refused with one: 403.
    expect((await stats(server, { 'x-team': 'sales' })).status).toBe(401);
    const refused = await stats(server, { authorization: 'Bearer some-token' });
    expect(refused).toMatchObject({
      status: 403,
      body: {
        success: false,
        error: { code: 'forbidden', message: 'not allowed to use the HTTP API' },
      },
    });
  });

  it('may be async; keys still work next to it and are checked first', async () => {
    let calls = 0;
    const server = await startServer({
      api: {
        keys: [KEY],
        authorize: async (req) => {
          calls += 1;
          await new Promise((resolve) => setTimeout(resolve, 5));
          return req.headers.authorization === 'Bearer jwt-for-alice';
        },
      },
    });
    expect((await stats(server, { authorization: `Bearer ${KEY}` })).status).toBe(200);
    expect(calls).toBe(0);
    expect((await stats(server, { authorization: 'Bearer jwt-for-alice' })).status).toBe(200);
    expect((await stats(server, { authorization: 'Bearer jwt-for-mallory' })).status).toBe(403);
    expect(calls).toBe(2);
  });

  it('only true admits: a truthy non-boolean, a throw and a timeout refuse', async () => {
    const answers: Array<() => unknown> = [
      () => 'yes',
      () => 1,
      () => {
        throw new Error('boom');
      },
      () => Promise.reject(new Error('async boom')),
      () => new Promise(() => {}),
    ];
    const warnings: unknown[] = [];
    for (const answer of answers) {
      const server = await startServer({
        api: { authorize: answer as () => boolean },
        limits: { authTimeoutMs: 50 },
        logger: { debug() {}, info() {}, warn: (fields) => warnings.push(fields), error() {} },
      });
      const result = await stats(server, { authorization: 'Bearer t' });
      expect(result.status).toBe(403);
    }
    expect(warnings).toHaveLength(3);
  });
});

describe('rate limit', () => {
  const limited = (config: Partial<Exclude<ServerConfig['api'], false>> = {}) =>
    startServer({
      api: { keys: [KEY, OTHER], rateLimit: { max: 3, timeWindowMs: 60_000 }, ...config },
    });

  it('past max requests per window → 429 rate_limited with Retry-After', async () => {
    const server = await limited();
    const headers = { authorization: `Bearer ${KEY}` };
    for (let i = 0; i < 3; i++) {
      const answer = await stats(server, headers);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('x-ratelimit-limit')).toBe('3');
    }
    const answer = await stats(server, headers);
    expect(answer.status).toBe(429);
    expect(answer.body.error?.code).toBe('rate_limited');
    expect(answer.body.error?.message).toMatch(/^rate limit exceeded \(3 requests per 60000 ms\)/);
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    // Every route shares the budget.
    expect((await call(server, '/api/rooms/r1/messages', headers, { text: 'x' })).status).toBe(429);
  });

  it('each key has its own budget; requests without a valid key share the address budget', async () => {
    const server = await limited();
    for (let i = 0; i < 3; i++) await stats(server, { 'x-api-key': KEY });
    expect((await stats(server, { 'x-api-key': KEY })).status).toBe(429);
    expect((await stats(server, { 'x-api-key': OTHER })).status).toBe(200);
    // Guessing keys from one address is limited too.
    const guesses = [];
    for (let i = 0; i < 4; i++)
      guesses.push((await stats(server, { 'x-api-key': `guess-${i}` })).status);
    expect(guesses).toEqual([403, 403, 403, 429]);
    // ...and the OpenAPI document counts against the address.
    expect((await call(server, '/api/openapi.json')).status).toBe(429);
  });

  it('the window resets', async () => {
    const server = await limited({ rateLimit: { max: 1, timeWindowMs: 100 } });
    const headers = { 'x-api-key': KEY };
    expect((await stats(server, headers)).status).toBe(200);
    expect((await stats(server, headers)).status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect((await stats(server, headers)).status).toBe(200);
  });

  it('defaults to 100 per second; rateLimit: false turns it off', async () => {
    const server = await startServer({ api: { keys: [KEY] } });
    expect((await stats(server, { 'x-api-key': KEY })).headers.get('x-ratelimit-limit')).toBe(
      '100',
    );
    const unlimited = await startServer({ api: { keys: [KEY], rateLimit: false } });
    const statuses = await Promise.all(
      Array.from(
        { length: 150 },
        async () => (await stats(unlimited, { 'x-api-key': KEY })).status,
      ),
    );
    expect(new Set(statuses)).toEqual(new Set([200]));
  });
});
