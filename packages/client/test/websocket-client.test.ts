import { describe, expect, it } from 'vitest';
import {
  type CloseInfo,
  type ConnectionStatus,
  type RealtimeMessage,
  type RoomkitError,
  WebSocketClient,
} from '../src/index.js';
import {
  connectClient,
  dropConnections,
  eventually,
  nextMessage,
  record,
  startServer,
  until,
} from './helpers.js';

const connected = (status: ConnectionStatus) => status === 'connected';

describe('WebSocketClient options', () => {
  it('has the documented defaults and does not connect until connect()', () => {
    const client = new WebSocketClient({ url: 'ws://127.0.0.1:1/rooms' });
    expect(client.status()).toBe('disconnected');
    expect(client.lastMessage()).toBeNull();
    expect(client.session()).toBeNull();
    expect(client.retry()).toBeNull();
    expect(client.onMessage).toBeNull();
  });

  it.each([
    [{}],
    [{ url: 42 }],
    [{ url: 'not a url' }],
    [{ url: 'ftp://example.com/rooms' }],
    [{ url: 'ws://x/rooms', reconnectDelay: 0 }],
    [{ url: 'ws://x/rooms', reconnectDelay: Number.NaN }],
    [{ url: 'ws://x/rooms', maxReconnectDelay: -1 }],
    [{ url: 'ws://x/rooms', heartbeatInterval: 0 }],
    [{ url: 'ws://x/rooms', connectTimeout: -5 }],
    [{ url: 'ws://x/rooms', reconnectAttempts: -1 }],
    [{ url: 'ws://x/rooms', maxQueuedMessages: Number.NaN }],
  ])('throws a TypeError for invalid options %j', (options) => {
    expect(
      () =>
        new WebSocketClient(options as unknown as ConstructorParameters<typeof WebSocketClient>[0]),
    ).toThrow(TypeError);
  });

  it('accepts http(s) URLs and the documented options', () => {
    const client = new WebSocketClient({
      url: 'https://api.example.com/ws',
      protocols: ['v1', 'v2'],
      reconnect: true,
      reconnectDelay: 1000,
      maxReconnectDelay: 30_000,
      reconnectAttempts: Number.POSITIVE_INFINITY,
      heartbeatInterval: 30_000,
      onOpen: () => {},
      onClose: () => {},
      onError: () => {},
      onMessage: () => {},
    });
    expect(client.onMessage).toBeTypeOf('function');
  });
});

describe('WebSocketClient connection', () => {
  it("goes 'connecting' → 'connected', calls onOpen, and 'disconnected' with onClose on disconnect()", async () => {
    const server = await startServer();
    const closes: CloseInfo[] = [];
    let opens = 0;
    const client = connectClient(server, 'alice', {
      onOpen: () => {
        opens += 1;
      },
      onClose: (event) => closes.push(event),
    });
    const statuses = record(client.status);
    expect(client.status()).toBe('connecting');
    await until(client.status, connected);
    expect(opens).toBe(1);
    expect(client.session()).toMatchObject({ userId: 'alice', displayName: 'alice' });
    expect(client.lastMessage()?.type).toBe('welcome');
    client.disconnect();
    expect(client.status()).toBe('disconnected');
    expect(client.session()).toBeNull();
    expect(statuses.values).toEqual(['connecting', 'connected', 'disconnected']);
    expect(closes).toEqual([{ code: 1000, reason: 'client disconnected', wasClean: true }]);
  });

  it("shows 'reconnecting' after a drop and calls onOpen again", async () => {
    const server = await startServer();
    let opens = 0;
    const client = connectClient(server, 'alice', {
      onOpen: () => {
        opens += 1;
      },
    });
    client.room('r').membership().join();
    await until(client.room('r').isJoined, Boolean);
    const statuses = record(client.status);
    dropConnections(server, 'alice');
    await until(client.status, (status) => status === 'reconnecting');
    await until(client.status, connected);
    expect(statuses.values).toEqual(['connected', 'reconnecting', 'connected']);
    expect(opens).toBe(2);
  });

  it('sends params (an object, or a sync or async function called per attempt) as the query', async () => {
    const server = await startServer();
    const a = connectClient(server, 'ignored', { params: { userId: 'obj', displayName: 'Obj' } });
    const b = connectClient(server, 'ignored', { params: () => ({ userId: 'sync' }) });
    let calls = 0;
    const c = connectClient(server, 'ignored', {
      params: async () => {
        calls += 1;
        await Promise.resolve();
        return { userId: `async-${calls}` };
      },
    });
    await until(a.session, Boolean);
    await until(b.session, Boolean);
    await until(c.session, Boolean);
    expect(a.session()).toMatchObject({ userId: 'obj', displayName: 'Obj' });
    expect(b.session()?.userId).toBe('sync');
    expect(c.session()?.userId).toBe('async-1');
    c.room('r').membership().join();
    await until(c.room('r').isJoined, Boolean);
    dropConnections(server, 'async-1');
    await until(c.session, (session) => session?.userId === 'async-2');
  });

  it('keeps a query string already in the url', async () => {
    const server = await startServer();
    const client = new WebSocketClient({
      url: `ws://127.0.0.1:${server.port}/rooms?userId=from-url`,
      params: { displayName: 'Named' },
    });
    client.connect();
    await until(client.session, Boolean);
    expect(client.session()).toMatchObject({ userId: 'from-url', displayName: 'Named' });
    client.disconnect();
  });

  it('connect() twice opens one connection', async () => {
    const server = await startServer();
    let upgrades = 0;
    server.httpServer.on('upgrade', () => {
      upgrades += 1;
    });
    const client = connectClient(server, 'alice');
    client.connect();
    await until(client.status, connected);
    client.connect();
    expect(upgrades).toBe(1);
  });
});

