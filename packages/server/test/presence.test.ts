import { describe, expect, it } from 'vitest';
import { type PresenceUser, USER_COLORS } from '../src/index.js';
import {
  connect,
  findUser,
  join,
  nextPresence,
  type Received,
  sentinel,
  startServer,
  type TestClient,
  usersOf,
} from './helpers.js';

function ids(users: PresenceUser[]): string[] {
  return users.map((user) => user.userId).sort();
}

function welcomeOf(client: TestClient): Received {
  const welcome = client.all('welcome')[0];
  if (!welcome) throw new Error('no welcome received');
  return welcome;
}

describe('presence', () => {
  it('gives the joiner the list and broadcasts it on every join and leave', async () => {
    const server = await startServer();
    const alice = await join(server, 'p-join', 'alice', 'Alice');
    const own = alice.all('presence');
    expect(own.length).toBeGreaterThan(0);
    expect(own[0]).toMatchObject({ type: 'presence', room: 'p-join' });
    expect(ids(usersOf(own[0]!))).toEqual(['alice']);

    const bob = await join(server, 'p-join', 'bob', 'Bob');
    const seenByAlice = await nextPresence(alice, (users) => findUser(users, 'bob') !== undefined);
    expect(ids(seenByAlice)).toEqual(['alice', 'bob']);
    const bobEntry = findUser(seenByAlice, 'bob')!;
    expect(bobEntry).toMatchObject({
      userId: 'bob',
      displayName: 'Bob',
      onlineStatus: 'online',
      isIdle: false,
      connections: 1,
    });
    expect(USER_COLORS).toContain(bobEntry.color);
    expect(typeof bobEntry.connectedAt).toBe('number');
    expect(typeof bobEntry.lastActiveAt).toBe('number');
    // The joiner sees itself and the earlier members.
    expect(ids(usersOf(bob.all('presence')[0]!))).toEqual(['alice', 'bob']);

    const carol = await join(server, 'p-join', 'carol');
    expect(ids(await nextPresence(alice, (users) => users.length === 3))).toEqual([
      'alice',
      'bob',
      'carol',
    ]);
    await nextPresence(bob, (users) => users.length === 3);

    await bob.close();
    expect(ids(await nextPresence(alice, (users) => findUser(users, 'bob') === undefined))).toEqual(
      ['alice', 'carol'],
    );
    expect(ids(await nextPresence(carol, (users) => findUser(users, 'bob') === undefined))).toEqual(
      ['alice', 'carol'],
    );
  });

  it('does not leak presence between rooms', async () => {
    const server = await startServer();
    const alice = await join(server, 'p-room-a', 'alice');
    const bob = await join(server, 'p-room-b', 'bob');
    await nextPresence(bob, (users) => findUser(users, 'bob') !== undefined);
    const carol = await join(server, 'p-room-a', 'carol');
    await nextPresence(alice, (users) => findUser(users, 'carol') !== undefined);
    // Sentinel through room b: anything about room a would have reached bob before it.
    const bob2 = await join(server, 'p-room-b', 'bob2');
    await sentinel(bob2, bob);
    for (const message of bob.all('presence')) {
      expect(message.room).toBe('p-room-b');
      expect(findUser(usersOf(message), 'alice')).toBeUndefined();
      expect(findUser(usersOf(message), 'carol')).toBeUndefined();
    }
    await nextPresence(carol, (users) => findUser(users, 'carol') !== undefined);
    await sentinel(alice, carol);
    for (const message of carol.all('presence')) {
      expect(message.room).toBe('p-room-a');
      expect(findUser(usersOf(message), 'bob')).toBeUndefined();
      expect(findUser(usersOf(message), 'bob2')).toBeUndefined();
    }
  });

  it('shows two tabs of one user as one entry with connections: 2 until the last one closes', async () => {
    const server = await startServer();
    const bob = await join(server, 'p-tabs', 'bob');
    const tab1 = await join(server, 'p-tabs', 'alice', 'Alice');
    const tab2 = await join(server, 'p-tabs', 'alice', 'Alice');

    const both = await nextPresence(bob, (users) => findUser(users, 'alice')?.connections === 2);
    expect(ids(both)).toEqual(['alice', 'bob']);
    expect(findUser(both, 'alice')).toMatchObject({ displayName: 'Alice', onlineStatus: 'online' });
    // Each tab sees the same folded list.
    await nextPresence(tab1, (users) => findUser(users, 'alice')?.connections === 2);

    await tab1.close();
    const one = await nextPresence(bob, (users) => findUser(users, 'alice')?.connections === 1);
    expect(ids(one)).toEqual(['alice', 'bob']);
    await nextPresence(tab2, (users) => findUser(users, 'alice')?.connections === 1);

    await tab2.close();
    expect(ids(await nextPresence(bob, (users) => findUser(users, 'alice') === undefined))).toEqual(
      ['bob'],
    );

    // Never more than one entry per userId in any list.
    for (const message of bob.all('presence')) {
      const users = usersOf(message);
      expect(new Set(ids(users)).size).toBe(users.length);
    }
  });

  it('reflects presence:update fields in the others presence', async () => {
    const server = await startServer();
    const alice = await join(server, 'p-update', 'alice');
    const bob = await join(server, 'p-update', 'bob');
    await nextPresence(alice, (users) => users.length === 2);

    alice.send({ type: 'presence:update', onlineStatus: 'away' });
    const away = await nextPresence(
      bob,
      (users) => findUser(users, 'alice')?.onlineStatus === 'away',
    );
    expect(findUser(away, 'alice')!.isIdle).toBe(false);

    const before = findUser(away, 'alice')!.lastActiveAt;
    const ack = await alice.request({
      type: 'presence:update',
      onlineStatus: 'online',
      isIdle: true,
      location: 'page-2',
      metadata: { cursorMode: 'pen', level: 3 },
      avatarUrl: 'https://example.com/a.png',
    });
    expect(ack).toMatchObject({ type: 'ack' });
    const updated = findUser(
      await nextPresence(bob, (users) => findUser(users, 'alice')?.location === 'page-2'),
      'alice',
    )!;
    expect(updated).toMatchObject({
      onlineStatus: 'online',
      isIdle: true,
      location: 'page-2',
      metadata: { cursorMode: 'pen', level: 3 },
      avatarUrl: 'https://example.com/a.png',
      connections: 1,
    });
    expect(updated.lastActiveAt).toBeGreaterThanOrEqual(before);

    // A partial update changes only what it names.
    alice.send({ type: 'presence:update', isIdle: false });
    const partial = findUser(
      await nextPresence(bob, (users) => findUser(users, 'alice')?.isIdle === false),
      'alice',
    )!;
    expect(partial).toMatchObject({
      onlineStatus: 'online',
      location: 'page-2',
      metadata: { cursorMode: 'pen', level: 3 },
      avatarUrl: 'https://example.com/a.png',
    });
    // The sender's own tabs see it too.
    await nextPresence(alice, (users) => findUser(users, 'alice')?.isIdle === false);
  });

  it('rejects presence:update with wrong field types as invalid_message naming the field, changing nothing', async () => {
    const server = await startServer();
    const alice = await join(server, 'p-invalid', 'alice');
    const bob = await join(server, 'p-invalid', 'bob');
    await nextPresence(alice, (users) => users.length === 2);

    const cases: Array<[Record<string, unknown>, string]> = [
      [{ onlineStatus: 'busy' }, 'onlineStatus'],
      [{ onlineStatus: 1 }, 'onlineStatus'],
      [{ isIdle: 'yes' }, 'isIdle'],
      [{ location: 42 }, 'location'],
      [{ location: 'x'.repeat(257) }, 'location'],
      [{ metadata: 'vip' }, 'metadata'],
      [{ metadata: [1, 2] }, 'metadata'],
      [{ avatarUrl: 7 }, 'avatarUrl'],
      [{ location: 'valid-but-with-bad-sibling', isIdle: 'no' }, 'isIdle'],
      [{ nickname: 'mallory' }, 'nickname'],
    ];
    for (const [fields, field] of cases) {
      const reply = await alice.request({ type: 'presence:update', ...fields });
      expect(reply, JSON.stringify(fields)).toMatchObject({
        type: 'error',
        code: 'invalid_message',
      });
      expect(String(reply.message), JSON.stringify(fields)).toContain(field);
    }

    // The connection lives on; a valid update after the bad ones is the first change anyone sees.
    alice.send({ type: 'presence:update', location: 'lobby' });
    const after = findUser(
      await nextPresence(bob, (users) => findUser(users, 'alice')?.location === 'lobby'),
      'alice',
    )!;
    expect(after.onlineStatus).toBe('online');
    expect(after.isIdle).toBe(false);
    expect(after.metadata).toBeUndefined();
    expect(after.avatarUrl).toBeUndefined();
    expect(after).not.toHaveProperty('nickname');
    for (const message of bob.all('presence')) {
      const entry = findUser(usersOf(message), 'alice');
      if (!entry) continue;
      expect(['online', 'away', 'offline']).toContain(entry.onlineStatus);
      expect(typeof entry.isIdle).toBe('boolean');
      expect(entry.location === undefined || entry.location === 'lobby').toBe(true);
    }
  });

  it('assigns colors deterministically: same userId, same color in two rooms and two servers', async () => {
    const first = await startServer();
    const second = await startServer();
    const a1 = await join(first, 'p-color-1', 'alice');
    const a2 = await join(first, 'p-color-2', 'alice');
    const a3 = await join(second, 'p-color-1', 'alice');
    const multi = await connect(second, '/rooms');
    // A guest on the bare path gets a color too, and that is not what we compare.
    expect(USER_COLORS).toContain(welcomeOf(multi).color);

    const colors = [a1, a2, a3].map((client) => welcomeOf(client).color);
    expect(USER_COLORS).toContain(colors[0]);
    expect(new Set(colors).size).toBe(1);
    for (const client of [a1, a2, a3]) {
      expect(findUser(usersOf(client.all('presence')[0]!), 'alice')!.color).toBe(colors[0]);
    }

    // Others see the same color the user was welcomed with.
    const bob = await join(second, 'p-color-1', 'bob');
    expect(findUser(usersOf(bob.all('presence')[0]!), 'alice')!.color).toBe(colors[0]);

    // Colors come from the palette and depend on the id (not one color for everybody).
    const palette = new Set<unknown>();
    for (let i = 0; i < 12; i++) {
      const user = await join(first, 'p-color-many', `user-${i}`);
      palette.add(welcomeOf(user).color);
    }
    expect(palette.size).toBeGreaterThan(1);
    for (const color of palette) expect(USER_COLORS).toContain(color);
  });

  it('sends a joiner its presence list once: the broadcast after the join skips it when unchanged', async () => {
    const server = await startServer();
    const alice = await join(server, 'p-once', 'alice');
    const bob = await join(server, 'p-once', 'bob');
    await nextPresence(alice, (users) => findUser(users, 'bob') !== undefined);
    await sentinel(alice, bob);
    const bobLists = bob.all('presence');
    expect(bobLists).toHaveLength(1);
    expect(ids(usersOf(bobLists[0]!)).sort()).toEqual(['alice', 'bob']);
    expect(bob.received.findIndex((m) => m.type === 'presence')).toBeLessThan(
      bob.received.findIndex((m) => m.type === 'state:init'),
    );
  });
});

