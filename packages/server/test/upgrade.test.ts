import type { IncomingMessage } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { AuthHandler, AuthResult, PresenceUser, RoomServer } from '../src/index.js';
import {
  connect,
  join,
  startServer,
  TestClient,
  upgradeStatus,
  waitUntil,
  wsUrl,
} from './helpers.js';

/** Fails fast instead of at the test timeout when the server never answers. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** An upgrade's HTTP status and parsed JSON error body; never hangs. */
async function refusal(url: string, options: WebSocket.ClientOptions = {}) {
  const { status, body } = await within(upgradeStatus(url, options), 2000, url);
  const parsed = body ? (JSON.parse(body) as { error?: { code?: string } }) : {};
  return { status, code: parsed.error?.code };
}

/**
 * Attempts an upgrade and keeps the socket open when it is accepted, so the seat stays taken.
 * Accepted clients are closed by the helpers after the test.
 */
function attempt(
  url: string,
  options: WebSocket.ClientOptions = {},
): Promise<{ status: number; client: TestClient | null }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    const client = new TestClient(ws);
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, client: null });
      ws.terminate();
    });
    ws.once('open', () => resolve({ status: 101, client }));
    ws.once('error', (error) => {
      if (!String(error.message).includes('Unexpected server response')) reject(error);
    });
  });
}

/** Lets a request in when it carries `x-user`, otherwise answers as `refuse` does. */
function authWith(refuse: () => ReturnType<AuthHandler['authenticate']>): AuthHandler {
  return {
    authenticate: (req) => {
      const user = req.headers['x-user'];
      if (typeof user === 'string') return { userId: user, displayName: user.toUpperCase() };
      return refuse();
    },
  };
}

const malformed = (value: unknown) => value as AuthResult;

describe('auth at upgrade', () => {
  it.each([
    { why: 'returns null', refuse: () => null },
    { why: 'resolves null', refuse: async () => null },
    {
      why: 'throws',
      refuse: (): AuthResult => {
        throw new Error('bad token');
      },
    },
    {
      why: 'rejects',
      refuse: async (): Promise<AuthResult> => {
        throw new Error('bad token');
      },
    },
    { why: 'never answers', refuse: () => new Promise<AuthResult>(() => {}) },
    { why: 'returns no userId', refuse: () => malformed({ displayName: 'X' }) },
    { why: 'returns a numeric userId', refuse: () => malformed({ userId: 7, displayName: 'X' }) },
    { why: 'returns an empty userId', refuse: () => malformed({ userId: '', displayName: 'X' }) },
    { why: 'returns no displayName', refuse: () => malformed({ userId: 'x' }) },
    { why: 'returns a string', refuse: () => malformed('alice') },
  ])('answers 401 when the handler $why, and keeps serving', async ({ refuse }) => {
    const server = await startServer({
      auth: authWith(refuse),
      limits: { authTimeoutMs: 50 },
    });
    expect(await refusal(wsUrl(server, '/rooms/guarded', 'userId=alice'))).toEqual({
      status: 401,
      code: 'unauthorized',
    });
    expect(server.getRoomManager().get('guarded')).toBeUndefined();

    const ok = await connect(server, '/rooms/guarded', '', { headers: { 'x-user': 'alice' } });
    expect(ok.all('welcome')[0]).toMatchObject({ userId: 'alice', displayName: 'ALICE' });
  });

  it('ignores userId and displayName in the query string when auth is configured', async () => {
    const server = await startServer({ auth: authWith(() => null) });
    const client = await connect(server, '/rooms/r', 'userId=mallory&displayName=Mallory', {
      headers: { 'x-user': 'real' },
    });
    const presence = await client.next('presence');
    expect(client.all('welcome')[0]).toMatchObject({ userId: 'real', displayName: 'REAL' });
    expect((presence.users as PresenceUser[]).map((u) => u.userId)).toEqual(['real']);
    expect(server.getRoomManager().isInRoom('r', 'mallory')).toBe(false);
  });
});

