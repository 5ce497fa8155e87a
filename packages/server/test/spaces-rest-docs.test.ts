import { FormatRegistry, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import {
  GuestAnswer,
  JoinAnswer,
  KickAnswer,
  MessagesAnswer,
  ParticipantsAnswer,
  RoomAnswer,
  RoomsAnswer,
  SPACES_SCHEMAS,
  UnbanAnswer,
} from '../src/http/api/spaces-schemas.js';
import { startServer } from './helpers.js';
import {
  API_KEY,
  call,
  describeBackends,
  errorOf,
  memoryStore,
  type OpenStore,
  SECRET,
  startSpaces,
} from './spaces-rest-helpers.js';

/**
 * The OpenAPI document with the Spaces routes, its browsable page at /api/docs (Swagger UI and
 * its assets through the room server's own handler), and the answers matching their schemas.
 */

type Doc = Record<string, unknown>;

/** The value at `path` in `doc` (undefined if any step is missing). */
function at(doc: unknown, ...path: string[]): unknown {
  return path.reduce<unknown>((value, key) => (value as Doc | undefined)?.[key], doc);
}

/** Every route the API has with guest sign-in on, as "METHOD path". */
const ROUTES = [
  'GET /api/openapi.json',
  'GET /api/rooms/stats',
  'POST /api/rooms/{roomId}/emit',
  'POST /api/rooms/{roomId}/messages',
  'GET /api/rooms',
  'POST /api/rooms/create',
  'GET /api/rooms/code/{roomCode}',
  'GET /api/rooms/{roomId}',
  'POST /api/rooms/{roomId}/join',
  'DELETE /api/rooms/{roomId}/leave',
  'GET /api/rooms/{roomId}/participants',
  'GET /api/rooms/{roomId}/messages',
  'PATCH /api/rooms/{roomId}/state',
  'DELETE /api/rooms/{roomId}',
  'POST /api/rooms/{roomId}/kick',
  'DELETE /api/rooms/{roomId}/bans/{userId}',
  'POST /api/auth/guest',
];

function operations(doc: unknown): Map<string, Doc> {
  const found = new Map<string, Doc>();
  for (const [path, item] of Object.entries(at(doc, 'paths') as Record<string, Doc>)) {
    for (const [method, operation] of Object.entries(item)) {
      found.set(`${method.toUpperCase()} ${path}`, operation as Doc);
    }
  }
  return found;
}

describe('the OpenAPI document', () => {
  it('lists every route, each with an operationId, tags, summary, security and its errors', async () => {
    const spaces = await startSpaces(memoryStore);
    const answer = await call(spaces.server, 'GET', '/api/openapi.json');
    expect(answer.status).toBe(200);
    const doc = answer.body;
    const ops = operations(doc);
    expect([...ops.keys()].sort()).toEqual([...ROUTES].sort());

    const ids = [...ops.values()].map((op) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [route, op] of ops) {
      expect(typeof op.summary, route).toBe('string');
      expect(op.tags, route).toEqual([expect.stringMatching(/^(rooms|spaces|auth|meta)$/)]);
    }

    const json = ['content', 'application/json', 'schema'];
    const spacesOps = [...ops].filter(([, op]) => (op.tags as string[])[0] === 'spaces');
    expect(spacesOps).toHaveLength(12);
    for (const [route, op] of spacesOps) {
      expect(op.security, route).toEqual([{ userBearer: [] }]);
      const responses = op.responses as Record<string, Doc>;
      const success = route === 'POST /api/rooms/create' ? '201' : '200';
      expect(at(responses, success, ...json, 'required'), route).toContain('success');
      for (const status of ['401', '429']) {
        expect(at(responses, status, ...json), `${route} ${status}`).toEqual({
          $ref: '#/components/schemas/ErrorBody',
        });
        expect(at(responses, status, 'description'), route).toMatch(/`/);
      }
    }
    expect(ops.get('POST /api/auth/guest')).toMatchObject({ tags: ['auth'], security: [] });
    expect(ops.get('GET /api/openapi.json')).toMatchObject({ tags: ['meta'], security: [] });
    // The live-room routes keep the document's default security (API keys).
    expect(ops.get('GET /api/rooms/stats')?.security).toBeUndefined();
    expect(at(doc, 'security')).toEqual([{ bearerAuth: [] }, { apiKeyHeader: [] }]);
    expect(at(doc, 'components', 'securitySchemes', 'userBearer')).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
    expect(at(doc, 'info', 'description')).toMatch(/API key[\s\S]*JWT/);
    expect((at(doc, 'tags') as Array<{ name: string }>).map((t) => t.name).sort()).toEqual([
      'auth',
      'meta',
      'rooms',
      'spaces',
    ]);

    // The messages routes: GET with its query, POST with its body, on one path.
    const get = ops.get('GET /api/rooms/{roomId}/messages')!;
    expect(get.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ in: 'query', name: 'limit', required: false }),
        expect.objectContaining({ in: 'query', name: 'before', required: false }),
        expect.objectContaining({ in: 'path', name: 'roomId', required: true }),
      ]),
    );
    expect(at(ops.get('POST /api/rooms/create'), 'requestBody', ...json)).toMatchObject({
      type: 'object',
      required: ['name'],
      additionalProperties: false,
    });

    // Every $ref points at a schema the document has.
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) {
      expect(ref).toMatch(/^"\$ref":"#\/components\/schemas\/[A-Za-z]+"$/);
      const name = ref.slice('"$ref":"#/components/schemas/'.length, -1);
      expect(at(doc, 'components', 'schemas', name), ref).toBeDefined();
    }
    expect(at(doc, 'components', 'schemas', 'ErrorBody', 'required')).toEqual(['success', 'error']);
  });

  it('has no guest route when guest sign-in is off', async () => {
    const server = await startServer({ jwt: { secret: SECRET } });
    const doc = (await call(server, 'GET', '/api/openapi.json')).body;
    expect([...operations(doc).keys()]).not.toContain('POST /api/auth/guest');
    expect(operations(doc).size).toBe(ROUTES.length - 1);
  });
});

describe('GET /api/docs', () => {
  it('serves Swagger UI and its assets, public, through the room server', async () => {
    // No API key, no jwt, no Spaces: the page is still there.
    const server = await startServer();
    for (const page of ['/api/docs', '/api/docs/']) {
      const response = await fetch(`http://127.0.0.1:${server.port}${page}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await response.text();
      expect(html).toContain('<div id="swagger-ui">');
      expect(html).toContain('<title>Roomkit HTTP API</title>');
      const assets = [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]!);
      expect(assets.length).toBeGreaterThanOrEqual(5);
      for (const asset of assets) {
        const url = new URL(asset, `http://127.0.0.1:${server.port}${page}`);
        expect(url.pathname).toMatch(/^\/api\/docs\/static\//);
        const served = await fetch(url);
        expect(served.status, url.pathname).toBe(200);
        expect(served.headers.get('content-type'), url.pathname).toMatch(
          /^(text\/css|application\/javascript|text\/javascript|image\/png)/,
        );
        expect((await served.arrayBuffer()).byteLength, url.pathname).toBeGreaterThan(100);
      }
    }
    // The page loads the document from ./json: the same document.
    const spec = await call(server, 'GET', '/api/docs/json');
    expect(spec.status).toBe(200);
    expect(spec.body).toEqual((await call(server, 'GET', '/api/openapi.json')).body);
    // Files that are not there are the API's JSON 404; no escaping the directory.
    for (const path of ['/api/docs/static/nope.js', '/api/docs/static/..%2f..%2fpackage.json']) {
      const missing = await call(server, 'GET', path);
      expect(missing.status, path).toBe(404);
      expect(missing.body).toEqual(errorOf('not_found'));
    }
  });

  it('is not limited by a user’s Spaces budget', async () => {
    const spaces = await startSpaces(memoryStore, {
      spaces: { rateLimit: { max: 1, timeWindowMs: 60_000 } },
    });
    expect((await spaces.as('alice', 'GET', '/api/rooms')).status).toBe(200);
    expect((await spaces.as('alice', 'GET', '/api/rooms')).status).toBe(429);
    const token = await spaces.token('alice');
    for (const path of ['/api/docs', '/api/openapi.json', '/api/docs/json']) {
      const response = await fetch(`http://127.0.0.1:${spaces.server.port}${path}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status, path).toBe(200);
    }
    expect(
      (await call(spaces.server, 'GET', '/api/rooms/stats', { headers: { 'x-api-key': API_KEY } }))
        .status,
    ).toBe(200);
  });
});

FormatRegistry.Set('date-time', (value) =>
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(value),
);

function expectSchema(schema: TSchema, value: unknown): void {
  const errors = [...Value.Errors(schema, SPACES_SCHEMAS, value)].map(
    (e) => `${e.path} ${e.message}`,
  );
  expect(errors, JSON.stringify(value)).toEqual([]);
}

describeBackends('Spaces REST answers', (open: OpenStore) => {
  it('match the schemas the document shows', async () => {
    const spaces = await startSpaces(open);
    const created = await spaces.as('alice', 'POST', '/api/rooms/create', { body: { name: 'R' } });
    expectSchema(RoomAnswer, created.body);
    const room = created.body.room as { id: string; roomCode: string };
    await spaces.service.joinRoom('bob', room.id, 'Bob');
    await spaces.service.insertMessage('bob', room.id, 'user_text', 'hi', { a: [1] });
    await spaces.service.insertServerMessage(room.id, 'ai_response', 'hello');
    expectSchema(
      RoomAnswer,
      (await spaces.as('bob', 'GET', `/api/rooms/code/${room.roomCode}`)).body,
    );
    expectSchema(RoomAnswer, (await spaces.as('bob', 'GET', `/api/rooms/${room.id}`)).body);
    expectSchema(RoomsAnswer, (await spaces.as('bob', 'GET', '/api/rooms')).body);
    expectSchema(JoinAnswer, (await spaces.as('carol', 'POST', `/api/rooms/${room.id}/join`)).body);
    expectSchema(
      ParticipantsAnswer,
      (await spaces.as('bob', 'GET', `/api/rooms/${room.id}/participants`)).body,
    );
    const messages = await spaces.as('bob', 'GET', `/api/rooms/${room.id}/messages?limit=1`);
    expect(messages.body.nextBefore).toEqual(expect.any(Number));
    expectSchema(MessagesAnswer, messages.body);
    const state = await spaces.as('alice', 'PATCH', `/api/rooms/${room.id}/state`, {
      body: { state: { a: { b: [null, true] } } },
    });
    expectSchema(RoomAnswer, state.body);
    expectSchema(
      KickAnswer,
      (
        await spaces.as('alice', 'POST', `/api/rooms/${room.id}/kick`, {
          body: { userId: 'bob', ban: true },
        })
      ).body,
    );
    expectSchema(
      UnbanAnswer,
      (await spaces.as('alice', 'DELETE', `/api/rooms/${room.id}/bans/bob`)).body,
    );
    expectSchema(
      GuestAnswer,
      (await call(spaces.server, 'POST', '/api/auth/guest', { body: { displayName: 'G' } })).body,
    );
  });
});