describe('WebSocketClient messages', () => {
  it('send(type, payload, room) reaches the others as {type, payload, room, from, timestamp}', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    await alice.room('r').membership().join();
    await bob.room('r').membership().join();
    const received = nextMessage<{ text: string }>(bob, 'chat:message');
    const before = Date.now();
    alice.send('chat:message', { text: 'Hello!' }, 'r');
    const [payload, message] = await received;
    expect(payload).toEqual({ text: 'Hello!' });
    expect(message).toEqual({
      type: 'chat:message',
      payload: { text: 'Hello!' },
      room: 'r',
      from: 'alice',
      timestamp: expect.any(Number),
    });
    expect(message.timestamp).toBeGreaterThanOrEqual(before - 1000);
    expect(bob.lastMessage()).toEqual(message);
  });

  it('on() returns an unsubscribe; onMessage works as option and as property', async () => {
    const server = await startServer();
    const seenByOption: string[] = [];
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob', { onMessage: (m) => seenByOption.push(m.type) });
    await alice.room('r').membership().join();
    await bob.room('r').membership().join();
    const byHandler: unknown[] = [];
    const off = bob.on('ping', (payload) => byHandler.push(payload));
    alice.send('ping', 1, 'r');
    await nextMessage(bob, 'ping');
    expect(seenByOption).toContain('ping');
    off();
    const byProperty: RealtimeMessage[] = [];
    bob.onMessage = (message) => byProperty.push(message);
    alice.send('ping', 2, 'r');
    await nextMessage(bob, 'ping');
    expect(byHandler).toEqual([1]);
    expect(byProperty.map((m) => m.payload)).toEqual([2]);
    expect(seenByOption.filter((type) => type === 'ping')).toHaveLength(1);
  });

  it('a throwing handler is reported to onError and does not stop the others', async () => {
    const server = await startServer();
    const errors: Error[] = [];
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob', { onError: (e) => errors.push(e) });
    await alice.room('r').membership().join();
    await bob.room('r').membership().join();
    bob.on('ping', () => {
      throw new Error('app bug');
    });
    const second = nextMessage(bob, 'ping');
    alice.send('ping', null, 'r');
    await second;
    expect(errors.map((e) => e.message)).toContain('app bug');
    expect(bob.status()).toBe('connected');
  });

  it('reports server refusals to onError with their code', async () => {
    const server = await startServer();
    const errors: RoomkitError[] = [];
    const client = connectClient(server, 'alice', {
      onError: (error) => errors.push(error as RoomkitError),
    });
    await until(client.status, connected);
    client.send('room:bogus', {});
    await eventually(() => errors.length > 0, 5000, 'an error');
    expect(errors[0]).toMatchObject({ name: 'RoomkitError', code: 'reserved_type' });
  });

  it('queues messages sent while disconnected and delivers them after the reconnect and rejoin', async () => {
    const server = await startServer();
    const errors: Error[] = [];
    const alice = connectClient(server, 'alice', { onError: (e) => errors.push(e) });
    const bob = connectClient(server, 'bob');
    await alice.room('r').membership().join();
    await bob.room('r').membership().join();
    const got: number[] = [];
    bob.on<number>('n', (n) => got.push(n));
    dropConnections(server, 'alice');
    await until(alice.status, (status) => status !== 'connected');
    alice.send('n', 1, 'r');
    alice.send('n', 2, 'r');
    const last = nextMessage<number>(bob, 'n', (n) => n === 2);
    await last;
    expect(got).toEqual([1, 2]);
    expect(errors.filter((e) => (e as RoomkitError).code === 'not_in_room')).toEqual([]);
  });

  it('bounds the queue: the oldest messages go, reported as queue_full', async () => {
    const server = await startServer();
    const errors: RoomkitError[] = [];
    const peer = connectClient(server, 'bob');
    await peer.room('r').membership().join();
    const alice = new WebSocketClient({
      url: `ws://127.0.0.1:${server.port}/rooms/r`,
      params: { userId: 'alice' },
      maxQueuedMessages: 2,
      onError: (error) => errors.push(error as RoomkitError),
    });
    // Before connect(): the default (path) room gets them, no room field needed.
    alice.send('n', 1);
    alice.send('n', 2);
    alice.send('n', 3);
    expect(errors.map((e) => e.code)).toEqual(['queue_full']);
    const got: number[] = [];
    peer.on<number>('n', (n) => got.push(n));
    alice.connect();
    await nextMessage<number>(peer, 'n', (n) => n === 3);
    expect(got).toEqual([2, 3]);
    alice.disconnect();
  });

  it('maxQueuedMessages: 0 keeps nothing while disconnected', async () => {
    const server = await startServer();
    const errors: RoomkitError[] = [];
    const peer = connectClient(server, 'bob');
    await peer.room('r').membership().join();
    const alice = new WebSocketClient({
      url: `ws://127.0.0.1:${server.port}/rooms/r`,
      params: { userId: 'alice' },
      maxQueuedMessages: 0,
      onError: (error) => errors.push(error as RoomkitError),
    });
    alice.send('n', 1);
    expect(errors.map((e) => e.code)).toEqual(['queue_full']);
    const got: number[] = [];
    peer.on<number>('n', (n) => got.push(n));
    alice.connect();
    await until(alice.status, connected);
    alice.send('n', 2);
    await nextMessage<number>(peer, 'n', (n) => n === 2);
    expect(got).toEqual([2]);
    alice.disconnect();
  });
});

