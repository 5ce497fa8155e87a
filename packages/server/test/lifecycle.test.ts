import { describe, expect, it } from 'vitest';
import { RoomServer } from '../src/index.js';
import {
  connect,
  join,
  nodesOf,
  type Received,
  startServer,
  type TestClient,
  upgradeStatus,
  waitUntil,
  wsUrl,
} from './helpers.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function connectionIdOf(client: TestClient): string {
  return client.all('welcome')[0]!.connectionId as string;
}

function stateKeys(message: Received | undefined): string[] {
  return Object.keys((message?.states ?? {}) as Record<string, unknown>);
}

describe('cleanup grace', () => {
  it('keeps the room and its live state when someone rejoins within the grace', async () => {
    // A long grace: the test never waits for it, so the rejoin is certainly inside it.
    const server = await startServer({ roomConfig: { cleanupTimeoutMs: 10_000 } });
    const rooms = server.getRoomManager();
    const alice = await join(server, 'grace', 'alice');
    await alice.request({ type: 'state:update', key: 'title', value: 'Draft' });
    const room = rooms.get('grace');

    await alice.close();
    await waitUntil(() => rooms.hasPendingCleanup('grace'), 3000, 'cleanup scheduled');
    expect(rooms.get('grace')).toBe(room);
    expect(room?.size).toBe(0);

    const bob = await join(server, 'grace', 'bob');
    expect(bob.all('state:init')[0]).toMatchObject({
      states: { title: { value: 'Draft', userId: 'alice' } },
    });
    expect(rooms.get('grace')).toBe(room);
    expect(rooms.hasPendingCleanup('grace')).toBe(false);
  });

  it('removes the empty room after the grace; a later join starts fresh', async () => {
    const server = await startServer({ roomConfig: { cleanupTimeoutMs: 50 } });
    const rooms = server.getRoomManager();
    const alice = await join(server, 'brief', 'alice');
    await alice.request({ type: 'state:update', key: 'title', value: 'Draft' });
    const room = rooms.get('brief');

    await alice.close();
    await waitUntil(() => rooms.get('brief') === undefined, 3000, 'room removed');
    expect(rooms.roomCount).toBe(0);
    expect(rooms.hasPendingCleanup('brief')).toBe(false);

    const bob = await join(server, 'brief', 'bob');
    expect(stateKeys(bob.all('state:init')[0])).toEqual([]);
    expect(rooms.get('brief')).not.toBe(room);
  });

  it('does not schedule cleanup while anyone is still in the room', async () => {
    const server = await startServer({ roomConfig: { cleanupTimeoutMs: 50 } });
    const rooms = server.getRoomManager();
    const alice = await join(server, 'busy', 'alice');
    const bob = await join(server, 'busy', 'bob');
    await bob.close();
    await waitUntil(() => rooms.get('busy')?.size === 1, 3000, 'bob gone');
    expect(rooms.hasPendingCleanup('busy')).toBe(false);

    // Sentinel: a room emptied later than bob left expires; the busy room must still be there.
    const other = await join(server, 'sentinel', 'sam');
    await other.close();
    await waitUntil(() => rooms.get('sentinel') === undefined, 3000, 'sentinel room removed');
    expect(rooms.get('busy')?.size).toBe(1);
    expect((await alice.request({ type: 'room:list' })).rooms).toEqual(['busy']);
  });

  it('a cleanup timeout of 0 removes the room as soon as it empties', async () => {
    const server = await startServer({ roomConfig: { cleanupTimeoutMs: 0 } });
    const rooms = server.getRoomManager();
    const alice = await join(server, 'instant', 'alice');
    await alice.close();
    await waitUntil(() => rooms.get('instant') === undefined, 3000, 'room removed');
  });
});

