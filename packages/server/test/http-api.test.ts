import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LiveComponent, type RoomServer, type ServerConfig } from '../src/index.js';
import { connect, type Received, startServer, type TestClient } from './helpers.js';

const KEY = 'test-key-0123456789abcdef';
const AUTH = { authorization: `Bearer ${KEY}` };

/** A live component that joins a room through an action and records what the room sends it. */
class ApiProbe extends LiveComponent<{ messages: unknown[]; pings: unknown[] }> {
  static defaultState = { messages: [] as unknown[], pings: [] as unknown[] };

  async enter(room: unknown): Promise<string[]> {
    const handle = this.$room(String(room));
    handle.join();
    handle.on('message:new', (message) =>
      this.setState({ messages: [...this.state.messages, message] }),
    );
    handle.on('ping', (data) => this.setState({ pings: [...this.state.pings, data] }));
    return this.$rooms;
  }
}

function start(config: ServerConfig = {}): Promise<RoomServer> {
  return startServer({ api: { keys: [KEY] }, components: { ApiProbe }, ...config });
}

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & { error?: { code: string; message: string } };
}

/** A real HTTP request to the server; `body` objects are sent as JSON. */
async function call(
  server: RoomServer,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = AUTH,
): Promise<Answer> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const response = await fetch(`http://127.0.0.1:${server.port}${path}`, init);
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? {} : (JSON.parse(text) as Answer['body']),
  };
}

/** A client mounting `ApiProbe` and joining `room` through its `enter` action. */
async function probeIn(server: RoomServer, room: string, userId: string): Promise<TestClient> {
  const client = await connect(server, '/rooms', `userId=${userId}`);
  client.send({ type: 'live:mount', ref: 'mount', component: 'ApiProbe' });
  const mounted = await client.next('live:mounted');
  client.send({
    type: 'live:call',
    ref: 'enter',
    componentId: mounted.componentId,
    action: 'enter',
    payload: room,
  });
  const result = await client.next('live:result');
  expect(result.result).toEqual([room]);
  return client;
}

/** The next `live:state` patch carrying `key`. */
async function nextPatch(client: TestClient, key: string): Promise<unknown> {
  const message = await client.next(
    (m: Received) => m.type === 'live:state' && key in (m.patch as object),
  );
  return (message.patch as Record<string, unknown>)[key];
}

describe('POST /api/rooms/:roomId/messages', () => {
  it('emits message:new to every live component in the room and counts them', async () => {
    const server = await start();
    const alice = await probeIn(server, 'lobby', 'alice');
    const bob = await probeIn(server, 'lobby', 'bob');
    const carol = await probeIn(server, 'elsewhere', 'carol');

    const before = Date.now();
    const answer = await call(server, 'POST', '/api/rooms/lobby/messages', {
      user: 'CI',
      text: 'deploy finished',
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      success: true,
      notified: 2,
      message: { user: 'CI', text: 'deploy finished' },
    });
    const message = answer.body.message as { id: string; timestamp: number };
    expect(message.id).toMatch(/^api-[0-9a-f-]{36}$/);
    expect(message.timestamp).toBeGreaterThanOrEqual(before);
    expect(message.timestamp).toBeLessThanOrEqual(Date.now());

    for (const client of [alice, bob]) {
      expect(await nextPatch(client, 'messages')).toEqual([answer.body.message]);
    }
    expect(carol.all('live:state')).toEqual([]);
  });

  it('defaults user to "API Bot"; an empty room notifies nobody', async () => {
    const server = await start();
    const answer = await call(server, 'POST', '/api/rooms/empty/messages', { text: 'hi' });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      success: true,
      notified: 0,
      message: { user: 'API Bot', text: 'hi' },
    });
  });

  it('takes application/json with a charset, and a trailing slash', async () => {
    const server = await start();
    const answer = await call(server, 'POST', '/api/rooms/r1/messages/', '{"text":"x"}', {
      ...AUTH,
      'content-type': 'application/json; charset=utf-8',
    });
    expect(answer.status).toBe(200);
  });
});

