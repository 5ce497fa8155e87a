import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { colorForUser, type RoomServer, type ServerConfig } from '../src/index.js';
import {
  connect,
  join,
  presenceWith,
  type Received,
  sentinel,
  startServer,
  type TestClient,
  usersOf,
  waitUntil,
} from './helpers.js';

/** Client heartbeat loops, stopped after each test. */
const timers = new Set<NodeJS.Timeout>();
afterEach(() => {
  for (const timer of timers) clearInterval(timer);
  timers.clear();
});

const isEvent = (m: Received) => m.type === 'room:user:joined' || m.type === 'room:user:left';

/** The room events a client received, as `joined:<user>` / `left:<user>` (of `room`, if given). */
function eventsOf(client: TestClient, room?: string): string[] {
  return client.received
    .filter((m) => isEvent(m) && (room === undefined || m.room === room))
    .map((m) =>
      m.type === 'room:user:joined'
        ? `joined:${(m.payload as { userId: string }).userId}`
        : `left:${m.payload as string}`,
    );
}

/** Index of the first message matching `match` in everything the client received. */
function indexOf(client: TestClient, match: (m: Received) => boolean): number {
  return client.received.findIndex(match);
}

/** A connection on the bare path, joined to `room` by message. */
async function joinByMessage(server: RoomServer, room: string, userId: string) {
  const client = await connect(server, '/rooms', `userId=${userId}`);
  expect((await client.request({ type: 'room:join', room })).type).toBe('ack');
  return client;
}

describe('room:user:joined', () => {
  it('tells the other members when a user joins, in the documented shape; the joiner hears nothing of itself', async () => {
    const server = await startServer();
    const alice = await join(server, 'ev', 'alice', 'Alice');
    const before = Date.now();
    const bob = await join(server, 'ev', 'bob', 'Bob');
    const event = await alice.next('room:user:joined');
    expect(event).toEqual({
      type: 'room:user:joined',
      room: 'ev',
      payload: {
        userId: 'bob',
        user: { userId: 'bob', displayName: 'Bob', color: colorForUser('bob') },
      },
      timestamp: expect.any(Number),
    });
    expect(event.timestamp as number).toBeGreaterThanOrEqual(before);
    expect(event.timestamp as number).toBeLessThanOrEqual(Date.now());
    // Bob learns of alice from his presence snapshot, not from an event; nor of himself.
    await sentinel(alice, bob);
    expect(eventsOf(bob)).toEqual([]);
  });

  it('comes before the presence broadcast of the same join', async () => {
    const server = await startServer();
    const alice = await join(server, 'order-join', 'alice');
    await join(server, 'order-join', 'bob');
    await alice.next(presenceWith('order-join', ['alice', 'bob']));
    const event = indexOf(alice, (m) => m.type === 'room:user:joined');
    const presence = indexOf(alice, presenceWith('order-join', ['alice', 'bob']));
    expect(event).toBeGreaterThanOrEqual(0);
    expect(event).toBeLessThan(presence);
  });

  it('is sent for a user only once, whatever its number of tabs', async () => {
    const server = await startServer();
    const alice = await join(server, 'tabs', 'alice');
    const bobTab1 = await join(server, 'tabs', 'bob');
    const bobTab2 = await joinByMessage(server, 'tabs', 'bob');
    const bobTab3 = await join(server, 'tabs', 'bob');
    await alice.next(
      (m) => m.type === 'presence' && usersOf(m).some((user) => user.connections === 3),
    );
    await sentinel(bobTab3, alice);
    expect(eventsOf(alice)).toEqual(['joined:bob']);
    // Bob's earlier tabs are not told about his later ones.
    for (const tab of [bobTab1, bobTab2]) {
      await sentinel(alice, tab);
      expect(eventsOf(tab)).toEqual([]);
    }
  });

  it('carries the avatarUrl auth gave, and only then', async () => {
    const server = await startServer({
      auth: {
        authenticate: (req) => {
          const userId = new URL(req.url!, 'http://x').searchParams.get('userId')!;
          return userId === 'bob'
            ? { userId, displayName: 'Bob', avatarUrl: 'https://cdn.example/bob.png' }
            : { userId, displayName: userId };
        },
      },
    });
    const alice = await join(server, 'avatars', 'alice');
    const carol = await join(server, 'avatars', 'carol');
    expect((await alice.next('room:user:joined')).payload).toEqual({
      userId: 'carol',
      user: { userId: 'carol', displayName: 'carol', color: colorForUser('carol') },
    });
    await join(server, 'avatars', 'bob');
    const expected = {
      userId: 'bob',
      user: {
        userId: 'bob',
        displayName: 'Bob',
        color: colorForUser('bob'),
        avatarUrl: 'https://cdn.example/bob.png',
      },
    };
    expect((await alice.next('room:user:joined')).payload).toEqual(expected);
    expect((await carol.next('room:user:joined')).payload).toEqual(expected);
  });

  it('is not sent for a join that was rolled back', async () => {
    // A BigInt in the metadata auth returns makes the joiner's presence snapshot fail to encode:
    // a server failure half-way through the join, which is then taken back.
    const server = await startServer({
      auth: {
        authenticate: (req) => {
          const userId = new URL(req.url!, 'http://x').searchParams.get('userId')!;
          const metadata = userId === 'broken' ? { n: BigInt(1) } : undefined;
          return metadata
            ? { userId, displayName: userId, metadata }
            : { userId, displayName: userId };
        },
      },
    });
    const alice = await join(server, 'rollback', 'alice');
    const broken = await connect(server, '/rooms', 'userId=broken');
    expect(await broken.request({ type: 'room:join', room: 'rollback' })).toMatchObject({
      type: 'error',
      code: 'internal_error',
    });
    expect(server.getRoomManager().get('rollback')!.size).toBe(1);
    const bob = await join(server, 'rollback', 'bob');
    await alice.next('room:user:joined');
    await sentinel(bob, alice);
    expect(eventsOf(alice)).toEqual(['joined:bob']);
  });

  it('is per room: a user joining a second room is announced there only', async () => {
    const server = await startServer();
    const inA = await join(server, 'room-a', 'anna');
    const inB = await join(server, 'room-b', 'bert');
    const bob = await joinByMessage(server, 'room-a', 'bob');
    await inA.next('room:user:joined');
    expect((await bob.request({ type: 'room:join', room: 'room-b' })).type).toBe('ack');
    expect(await inB.next('room:user:joined')).toMatchObject({ room: 'room-b' });
    await sentinel(bob, inA, 'room-a');
    expect(eventsOf(inA)).toEqual(['joined:bob']);
    expect(eventsOf(inB)).toEqual(['joined:bob']);
  });
});