describe('RoomManager', () => {
  it('getOrCreate, get, all, roomCount and remove', async () => {
    const server = await startServer();
    const rooms = server.getRoomManager();
    expect(rooms.roomCount).toBe(0);
    expect(rooms.get('a')).toBeUndefined();

    const a = rooms.getOrCreate('a');
    const b = rooms.getOrCreate('b');
    expect(a.id).toBe('a');
    expect(rooms.getOrCreate('a')).toBe(a);
    expect(rooms.get('a')).toBe(a);
    expect(rooms.get('b')).toBe(b);
    expect([...rooms.all()].map((r) => r.id).sort()).toEqual(['a', 'b']);
    expect(rooms.roomCount).toBe(2);
    expect(rooms.getRoomCount()).toBe(2);

    rooms.remove('a');
    expect(rooms.get('a')).toBeUndefined();
    expect(rooms.roomCount).toBe(1);
    expect(() => rooms.remove('never-existed')).not.toThrow();
    expect(rooms.getOrCreate('a')).not.toBe(a);
  });

  it('a room created by getOrCreate is the one a client joins', async () => {
    const server = await startServer();
    const rooms = server.getRoomManager();
    const room = rooms.getOrCreate('prepared');
    room.liveState.set('seed', { value: 42, timestamp: 1, userId: 'server' });
    const alice = await join(server, 'prepared', 'alice');
    expect(alice.all('state:init')[0]).toMatchObject({ states: { seed: { value: 42 } } });
    expect(room.size).toBe(1);
  });

  it('scheduleCleanup removes an empty room after the delay', async () => {
    const server = await startServer();
    const rooms = server.getRoomManager();
    rooms.getOrCreate('doomed');
    rooms.scheduleCleanup('doomed', 20);
    expect(rooms.hasPendingCleanup('doomed')).toBe(true);
    await waitUntil(() => rooms.get('doomed') === undefined, 3000, 'room removed');
    expect(rooms.hasPendingCleanup('doomed')).toBe(false);
  });

  it('getOrCreate cancels a pending cleanup', async () => {
    const server = await startServer();
    const rooms = server.getRoomManager();
    const kept = rooms.getOrCreate('kept');
    rooms.getOrCreate('sentinel');
    rooms.scheduleCleanup('kept', 20);
    expect(rooms.getOrCreate('kept')).toBe(kept);
    expect(rooms.hasPendingCleanup('kept')).toBe(false);
    // Timers of equal delay fire in order: once the later one ran, the cancelled one would have.
    rooms.scheduleCleanup('sentinel', 20);
    await waitUntil(() => rooms.get('sentinel') === undefined, 3000, 'sentinel removed');
    expect(rooms.get('kept')).toBe(kept);
  });

  it('remove cancels a pending cleanup, so it cannot remove a newer room of that id', async () => {
    const server = await startServer();
    const rooms = server.getRoomManager();
    rooms.getOrCreate('reborn');
    rooms.getOrCreate('sentinel');
    rooms.scheduleCleanup('reborn', 20);
    rooms.remove('reborn');
    expect(rooms.hasPendingCleanup('reborn')).toBe(false);
    const newer = rooms.getOrCreate('reborn');
    rooms.scheduleCleanup('sentinel', 20);
    await waitUntil(() => rooms.get('sentinel') === undefined, 3000, 'sentinel removed');
    expect(rooms.get('reborn')).toBe(newer);
  });

  it('remove() of a room with members does not let them talk into a later room of that id', async () => {
    const server = await startServer();
    const rooms = server.getRoomManager();
    const alice = await join(server, 'reused', 'alice');
    rooms.remove('reused');
    expect(rooms.get('reused')).toBeUndefined();

    const bob = await join(server, 'reused', 'bob');
    expect(rooms.getUsers('reused')).toEqual(['bob']);
    // Whatever alice is told (ack or error), the server has handled her message once she hears back.
    await alice.request({ type: 'chat', text: 'from a removed room' });
    server.broadcastToRoom('reused', JSON.stringify({ type: 'sentinel' }));
    await bob.next('sentinel');
    expect(bob.all('chat')).toEqual([]);
  });

  it('a cleanup that comes due while the room has members leaves it alone', async () => {
    const server = await startServer();
    const rooms = server.getRoomManager();
    const alice = await join(server, 'occupied', 'alice');
    rooms.getOrCreate('sentinel');
    rooms.scheduleCleanup('occupied', 20);
    rooms.scheduleCleanup('sentinel', 20);
    await waitUntil(() => rooms.get('sentinel') === undefined, 3000, 'sentinel removed');
    expect(rooms.get('occupied')?.size).toBe(1);
    const bob = await join(server, 'occupied', 'bob');
    bob.send({ type: 'ping' });
    expect(await alice.next('ping')).toMatchObject({ from: 'bob' });
  });

  it('answers membership queries: getUsers, getRooms, isInRoom, getRoomCount, getUserCount', async () => {
    const server = await startServer();
    const rooms = server.getRoomManager();
    await join(server, 'r1', 'alice');
    await join(server, 'r1', 'alice');
    await join(server, 'r2', 'alice');
    const bob = await join(server, 'r1', 'bob');

    expect(rooms.getUsers('r1').sort()).toEqual(['alice', 'bob']);
    expect(rooms.getUsers('r2')).toEqual(['alice']);
    expect(rooms.getUsers('nowhere')).toEqual([]);
    expect(rooms.getUserCount('r1')).toBe(2);
    expect(rooms.get('r1')?.size).toBe(3);
    expect(rooms.getUserCount('nowhere')).toBe(0);
    expect(rooms.getRooms('alice').sort()).toEqual(['r1', 'r2']);
    expect(rooms.getRooms('bob')).toEqual(['r1']);
    expect(rooms.getRooms('nobody')).toEqual([]);
    expect(rooms.isInRoom('r1', 'bob')).toBe(true);
    expect(rooms.isInRoom('r2', 'bob')).toBe(false);
    expect(rooms.isInRoom('nowhere', 'alice')).toBe(false);
    expect(rooms.getRoomCount()).toBe(2);

    await bob.close();
    await waitUntil(() => !rooms.isInRoom('r1', 'bob'), 3000, 'bob gone');
    expect(rooms.getUsers('r1')).toEqual(['alice']);
    expect(rooms.getRooms('bob')).toEqual([]);
    expect(rooms.getUserCount('r1')).toBe(1);
  });
});

