import { describe, expect, it } from 'vitest';
import { colorForUser, USER_COLORS } from '../src/index.js';
import { connect, join, presenceWith, startServer, usersOf } from './helpers.js';

describe('joining a room by path', () => {
  it('sends welcome, then the presence list, then state:init, in that order', async () => {
    const server = await startServer();
    const alice = await join(server, 'flow', 'alice', 'Alice');

    const [welcome, presence, init] = alice.received;
    expect(welcome).toEqual({
      type: 'welcome',
      connectionId: expect.any(String),
      userId: 'alice',
      displayName: 'Alice',
      color: colorForUser('alice'),
      room: 'flow',
      heartbeatIntervalMs: 30_000,
      maxMessageBytes: 65_536,
      protocol: 2,
      capabilities: { supported: ['presence-delta'], enabled: [] },
    });
    expect(presence).toMatchObject({ type: 'presence', room: 'flow' });
    expect(usersOf(presence!).map((u) => u.userId)).toEqual(['alice']);
    expect(init).toEqual({ type: 'state:init', room: 'flow', states: {} });
  });

  it('describes the joiner with every PresenceUser field', async () => {
    const server = await startServer();
    const before = Date.now();
    const alice = await join(server, 'fields', 'alice', 'Alice');
    const after = Date.now();

    const [user] = usersOf(alice.all('presence')[0]!);
    expect(user).toEqual({
      userId: 'alice',
      displayName: 'Alice',
      color: colorForUser('alice'),
      connectedAt: expect.any(Number),
      onlineStatus: 'online',
      lastActiveAt: expect.any(Number),
      isIdle: false,
      connections: 1,
    });
    expect(USER_COLORS).toContain(user!.color);
    expect(user!.connectedAt).toBeGreaterThanOrEqual(before);
    expect(user!.connectedAt).toBeLessThanOrEqual(after);
    expect(user!.lastActiveAt).toBeGreaterThanOrEqual(user!.connectedAt);
  });

  it('carries the optional avatarUrl, location and metadata once a member sets them', async () => {
    const server = await startServer();
    const alice = await join(server, 'optional', 'alice');
    const bob = await join(server, 'optional', 'bob');
    alice.send({
      type: 'presence:update',
      location: 'page-2',
      metadata: { role: 'editor' },
      avatarUrl: 'https://example.com/a.png',
    });
    const update = await bob.next(
      (m) => m.type === 'presence' && usersOf(m).some((u) => u.location === 'page-2'),
    );
    expect(usersOf(update).find((u) => u.userId === 'alice')).toMatchObject({
      location: 'page-2',
      metadata: { role: 'editor' },
      avatarUrl: 'https://example.com/a.png',
    });
  });

  it('uses displayName = userId when only userId is given', async () => {
    const server = await startServer();
    const carol = await join(server, 'names', 'carol');
    expect(carol.all('welcome')[0]).toMatchObject({ userId: 'carol', displayName: 'carol' });
  });

  it('gives the newcomer a list with everyone, and the others a presence broadcast', async () => {
    const server = await startServer();
    const alice = await join(server, 'pair', 'alice');
    const bob = await join(server, 'pair', 'bob');

    expect(presenceWith('pair', ['alice', 'bob'])(bob.all('presence')[0]!)).toBe(true);
    await alice.next(presenceWith('pair', ['alice', 'bob']));
  });

  it('gives the newcomer the live state already in the room in state:init', async () => {
    const server = await startServer();
    const alice = await join(server, 'stateful', 'alice');
    const ack = await alice.request({ type: 'state:update', key: 'title', value: 'Hello' });
    expect(ack.type).toBe('ack');

    const bob = await join(server, 'stateful', 'bob');
    expect(bob.all('state:init')[0]).toEqual({
      type: 'state:init',
      room: 'stateful',
      states: { title: { value: 'Hello', userId: 'alice', timestamp: expect.any(Number) } },
    });
  });

  it('does not mix rooms: members of another room get no presence for this one', async () => {
    const server = await startServer();
    const other = await join(server, 'room-b', 'olga');
    await join(server, 'room-a', 'alice');
    // Sentinel: a later message in room-b proves room-a's presence would have arrived by now.
    const peer = await join(server, 'room-b', 'pete');
    peer.send({ type: 'sentinel' });
    await other.next('sentinel');
    expect(other.all('presence').every((m) => m.room === 'room-b')).toBe(true);
  });
});