describe('room:user:left', () => {
  it('tells the remaining members when a user leaves, with its userId as the payload', async () => {
    const server = await startServer();
    const alice = await join(server, 'bye', 'alice');
    const bob = await joinByMessage(server, 'bye', 'bob');
    await alice.next('room:user:joined');
    const before = Date.now();
    const start = alice.received.length;
    await bob.request({ type: 'room:leave', room: 'bye' });
    const event = await alice.next('room:user:left');
    expect(event).toEqual({
      type: 'room:user:left',
      room: 'bye',
      payload: 'bob',
      timestamp: expect.any(Number),
    });
    expect(event.timestamp as number).toBeGreaterThanOrEqual(before);
    // It precedes the presence broadcast without bob.
    await alice.next(presenceWith('bye', ['alice']));
    expect(alice.received.slice(start).map((m) => m.type)).toEqual(['room:user:left', 'presence']);
    // Bob, out of the room, hears nothing of it.
    expect(eventsOf(bob)).toEqual([]);
  });

  it('is sent only when the last tab leaves, by room:leave, close or a dropped socket', async () => {
    const server = await startServer();
    const alice = await join(server, 'last', 'alice');
    const tab1 = await join(server, 'last', 'bob');
    const tab2 = await joinByMessage(server, 'last', 'bob');
    const tab3 = await join(server, 'last', 'bob');
    await alice.next('room:user:joined');

    await tab2.request({ type: 'room:leave', room: 'last' });
    await tab1.close();
    await waitUntil(() => server.getRoomManager().get('last')!.size === 2, 3000, 'two tabs gone');
    await sentinel(tab3, alice);
    expect(eventsOf(alice)).toEqual(['joined:bob']);

    // The last tab drops without a close frame.
    tab3.terminate();
    await alice.next('room:user:left');
    expect(eventsOf(alice)).toEqual(['joined:bob', 'left:bob']);
    expect(server.getRoomManager().isInRoom('last', 'bob')).toBe(false);
  });

  it('is sent when the heartbeat check terminates a dead connection', async () => {
    const fast: ServerConfig = {
      heartbeat: { checkIntervalMs: 30, timeoutMs: 100, intervalMs: 50 },
    };
    const server = await startServer(fast);
    const alice = await join(server, 'dead', 'alice');
    const beating = setInterval(() => {
      if (alice.ws.readyState === WebSocket.OPEN) alice.send({ type: 'heartbeat' });
    }, 15);
    timers.add(beating);
    const zombie = await connect(server, '/rooms/dead', 'userId=zombie', { autoPong: false });
    await zombie.next('room:info');
    await alice.next('room:user:joined');
    expect((await zombie.closed).code).toBe(1006);
    expect(await alice.next('room:user:left')).toMatchObject({ room: 'dead', payload: 'zombie' });
  });

  it('is not sent to the members of a removed room (they get room:left)', async () => {
    const server = await startServer();
    const alice = await join(server, 'removed', 'alice');
    const bob = await join(server, 'removed', 'bob');
    await alice.next('room:user:joined');
    const other = await joinByMessage(server, 'still-here', 'alice');
    server.getRoomManager().remove('removed');
    await alice.next('room:left');
    await bob.next('room:left');
    // A later event reached alice's other connection: nothing about the removed room came first.
    await join(server, 'still-here', 'carol');
    await other.next('room:user:joined');
    expect(eventsOf(alice)).toEqual(['joined:bob']);
    expect(eventsOf(bob)).toEqual([]);
  });

  it('a user who leaves and comes back is announced again', async () => {
    const server = await startServer();
    const alice = await join(server, 'again', 'alice');
    const bob = await joinByMessage(server, 'again', 'bob');
    // Each step waits for its presence flush: a leave and rejoin within one flush is no change.
    await alice.next('room:user:joined');
    await bob.request({ type: 'room:leave', room: 'again' });
    await alice.next('room:user:left');
    await bob.request({ type: 'room:join', room: 'again' });
    await alice.next('room:user:joined');
    await bob.request({ type: 'room:leave', room: 'again' });
    await alice.next('room:user:left');
    expect(eventsOf(alice)).toEqual(['joined:bob', 'left:bob', 'joined:bob', 'left:bob']);
  });
});