describe('identity without auth', () => {
  it('generates a guest userId when none is given', async () => {
    const server = await startServer();
    const first = await connect(server, '/rooms/guests');
    const second = await connect(server, '/rooms/guests');
    const ids = [first, second].map((c) => c.all('welcome')[0]!.userId as string);
    for (const [i, client] of [first, second].entries()) {
      expect(ids[i]).toMatch(/^guest-.+/);
      expect(client.all('welcome')[0]!.displayName).toEqual(expect.any(String));
    }
    expect(ids[0]).not.toBe(ids[1]);
    await waitUntil(() => server.getRoomManager().getUserCount('guests') === 2);
    expect(server.getRoomManager().getUsers('guests').sort()).toEqual([...ids].sort());
  });

  it.each([
    `userId=${'u'.repeat(129)}`,
    'userId=',
    `userId=ok&displayName=${'d'.repeat(129)}`,
    'userId=ok&displayName=',
    'userId=server',
  ])('refuses the query identity %s with 400 bad_request', async (query) => {
    const server = await startServer();
    expect(await refusal(wsUrl(server, '/rooms/r', query))).toEqual({
      status: 400,
      code: 'bad_request',
    });
  });
});

it('refuses an auth result holding the reserved userId "server" (the sender of server broadcasts) with 401', async () => {
  const server = await startServer({
    auth: { authenticate: () => ({ userId: 'server', displayName: 'Mallory' }) },
  });
  expect(await refusal(wsUrl(server, '/rooms/r'))).toEqual({ status: 401, code: 'unauthorized' });
});

describe('room capacity', () => {
  it('answers 503 room_full at roomConfig.maxConnections, per room, and frees seats on leave', async () => {
    const server = await startServer({ roomConfig: { maxConnections: 2 } });
    const alice = await join(server, 'small', 'alice');
    await join(server, 'small', 'bob');

    expect(await refusal(wsUrl(server, '/rooms/small', 'userId=carol'))).toEqual({
      status: 503,
      code: 'room_full',
    });
    expect(server.getRoomManager().get('small')?.size).toBe(2);
    await join(server, 'other', 'carol');

    await alice.close();
    await waitUntil(() => server.getRoomManager().get('small')?.size === 1, 3000, 'alice gone');
    const carol = await join(server, 'small', 'carol');
    expect(carol.closeCode).toBeNull();
  });

  it('never overfills a room when upgrades finish auth at the same moment', async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let authenticating = 0;
    let largest = 0;
    const server: RoomServer = await startServer({
      roomConfig: { maxConnections: 3 },
      auth: {
        async authenticate(req) {
          authenticating++;
          await gate;
          const userId = String(req.headers['x-user']);
          return { userId, displayName: userId };
        },
      },
      onJoin: (roomId) => {
        largest = Math.max(largest, server.getRoomManager().get(roomId)?.size ?? 0);
      },
    });
    const url = wsUrl(server, '/rooms/rush');
    const attempts = Array.from({ length: 10 }, (_, i) =>
      attempt(url, { headers: { 'x-user': `u${i}` } }),
    );
    try {
      await waitUntil(() => authenticating === 10, 3000, 'all ten upgrades in auth');
    } finally {
      release();
    }
    const results = await Promise.all(attempts);

    const accepted = results.flatMap((r) => (r.client ? [r.client] : []));
    expect(results.filter((r) => r.status === 503)).toHaveLength(7);
    expect(accepted).toHaveLength(3);
    for (const client of accepted) await client.next('state:init');
    expect(accepted.every((c) => c.all('error').length === 0 && c.closeCode === null)).toBe(true);
    expect(server.getRoomManager().get('rush')?.size).toBe(3);
    expect(largest).toBe(3);
  });

  it('never overfills a room under concurrent upgrades without auth', async () => {
    const server = await startServer({ roomConfig: { maxConnections: 2 } });
    const url = wsUrl(server, '/rooms/rush');
    const results = await Promise.all(Array.from({ length: 8 }, () => attempt(url)));
    expect(results.filter((r) => r.status === 101)).toHaveLength(2);
    expect(results.filter((r) => r.status === 503)).toHaveLength(6);
    await waitUntil(() => server.getRoomManager().get('rush')?.size === 2);
  });

  it('does not keep a seat for a handshake the WebSocket layer refuses', async () => {
    const server = await startServer({ roomConfig: { maxConnections: 1 } });
    const socket = tcpConnect(server.port, '127.0.0.1');
    const response = await within(
      new Promise<string>((resolve, reject) => {
        socket.once('connect', () => {
          socket.write(
            'GET /rooms/one HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n' +
              'Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: bad\r\n\r\n',
          );
        });
        let text = '';
        socket.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      }),
      2000,
      'bad handshake',
    ).finally(() => socket.destroy());
    expect(response).toMatch(/^HTTP\/1\.1 400/);
    // The seat comes back when the refused socket closes; a leaked seat would keep answering 503.
    const url = wsUrl(server, '/rooms/one');
    let status = 0;
    for (const deadline = Date.now() + 2000; status !== 101 && Date.now() < deadline; ) {
      status = (await upgradeStatus(url)).status;
    }
    expect(status).toBe(101);
  });

  it('refuses room:join into a full room with room_full', async () => {
    const server = await startServer({ roomConfig: { maxConnections: 1 } });
    await join(server, 'solo', 'alice');
    const bare = await connect(server, '/rooms', 'userId=bob');
    const reply = await bare.request({ type: 'room:join', room: 'solo' });
    expect(reply).toMatchObject({ type: 'error', code: 'room_full' });
    expect(server.getRoomManager().get('solo')?.size).toBe(1);
  });
});