describe('identity and colour', () => {
  it('gives a user the same colour in every room and on every server', async () => {
    const one = await startServer();
    const two = await startServer();
    const clients = await Promise.all([
      join(one, 'room-a', 'zoe'),
      join(one, 'room-b', 'zoe'),
      join(two, 'room-a', 'zoe'),
    ]);
    const colors = clients.map((c) => c.all('welcome')[0]!.color);
    expect(new Set(colors)).toEqual(new Set([colorForUser('zoe')]));
    for (const client of clients) {
      expect(usersOf(client.all('presence')[0]!)[0]!.color).toBe(colorForUser('zoe'));
    }
  });

  it('shows a user with two connections once, with connections: 2, then 1 after one closes', async () => {
    const server = await startServer();
    const watcher = await join(server, 'tabs', 'watcher');
    const tab1 = await join(server, 'tabs', 'dana');
    const tab2 = await join(server, 'tabs', 'dana');

    const both = await watcher.next(
      (m) =>
        m.type === 'presence' && usersOf(m).some((u) => u.userId === 'dana' && u.connections === 2),
    );
    expect(usersOf(both)).toHaveLength(2);
    expect(usersOf(tab2.all('presence')[0]!).find((u) => u.userId === 'dana')).toMatchObject({
      connections: 2,
    });
    expect(server.getRoomManager().get('tabs')?.size).toBe(3);

    await tab1.close();
    const one = await watcher.next(
      (m) =>
        m.type === 'presence' && usersOf(m).some((u) => u.userId === 'dana' && u.connections === 1),
    );
    expect(usersOf(one)).toHaveLength(2);
  });
});

describe('leaving', () => {
  it('broadcasts presence without the leaver when a connection closes', async () => {
    const server = await startServer();
    const alice = await join(server, 'bye', 'alice');
    const bob = await join(server, 'bye', 'bob');
    await alice.next(presenceWith('bye', ['alice', 'bob']));

    await bob.close();
    await alice.next(presenceWith('bye', ['alice']));
    expect(server.getRoomManager().getUsers('bye')).toEqual(['alice']);
  });
});

describe('application messages', () => {
  it('relays to the others stamped with from, timestamp and room; not back to the sender', async () => {
    const server = await startServer();
    const alice = await join(server, 'relay', 'alice');
    const bob = await join(server, 'relay', 'bob');
    const carol = await join(server, 'relay', 'carol');

    const before = Date.now();
    const ack = await alice.request({
      type: 'chat',
      text: 'hi',
      nested: { n: 1 },
      from: 'mallory',
      timestamp: 1,
    });
    expect(ack).toMatchObject({ type: 'ack' });

    for (const peer of [bob, carol]) {
      const got = await peer.next('chat');
      expect(got).toEqual({
        type: 'chat',
        text: 'hi',
        nested: { n: 1 },
        room: 'relay',
        from: 'alice',
        timestamp: expect.any(Number),
      });
      expect(got.timestamp as number).toBeGreaterThanOrEqual(before);
    }

    // Bob answers only after alice's chat was relayed; alice's socket is ordered, so a copy of
    // her own chat would have arrived before bob's reply.
    bob.send({ type: 'reply' });
    await alice.next('reply');
    expect(alice.all('chat')).toHaveLength(0);
  });

  it('routes a message to the room it names on a socket that is in several rooms', async () => {
    const server = await startServer();
    const multi = await join(server, 'home', 'multi');
    const ack = await multi.request({ type: 'room:join', room: 'away' });
    expect(ack).toMatchObject({ type: 'ack', room: 'away' });
    const homeMate = await join(server, 'home', 'homer');
    const awayMate = await join(server, 'away', 'andy');

    multi.send({ type: 'note', room: 'away', n: 1 });
    multi.send({ type: 'note', n: 2 });
    expect(await awayMate.next('note')).toMatchObject({ room: 'away', n: 1, from: 'multi' });
    expect(await homeMate.next('note')).toMatchObject({ room: 'home', n: 2, from: 'multi' });
  });
});

describe('joining by message on the bare path', () => {
  it('runs the same flow for room:join: presence, then state:init, then room:info, then an ack', async () => {
    const server = await startServer();
    const alice = await join(server, 'lobby', 'alice');
    const bare = await connect(server, '/rooms', 'userId=bea');
    expect(bare.all('welcome')[0]).toMatchObject({ userId: 'bea', room: null });

    const ack = await bare.request({ type: 'room:join', room: 'lobby' });
    expect(ack).toMatchObject({ type: 'ack', room: 'lobby' });
    expect(bare.received.slice(0, 5).map((m) => m.type)).toEqual([
      'welcome',
      'presence',
      'state:init',
      'room:info',
      'ack',
    ]);
    expect(presenceWith('lobby', ['alice', 'bea'])(bare.all('presence')[0]!)).toBe(true);
    await alice.next(presenceWith('lobby', ['alice', 'bea']));

    const list = await bare.request({ type: 'room:list' });
    expect(list).toMatchObject({ type: 'room:list', rooms: ['lobby'] });
  });
});