describe('broadcastToRoom', () => {
  it('delivers the data to every member and returns true', async () => {
    const server = await startServer();
    const alice = await join(server, 'news', 'alice');
    const bob = await join(server, 'news', 'bob');
    const data = JSON.stringify({ type: 'notice', text: 'restart in 5 minutes' });
    expect(server.broadcastToRoom('news', data)).toBe(true);
    for (const client of [alice, bob]) {
      expect(await client.next('notice')).toEqual({
        type: 'notice',
        text: 'restart in 5 minutes',
      });
    }
  });

  it('skips the connections in excludeIds', async () => {
    const server = await startServer();
    const alice = await join(server, 'news', 'alice');
    const bob = await join(server, 'news', 'bob');
    const carol = await join(server, 'news', 'carol');
    const excluded = [connectionIdOf(alice), connectionIdOf(carol)];
    expect(server.broadcastToRoom('news', JSON.stringify({ type: 'secret' }), excluded)).toBe(true);
    await bob.next('secret');
    expect(server.broadcastToRoom('news', JSON.stringify({ type: 'sentinel' }))).toBe(true);
    for (const client of [alice, carol]) {
      await client.next('sentinel');
      expect(client.all('secret')).toHaveLength(0);
    }
  });

  it('returns false for a room that does not exist, and delivers nothing', async () => {
    const server = await startServer();
    const alice = await join(server, 'real', 'alice');
    expect(server.broadcastToRoom('imaginary', JSON.stringify({ type: 'ghost' }))).toBe(false);
    expect(server.getRoomManager().get('imaginary')).toBeUndefined();
    server.broadcastToRoom('real', JSON.stringify({ type: 'sentinel' }));
    await alice.next('sentinel');
    expect(alice.all('ghost')).toHaveLength(0);
  });
});

describe('stop()', () => {
  it('closes every client with 1001 and fires onLeave for each membership', async () => {
    const left: string[] = [];
    const server = await startServer({
      onLeave: (roomId, user) => {
        left.push(`${roomId}/${user.userId}`);
      },
    });
    const clients = [
      await join(server, 'r1', 'alice'),
      await join(server, 'r1', 'bob'),
      await join(server, 'r2', 'carol'),
      await connect(server, '/rooms', 'userId=dora'),
    ];
    await clients[3]!.request({ type: 'room:join', room: 'r2' });

    // Every node of the cluster (each closes its own clients); one node alone otherwise.
    await Promise.all(nodesOf(server).map((node) => node.stop()));
    expect(left.sort()).toEqual(['r1/alice', 'r1/bob', 'r2/carol', 'r2/dora']);
    const closes = await Promise.all(clients.map((c) => c.closed));
    expect(closes.map((c) => c.code)).toEqual([1001, 1001, 1001, 1001]);
    expect(new Set(closes.map((c) => c.reason))).toEqual(new Set(['server shutting down']));
    expect(server.port).toBe(-1);
    expect(server.getRoomManager().roomCount).toBe(0);
  });

  it('can be called twice, at once and afterwards', async () => {
    const server = await startServer();
    const alice = await join(server, 'twice', 'alice');
    await Promise.all([server.stop(), server.stop()]);
    await server.stop();
    expect(server.port).toBe(-1);
    expect((await alice.closed).code).toBe(1001);
  });

  it('refuses new connections once stopped, and cannot be restarted', async () => {
    const server = await startServer();
    const url = wsUrl(server, '/rooms/after');
    expect((await upgradeStatus(url)).status).toBe(101);
    await server.stop();
    await expect(upgradeStatus(url)).rejects.toThrow(/ECONNREFUSED/);
    await expect(server.start(0)).rejects.toThrow();
    expect(server.getRoomManager().get('after')).toBeUndefined();
  });

  it('answers 503 shutting_down to an upgrade whose auth finishes after stop() began', async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let authenticating = 0;
    const server = await startServer({
      auth: {
        async authenticate() {
          authenticating++;
          await gate;
          return { userId: 'late', displayName: 'Late' };
        },
      },
    });
    const pending = upgradeStatus(wsUrl(server, '/rooms/late'));
    let stopped: Promise<void> | undefined;
    try {
      await waitUntil(() => authenticating === 1, 3000, 'upgrade in auth');
      stopped = server.stop();
    } finally {
      release();
    }
    const result = await pending;
    expect(result.status).toBe(503);
    expect(JSON.parse(result.body)).toMatchObject({ error: { code: 'shutting_down' } });
    await stopped;
    expect(server.getRoomManager().get('late')).toBeUndefined();
  });

  it('reports port -1 before start, and stop() before start resolves', async () => {
    const server = new RoomServer({ logger: silent });
    expect(server.port).toBe(-1);
    await server.stop();
    expect(server.port).toBe(-1);
  });
});