describe('allowed origins', () => {
  it('answers 403 to an origin not on the list, before running auth', async () => {
    let authCalls = 0;
    const server = await startServer({
      allowedOrigins: ['https://app.example.com'],
      auth: {
        authenticate: () => {
          authCalls++;
          return { userId: 'u', displayName: 'U' };
        },
      },
    });
    const result = await refusal(wsUrl(server, '/rooms/r'), {
      origin: 'https://evil.example.com',
    });
    expect(result).toEqual({ status: 403, code: 'origin_not_allowed' });
    expect(authCalls).toBe(0);
  });

  it('accepts a listed origin, and a request without an Origin header', async () => {
    const server = await startServer({ allowedOrigins: ['https://app.example.com'] });
    const url = wsUrl(server, '/rooms/r');
    expect((await upgradeStatus(url, { origin: 'https://app.example.com' })).status).toBe(101);
    expect((await upgradeStatus(url)).status).toBe(101);
    expect((await upgradeStatus(url, { origin: 'https://app.example.com.evil' })).status).toBe(403);
  });

  it('accepts any origin when allowedOrigins is not set', async () => {
    const server = await startServer();
    const url = wsUrl(server, '/rooms/r');
    expect((await upgradeStatus(url, { origin: 'https://anywhere.example' })).status).toBe(101);
  });
});

describe('paths', () => {
  it.each(['/nope', '/rooms/a/b', '/roomsx', '/', '/ROOMS/r'])(
    'answers 404 (and does not hang) for %s',
    async (path) => {
      const server = await startServer();
      expect(await refusal(wsUrl(server, path))).toEqual({ status: 404, code: 'not_found' });
    },
  );

  it.each([
    '/rooms/-dash-first',
    '/rooms/has%20space',
    `/rooms/${'a'.repeat(129)}`,
    '/rooms/%E0%A4%A',
    '/rooms/%2Fslash',
    '/rooms/semi;colon',
  ])('answers 400 invalid_room_id for %s', async (path) => {
    const server = await startServer();
    expect(await refusal(wsUrl(server, path))).toEqual({
      status: 400,
      code: 'invalid_room_id',
    });
    expect(server.getRoomManager().roomCount).toBe(0);
  });

  it('accepts every character of the room id alphabet, percent-encoded or not', async () => {
    const server = await startServer();
    const id = `A-z_0.9:x@y~${'b'.repeat(116)}`;
    expect(id).toHaveLength(128);
    const client = await connect(server, `/rooms/${id}`);
    expect(client.all('welcome')[0]).toMatchObject({ room: id });
    const encoded = await connect(server, '/rooms/caf%65');
    expect(encoded.all('welcome')[0]).toMatchObject({ room: 'cafe' });
  });

  it('serves rooms under a configured path only', async () => {
    const server = await startServer({ path: '/ws/' });
    const client = await connect(server, '/ws/doc-1');
    expect(client.all('welcome')[0]).toMatchObject({ room: 'doc-1' });
    expect((await refusal(wsUrl(server, '/rooms/doc-1'))).status).toBe(404);
  });
});

describe('the bare path', () => {
  it.each(['/rooms', '/rooms/'])('%s connects with no default room', async (path) => {
    const server = await startServer();
    const client = await connect(server, path, 'userId=bea');
    expect(client.all('welcome')[0]).toMatchObject({ type: 'welcome', userId: 'bea', room: null });

    const appMessage = await client.request({ type: 'chat', text: 'hi' });
    expect(appMessage).toMatchObject({ type: 'error', code: 'room_required' });
    const state = await client.request({ type: 'state:update', key: 'k', value: 1 });
    expect(state).toMatchObject({ type: 'error', code: 'room_required' });
    expect(client.all('presence')).toHaveLength(0);
    expect(client.all('state:init')).toHaveLength(0);
    expect(server.getRoomManager().roomCount).toBe(0);

    await client.request({ type: 'room:join', room: 'later' });
    expect(server.getRoomManager().isInRoom('later', 'bea')).toBe(true);
  });
});