describe('POST /api/rooms/:roomId/emit', () => {
  it('emits the event with its data to the room and counts the components', async () => {
    const server = await start();
    const alice = await probeIn(server, 'ops', 'alice');
    const answer = await call(server, 'POST', '/api/rooms/ops/emit', {
      event: 'ping',
      data: { n: 1, tags: ['a'] },
    });
    expect(answer).toMatchObject({ status: 200, body: { success: true, notified: 1 } });
    expect(Object.keys(answer.body).sort()).toEqual(['notified', 'success']);
    expect(await nextPatch(alice, 'pings')).toEqual([{ n: 1, tags: ['a'] }]);

    // Without data the handlers get null.
    await call(server, 'POST', '/api/rooms/ops/emit', { event: 'ping' });
    expect(await nextPatch(alice, 'pings')).toEqual([{ n: 1, tags: ['a'] }, null]);
  });

  it('counts the members of the room even for an event nobody listens to', async () => {
    const server = await start();
    await probeIn(server, 'ops', 'alice');
    const answer = await call(server, 'POST', '/api/rooms/ops/emit', { event: 'unheard', data: 1 });
    expect(answer.body).toEqual({ success: true, notified: 1 });
  });
});

describe('GET /api/rooms/stats', () => {
  it("answers the live room manager's stats", async () => {
    const server = await start();
    await probeIn(server, 'lobby', 'alice');
    await probeIn(server, 'lobby', 'bob');
    await probeIn(server, 'ops', 'carol');
    const answer = await call(server, 'GET', '/api/rooms/stats');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(server.liveRooms.getStats());
    expect(answer.body).toMatchObject({
      rooms: 2,
      components: 3,
      roomDetails: { lobby: { components: 2 }, ops: { components: 1 } },
    });
  });

  it('is empty on a fresh server', async () => {
    const server = await start();
    const answer = await call(server, 'GET', '/api/rooms/stats');
    expect(answer.body).toEqual({ rooms: 0, components: 0, roomDetails: {} });
  });
});