describe('WebSocketClient heartbeat', () => {
  it('sends heartbeat at the interval and the server sees the connection active', async () => {
    const server = await startServer();
    const client = connectClient(server, 'alice', { heartbeatInterval: 40 });
    await client.room('r').membership().join();
    const connection = [...server.getRoomManager().get('r')!.connections.values()][0]!;
    const first = connection.session.lastHeartbeat;
    await eventually(() => connection.session.lastHeartbeat > first, 2000, 'a heartbeat');
    const second = connection.session.lastHeartbeat;
    await eventually(() => connection.session.lastHeartbeat > second, 2000, 'another heartbeat');
    // Heartbeat acks are the client's own business: the app never sees them.
    expect(client.lastMessage()?.type).not.toBe('ack');
  });

  it('uses the server interval when it is shorter', async () => {
    const server = await startServer({
      heartbeat: { intervalMs: 50, checkIntervalMs: 25, timeoutMs: 5000 },
    });
    const client = connectClient(server, 'alice');
    await client.room('r').membership().join();
    expect(client.session()?.heartbeatIntervalMs).toBe(50);
    const connection = [...server.getRoomManager().get('r')!.connections.values()][0]!;
    const first = connection.session.lastHeartbeat;
    await eventually(() => connection.session.lastHeartbeat > first, 2000, 'a heartbeat');
  });
});