describe('presence deltas and the presence a join brings', () => {
  it('a joiner appears with the presence its room:join carried, in the first event the others get', async () => {
    const server = await startServer();
    const lister = await join(server, 'p-initial', 'lister');
    const delta = await connect(server, '/rooms', 'userId=watcher&capabilities=presence-delta');
    expect(welcomeOf(delta)).toMatchObject({
      protocol: 2,
      capabilities: { supported: ['presence-delta'], enabled: ['presence-delta'] },
    });
    expect((await delta.request({ type: 'room:join', room: 'p-initial' })).type).toBe('ack');
    const bob = await connect(server, '/rooms', 'userId=bob');
    const presence = { location: 'lobby', metadata: { data: { tool: 'pen' } }, isIdle: true };
    expect((await bob.request({ type: 'room:join', room: 'p-initial', presence })).type).toBe(
      'ack',
    );
    const joinedBob = (m: Received) =>
      m.type === 'presence:delta' &&
      ((m.joined as PresenceUser[] | undefined) ?? []).some((u) => u.userId === 'bob');
    // The watcher's own arrival comes first (its snapshot is the room before it).
    const joined = await delta.next(joinedBob);
    expect(delta.all('presence:delta').filter(joinedBob)).toHaveLength(1);
    // Joins within one presence flush come in one delta: bob's entry is there with his presence.
    expect(findUser(joined.joined as PresenceUser[], 'bob')).toMatchObject({
      location: 'lobby',
      isIdle: true,
      metadata: { data: { tool: 'pen' } },
    });
    await nextPresence(lister, (users) => findUser(users, 'bob') !== undefined);
    // Never an empty placeholder first: every list that shows bob shows his presence.
    for (const message of lister.all('presence')) {
      const entry = findUser(usersOf(message), 'bob');
      if (entry)
        expect(entry).toMatchObject({ location: 'lobby', metadata: { data: { tool: 'pen' } } });
    }
  });

  it('delta connections get a snapshot, then only what changed: joined, updated fields, left', async () => {
    const server = await startServer();
    const watcher = await connect(
      server,
      '/rooms/p-delta',
      'userId=watcher&capabilities=presence-delta',
    );
    const alice = await join(server, 'p-delta', 'alice');
    const first = await watcher.next(
      (m) =>
        m.type === 'presence:delta' &&
        ((m.joined as PresenceUser[] | undefined) ?? []).some((u) => u.userId === 'alice'),
    );
    expect(first.left).toBeUndefined();
    alice.send({ type: 'presence:update', location: 'kitchen' });
    const updated = await watcher.next(
      (m) => m.type === 'presence:delta' && m.updated !== undefined,
    );
    const changes = (updated.updated as Record<string, unknown>[])[0]!;
    expect(changes).toMatchObject({ userId: 'alice', location: 'kitchen' });
    // Only the fields that changed travel.
    expect(Object.keys(changes).sort()).toEqual(['lastActiveAt', 'location', 'userId']);
    await alice.close();
    expect(
      await watcher.next((m) => m.type === 'presence:delta' && m.left !== undefined),
    ).toMatchObject({
      left: ['alice'],
    });
    // A delta connection never gets a whole list after its snapshot.
    expect(watcher.all('presence')).toHaveLength(1);
  });

  it('refuses presence metadata over the limit in room:join, and joins nothing', async () => {
    const server = await startServer({ limits: { maxPresenceMetadataBytes: 64 } });
    const bob = await connect(server, '/rooms', 'userId=bob');
    const reply = await bob.request({
      type: 'room:join',
      room: 'p-big',
      presence: { metadata: { pad: 'x'.repeat(100) } },
    });
    expect(reply).toMatchObject({ type: 'error', code: 'metadata_too_large' });
    expect(server.getRoomManager().getUsers('p-big')).toEqual([]);
    const unknown = await bob.request({ type: 'room:join', room: 'p-big', presence: { mood: 1 } });
    expect(unknown).toMatchObject({ type: 'error', code: 'invalid_message' });
  });
});

describe('presenceFlushMs', () => {
  it('coalesces a burst of joins into one change per flush, with every member in it', async () => {
    // A long interval, so the three concurrent joins land in one flush even on a loaded machine.
    const server = await startServer({ presenceFlushMs: 1500 });
    const watcher = await connect(
      server,
      '/rooms/p-flush',
      'userId=watcher&capabilities=presence-delta',
    );
    const joiners = await Promise.all(['a', 'b', 'c'].map((id) => join(server, 'p-flush', id)));
    const withAll = await watcher.next(
      (m) =>
        m.type === 'presence:delta' &&
        ['a', 'b', 'c'].every((id) =>
          ((m.joined as PresenceUser[] | undefined) ?? []).some((u) => u.userId === id),
        ),
    );
    expect(withAll.left).toBeUndefined();
    for (const joiner of joiners) await joiner.close();
  });
});