describe('validation: 400 naming the field', () => {
  const messages = '/api/rooms/r1/messages';
  const emit = '/api/rooms/r1/emit';
  it.each([
    { path: messages, body: {}, message: 'body/text is required' },
    { path: messages, body: { user: 'x' }, message: 'body/text is required' },
    { path: messages, body: { text: 5 }, message: 'body/text must be string' },
    { path: messages, body: { text: null }, message: 'body/text must be string' },
    {
      path: messages,
      body: { text: '' },
      message: 'body/text must NOT have fewer than 1 characters',
    },
    {
      path: messages,
      body: { text: 'x'.repeat(10_001) },
      message: 'body/text must NOT have more than 10000 characters',
    },
    { path: messages, body: { text: 'x', user: 7 }, message: 'body/user must be string' },
    {
      path: messages,
      body: { text: 'x', user: '' },
      message: 'body/user must NOT have fewer than 1 characters',
    },
    {
      path: messages,
      body: { text: 'x', user: 'u'.repeat(129) },
      message: 'body/user must NOT have more than 128 characters',
    },
    {
      path: messages,
      body: { text: 'x', channel: 'y' },
      message: 'body/channel is not an allowed field',
    },
    { path: messages, body: ['text'], message: 'body must be object' },
    { path: messages, body: '"text"', message: 'body must be object' },
    { path: emit, body: {}, message: 'body/event is required' },
    { path: emit, body: { event: 1 }, message: 'body/event must be string' },
    {
      path: emit,
      body: { event: '' },
      message: 'body/event must NOT have fewer than 1 characters',
    },
    {
      path: emit,
      body: { event: 'e'.repeat(129) },
      message: 'body/event must NOT have more than 128 characters',
    },
    { path: emit, body: { event: 'e', extra: 1 }, message: 'body/extra is not an allowed field' },
    {
      path: emit,
      body: { event: 'e', data: { a: { constructor: 1 } } },
      message: 'body/data: key "constructor" is not allowed',
    },
  ])('$path $body → $message', async ({ path, body, message }) => {
    const server = await start();
    const answer = await call(server, 'POST', path, body);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ success: false, error: { code: 'bad_request', message } });
  });

  it('refuses data nested deeper than limits.maxDepth', async () => {
    const server = await start({ limits: { maxDepth: 4 } });
    const ok = await call(server, 'POST', '/api/rooms/r1/emit', { event: 'e', data: [[[[1]]]] });
    expect(ok.status).toBe(200);
    const deep = await call(server, 'POST', '/api/rooms/r1/emit', {
      event: 'e',
      data: [[[[[1]]]]],
    });
    expect(deep.body).toEqual({
      success: false,
      error: { code: 'bad_request', message: 'body/data nests deeper than 4 levels' },
    });
  });

  it.each([
    ['-starts-with-dash'],
    ['has%20space'],
    ['a%2Fb'],
    ['r'.repeat(129)],
    ['r'.repeat(2000)],
    ['%C3%A9t%C3%A9'],
  ])('room id %s → 400 invalid_room_id, before the body is looked at', async (roomId) => {
    const server = await start();
    for (const route of ['messages', 'emit']) {
      const answer = await call(server, 'POST', `/api/rooms/${roomId}/${route}`, { bad: true });
      expect(answer.status).toBe(400);
      expect(answer.body.error?.code).toBe('invalid_room_id');
      expect(answer.body.error?.message).toContain('invalid room id');
    }
  });

  it('malformed percent-encoding in the path → 400 bad_request', async () => {
    const server = await start();
    const answer = await call(server, 'POST', '/api/rooms/%E0%A4%A/messages', { text: 'x' });
    expect(answer).toMatchObject({
      status: 400,
      body: { success: false, error: { code: 'bad_request', message: 'malformed request URL' } },
    });
  });

  it('invalid JSON, an empty JSON body and a __proto__ key → 400', async () => {
    const server = await start();
    for (const body of ['{"text":', '{"text":"x","__proto__":{"polluted":1}}', '']) {
      const answer = await call(server, 'POST', '/api/rooms/r1/messages', body, {
        ...AUTH,
        'content-type': 'application/json',
      });
      expect(answer.status).toBe(400);
      expect(answer.body.error?.code).toBe('bad_request');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('limits on the request itself', () => {
  it('a body over 64 KiB → 413 payload_too_large', async () => {
    const server = await start();
    const answer = await call(server, 'POST', '/api/rooms/r1/emit', {
      event: 'big',
      data: 'x'.repeat(64 * 1024),
    });
    expect(answer).toMatchObject({
      status: 413,
      body: {
        success: false,
        error: { code: 'payload_too_large', message: 'body is larger than 65536 bytes' },
      },
    });
  });

  it('api.maxBodyBytes sets the limit', async () => {
    const server = await start({ api: { keys: [KEY], maxBodyBytes: 100 } });
    const small = await call(server, 'POST', '/api/rooms/r1/messages', { text: 'x'.repeat(50) });
    expect(small.status).toBe(200);
    const big = await call(server, 'POST', '/api/rooms/r1/messages', { text: 'x'.repeat(100) });
    expect(big.status).toBe(413);
  });

  it.each([
    ['text/plain'],
    ['application/x-www-form-urlencoded'],
    ['multipart/form-data; boundary=x'],
    ['application/xml'],
  ])('Content-Type %s → 415 unsupported_media_type', async (contentType) => {
    const server = await start();
    const answer = await call(server, 'POST', '/api/rooms/r1/messages', '{"text":"x"}', {
      ...AUTH,
      'content-type': contentType,
    });
    expect(answer).toMatchObject({
      status: 415,
      body: {
        success: false,
        error: {
          code: 'unsupported_media_type',
          message: 'Content-Type must be application/json',
        },
      },
    });
  });

  it('a body without any Content-Type → 415; no body at all → 400 body must be object', async () => {
    const server = await start();
    const response = await fetch(`http://127.0.0.1:${server.port}/api/rooms/r1/messages`, {
      method: 'POST',
      headers: AUTH,
      // A byte body: fetch sets no Content-Type for it.
      body: new TextEncoder().encode('{"text":"x"}'),
    });
    expect(response.status).toBe(415);
    const empty = await call(server, 'POST', '/api/rooms/r1/messages');
    expect(empty.body).toEqual({
      success: false,
      error: { code: 'bad_request', message: 'body must be object' },
    });
  });

  it('a body shorter than its Content-Length → 400, not a 500', async () => {
    const server = await start();
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: server.port,
          method: 'POST',
          path: '/api/rooms/r1/messages',
          headers: { ...AUTH, 'content-type': 'application/json', 'content-length': '100' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end('{"text":"x"}');
      // The rest of the body never comes: the server answers when the client gives up.
      setTimeout(() => req.socket?.end(), 100);
    });
    expect(status).toBe(400);
  });
});

describe('routing next to the WebSocket endpoint', () => {
  it('/healthz and the JSON 404 are unchanged', async () => {
    const server = await start();
    await probeIn(server, 'lobby', 'alice');
    const health = await call(server, 'GET', '/healthz', undefined, {});
    expect(health).toMatchObject({ status: 200, body: { status: 'ok', rooms: 0, connections: 1 } });
    expect(health.headers.get('content-type')).toBe('application/json');
    const head = await fetch(`http://127.0.0.1:${server.port}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const missing = await call(server, 'GET', '/nope', undefined, {});
    expect(missing).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found', message: 'no route for GET /nope' } },
    });
    expect(missing.headers.get('content-type')).toBe('application/json');
  });

  it('unknown /api routes and wrong methods → the same JSON 404', async () => {
    const server = await start();
    for (const [method, path] of [
      ['GET', '/api'],
      ['GET', '/api/nope?x=1'],
      // GET on …/messages and DELETE on /api/rooms/{id} are Spaces routes (spaces-rest tests).
      ['GET', '/api/rooms/r1/emit'],
      ['PUT', '/api/rooms/stats'],
      ['POST', '/api/rooms/stats'],
    ] as const) {
      const answer = await call(server, method, path);
      expect(answer.status).toBe(404);
      expect(answer.body).toEqual({
        success: false,
        error: { code: 'not_found', message: `no route for ${method} ${path.split('?')[0]}` },
      });
    }
  });

  it('api: false turns the HTTP API off (the plain 404)', async () => {
    const server = await start({ api: false });
    const answer = await call(server, 'GET', '/api/rooms/stats');
    expect(answer).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found', message: 'no route for GET /api/rooms/stats' } },
    });
    expect((await call(server, 'GET', '/api/openapi.json')).status).toBe(404);
  });

  it('WebSocket upgrades still work on the same port', async () => {
    const server = await start();
    const client = await probeIn(server, 'lobby', 'alice');
    expect(client.closeCode).toBeNull();
    expect((await call(server, 'GET', '/api/rooms/stats')).body.components).toBe(1);
  });

  it('stop() with the API in use closes cleanly', async () => {
    const server = await start();
    await call(server, 'GET', '/api/rooms/stats');
    await server.stop();
    await expect(fetch(`http://127.0.0.1:${server.port}/api/rooms/stats`)).rejects.toThrow();
  });
});

describe('GET /api/openapi.json', () => {
  it('is a public OpenAPI 3 document with the live-room routes, their schemas and the security schemes', async () => {
    const server = await startServer({ components: { ApiProbe } });
    const answer = await call(server, 'GET', '/api/openapi.json', undefined, {});
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    const doc = answer.body;
    /** The value at `path` in the document (undefined if any step is missing). */
    const at = (...path: string[]): unknown =>
      path.reduce<unknown>(
        (value, key) => (value as Record<string, unknown> | undefined)?.[key],
        doc,
      );
    const json = ['content', 'application/json', 'schema'];
    expect(at('openapi')).toMatch(/^3\.\d+\.\d+$/);
    expect(at('info')).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    // The live-room routes and the public document; the Spaces routes are in spaces-rest-docs.
    expect(Object.keys(at('paths') as object)).toEqual(
      expect.arrayContaining([
        '/api/openapi.json',
        '/api/rooms/stats',
        '/api/rooms/{roomId}/emit',
        '/api/rooms/{roomId}/messages',
      ]),
    );

    const messages = ['paths', '/api/rooms/{roomId}/messages', 'post'];
    expect(at(...messages, 'requestBody', ...json)).toMatchObject({
      type: 'object',
      required: ['text'],
      additionalProperties: false,
      properties: {
        text: { type: 'string', minLength: 1, maxLength: 10000 },
        user: { type: 'string', minLength: 1, maxLength: 128 },
      },
    });
    expect(at(...messages, 'parameters')).toEqual([
      expect.objectContaining({ in: 'path', name: 'roomId', required: true }),
    ]);
    expect(at(...messages, 'responses', '200', ...json, 'required')).toEqual([
      'success',
      'message',
      'notified',
    ]);
    for (const status of ['400', '401', '403', '413', '415', '429']) {
      expect(at(...messages, 'responses', status, ...json)).toEqual({
        $ref: '#/components/schemas/ErrorBody',
      });
    }

    const emit = ['paths', '/api/rooms/{roomId}/emit', 'post'];
    expect(at(...emit, 'requestBody', ...json)).toMatchObject({
      type: 'object',
      required: ['event'],
      properties: { event: { type: 'string', minLength: 1, maxLength: 128 } },
    });
    expect(at('paths', '/api/rooms/stats', 'get', 'responses', '200', ...json)).toMatchObject({
      type: 'object',
      required: ['rooms', 'components', 'roomDetails'],
    });

    expect(at('components', 'securitySchemes')).toEqual({
      bearerAuth: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      apiKeyHeader: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-API-Key' }),
      userBearer: expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
    });
    expect(at('security')).toEqual([{ bearerAuth: [] }, { apiKeyHeader: [] }]);
    expect(at('paths', '/api/openapi.json', 'get', 'security')).toEqual([]);
    expect(at('components', 'schemas', 'ErrorBody', 'required')).toEqual(['success', 'error']);

    // Every $ref points at a schema the document has.
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const name = ref.slice('"$ref":"#/components/schemas/'.length, -1);
      expect(at('components', 'schemas', name), ref).toBeDefined();
    }
  });
});

describe('fuzz', () => {
  const paths = fc.oneof(
    fc.constantFrom(
      '/api/rooms/r1/messages',
      '/api/rooms/r1/emit',
      '/api/rooms/stats',
      '/api/openapi.json',
    ),
    fc
      .tuple(fc.string({ maxLength: 140 }), fc.constantFrom('messages', 'emit', 'stats', ''))
      .map(([room, route]) => `/api/rooms/${encodeURIComponent(room)}/${route}`),
  );
  const bodies = fc.oneof(
    fc.json({ maxDepth: 40 }),
    fc
      .record(
        {
          text: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 2 })),
          user: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 2 })),
          event: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 2 })),
          data: fc.jsonValue({ maxDepth: 40 }),
        },
        { requiredKeys: [] },
      )
      .map((value) => JSON.stringify(value)),
    fc.string({ maxLength: 200 }),
    fc.constant(''),
  );
  const visible = fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength: 60,
  });
  const headers = fc.record(
    {
      'content-type': fc.oneof(
        fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', ''),
        visible,
      ),
      authorization: fc.oneof(
        fc.constant(`Bearer ${KEY}`),
        visible.map((v) => `Bearer ${v}`),
        visible,
      ),
      'x-api-key': fc.oneof(fc.constant(KEY), visible),
    },
    { requiredKeys: [] },
  );

  it('random bodies, paths and headers never get a 500, and always the JSON error shape', async () => {
    const server = await start({ api: { keys: [KEY], rateLimit: false } });
    await probeIn(server, 'r1', 'alice');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('POST', 'GET', 'PUT'),
        paths,
        bodies,
        headers,
        async (method, path, body, extra) => {
          const response = await fetch(`http://127.0.0.1:${server.port}${path}`, {
            method,
            headers: extra,
            ...(method === 'GET' ? {} : { body }),
          });
          const text = await response.text();
          expect(response.status).toBeLessThan(500);
          const parsed = JSON.parse(text) as Answer['body'];
          if (response.status >= 400) {
            expect(parsed).toEqual({
              success: false,
              error: { code: expect.any(String), message: expect.any(String) },
            });
          }
        },
      ),
      { numRuns: 300 },
    );
  }, 60_000);
});
