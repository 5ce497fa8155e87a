import { ErrorCode, type PresenceUser } from '@roomkit/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InProcessCluster, type InProcessClusterOptions, type RoomServer } from '../src/index.js';
import {
  openUrl,
  type Received,
  sentinel,
  startServer,
  type TestClient,
  usersOf,
  waitUntil,
} from './helpers.js';

/** Two (or more) nodes of one cluster, each a real server on its own port. */
async function cluster(count = 2, options: InProcessClusterOptions = {}) {
  const shared = new InProcessCluster(options);
  const nodes: RoomServer[] = [];
  for (let i = 0; i < count; i++) nodes.push(await startServer({ bus: shared.bus(`node-${i}`) }));
  return { shared, nodes };
}

function url(node: RoomServer, path: string, query: Record<string, string> = {}): string {
  const search = new URLSearchParams(query).toString();
  return `ws://127.0.0.1:${node.port}${path}${search ? `?${search}` : ''}`;
}

/** A client on `node` joined to `room` by message; resolves with the join's answer too. */
async function member(
  node: RoomServer,
  userId: string,
  room: string,
  join: Record<string, unknown> = {},
  query: Record<string, string> = {},
): Promise<{ client: TestClient; answer: Received }> {
  const client = await openUrl(url(node, '/rooms', { userId, ...query }));
  const answer = await client.request({ type: 'room:join', room, ...join });
  return { client, answer };
}

async function joined(
  node: RoomServer,
  userId: string,
  room: string,
  join: Record<string, unknown> = {},
): Promise<TestClient> {
  const { client, answer } = await member(node, userId, room, join);
  expect(answer).toMatchObject({ type: 'ack' });
  return client;
}

/** Waits until the client's latest `presence` list of `room` names exactly `ids`. */
async function seesExactly(client: TestClient, room: string, ids: string[]): Promise<void> {
  const want = [...ids].sort().join(',');
  await waitUntil(
    () => {
      const lists = client.received.filter((m) => m.type === 'presence' && m.room === room);
      const last = lists.at(-1);
      return last !== undefined && idsOf(usersOf(last)) === want;
    },
    5000,
    `${want} in the presence of ${room}`,
  );
}

const idsOf = (users: PresenceUser[]) =>
  users
    .map((user) => user.userId)
    .sort()
    .join(',');

describe('two nodes as one room system', () => {
  it('a joiner on one node sees the members, state and settings made on the other', async () => {
    const { nodes } = await cluster();
    const [a, b] = nodes as [RoomServer, RoomServer];
    a.getRoomManager().create('shared', { metadata: { title: 'Standup' }, maxUsers: 10 });
    const alice = await joined(a, 'alice', 'shared');
    expect(
      await alice.request({ type: 'state:update', room: 'shared', key: 'topic', value: 'plans' }),
    ).toMatchObject({
      type: 'ack',
    });
    const bob = await joined(b, 'bob', 'shared');
    // Bob's join answer came after his snapshot: everything below is what node B holds.
    expect(bob.all('state:init').at(-1)).toMatchObject({ states: { topic: { value: 'plans' } } });
    expect(bob.all('room:info').at(-1)).toMatchObject({
      metadata: { title: 'Standup' },
      maxUsers: 10,
      createdAt: a.getRoomManager().get('shared')!.createdAt,
    });
    expect(idsOf(usersOf(bob.all('presence').at(-1)!))).toBe('alice,bob');
    await seesExactly(alice, 'shared', ['alice', 'bob']);
    // Every member on either node hears everyone else's messages.
    alice.send({ type: 'chat', room: 'shared', text: 'from A' });
    expect(await bob.next('chat')).toMatchObject({ text: 'from A', from: 'alice' });
    bob.send({ type: 'chat', room: 'shared', text: 'from B' });
    expect(await alice.next('chat')).toMatchObject({ text: 'from B', from: 'bob' });
    // Metadata changed on A reaches B's members.
    a.getRoomManager().get('shared')!.setMetadata({ title: 'Retro' });
    expect(await bob.next('room:info')).toMatchObject({ metadata: { title: 'Retro' } });
    // Live state written on B is the same on A, and A's clock orders its next write after it.
    bob.send({ type: 'state:update', room: 'shared', key: 'topic', value: 'later' });
    expect(await alice.next('state:update')).toMatchObject({ key: 'topic', value: 'later' });
    await waitUntil(
      () => a.getRoomManager().get('shared')!.liveState.get('topic')?.value === 'later',
      3000,
      'state on A',
    );
    alice.send({ type: 'state:update', room: 'shared', key: 'topic', value: 'last' });
    // Writers hear their own writes too: wait for alice's.
    expect(
      await bob.next(
        (m) => m.type === 'state:update' && m.userId === 'alice' && m.value === 'last',
      ),
    ).toMatchObject({ key: 'topic' });
    const onB = b.getRoomManager().get('shared')!.liveState.get('topic');
    const onA = a.getRoomManager().get('shared')!.liveState.get('topic');
    expect(onB).toEqual(onA);
  });

  it('a password room created on one node refuses the wrong password on the other; maxUsers holds', async () => {
    const { nodes } = await cluster();
    const [a, b] = nodes as [RoomServer, RoomServer];
    const alice = await joined(a, 'alice', 'locked', { password: 'secret', maxUsers: 1 });
    const eve = await member(b, 'eve', 'locked');
    expect(eve.answer).toMatchObject({ type: 'error', code: ErrorCode.WrongPassword });
    const wrong = await member(b, 'eve', 'locked', { password: 'guess' });
    expect(wrong.answer).toMatchObject({ type: 'error', code: ErrorCode.WrongPassword });
    const full = await member(b, 'bob', 'locked', { password: 'secret' });
    expect(full.answer).toMatchObject({ type: 'error', code: ErrorCode.RoomFull });
    // Alice's other tab, on the other node, is the same user: admitted.
    const aliceOnB = await joined(b, 'alice', 'locked', { password: 'secret' });
    // The refused ones hear nothing of the room.
    alice.send({ type: 'chat', room: 'locked', text: 'private' });
    await sentinel(alice, aliceOnB, 'locked');
    expect(aliceOnB.all('chat')).toHaveLength(1);
    for (const refused of [eve.client, wrong.client, full.client]) {
      expect(refused.all('chat')).toEqual([]);
    }
    // The path upgrade on node B runs the same admission.
    const status = await new Promise<number>((resolve) => {
      import('ws').then(({ default: WebSocket }) => {
        const ws = new WebSocket(url(b, '/rooms/locked', { userId: 'mallory' }));
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
        ws.on('error', () => {});
      });
    });
    expect(status).toBe(403);
  });

  it('concurrent joins on both nodes admit exactly maxUsers users', async () => {
    const { nodes } = await cluster();
    const [a, b] = nodes as [RoomServer, RoomServer];
    await joined(a, 'host', 'capped', { maxUsers: 4 });
    const attempts = await Promise.all(
      Array.from({ length: 12 }, (_, i) => member(i % 2 === 0 ? a : b, `user-${i}`, 'capped')),
    );
    const admitted = attempts.filter((attempt) => attempt.answer.type === 'ack');
    expect(admitted).toHaveLength(3);
    for (const attempt of attempts) {
      if (attempt.answer.type !== 'ack') {
        expect(attempt.answer).toMatchObject({ code: ErrorCode.RoomFull });
      }
    }
    expect(a.getRoomManager().getUserCount('capped')).toBe(4);
    expect(b.getRoomManager().getUserCount('capped')).toBe(4);
  });

  it('remove() on one node takes the room from members on every node', async () => {
    const { nodes } = await cluster();
    const [a, b] = nodes as [RoomServer, RoomServer];
    await joined(a, 'alice', 'doomed');
    const bob = await joined(b, 'bob', 'doomed');
    a.getRoomManager().remove('doomed');
    expect(await bob.next('room:left')).toMatchObject({ room: 'doomed', reason: 'room removed' });
    await waitUntil(() => b.getRoomManager().get('doomed') === undefined, 3000, 'room gone on B');
    expect(a.broadcastToRoom('doomed', '{"type":"ghost"}')).toBe(false);
  });

  it('remove() on a node that never held the room takes it from the members elsewhere', async () => {
    const { nodes } = await cluster();
    const [a, b] = nodes as [RoomServer, RoomServer];
    const bob = await joined(b, 'bob', 'far-off');
    const incarnation = b.getRoomManager().get('far-off')?.description.incarnation;
    expect(a.getRoomManager().get('far-off')).toBeUndefined();
    a.getRoomManager().remove('far-off');
    expect(await bob.next('room:left')).toMatchObject({ room: 'far-off', reason: 'room removed' });
    await waitUntil(() => b.getRoomManager().get('far-off') === undefined, 3000, 'room gone on B');
    expect(b.getRoomManager().getUsers('far-off')).toEqual([]);
    expect(a.getRoomManager().getRoomCount()).toBe(0);
    expect(a.getRoomManager().get('far-off')).toBeUndefined();
    // Coming back creates the room anew, with bob alone in it.
    expect(await bob.request({ type: 'room:join', room: 'far-off' })).toMatchObject({
      type: 'ack',
    });
    const reborn = b.getRoomManager().get('far-off');
    expect(reborn?.description.incarnation).toBeDefined();
    expect(reborn?.description.incarnation).not.toBe(incarnation);
    expect(a.getRoomManager().getUsers('far-off')).toEqual(['bob']);
  });

  it('server-side broadcasts and membership queries cover every node', async () => {
    const { nodes } = await cluster();
    const [a, b] = nodes as [RoomServer, RoomServer];
    const bob = await joined(b, 'bob', 'far');
    expect(a.getRoomManager().get('far')).toBeUndefined();
    expect(a.getRoomManager().getUsers('far')).toEqual(['bob']);
    expect(a.getRoomManager().getRooms('bob')).toEqual(['far']);
    expect(a.broadcast('far', 'news', { n: 1 })).toBe(true);
    expect(await bob.next('broadcast')).toMatchObject({ channel: 'news', from: 'server' });
  });

  it("a crashed node's members leave everyone's presence within the liveness bound", async () => {
    const { shared, nodes } = await cluster(2, { heartbeatMs: 20, nodeTimeoutMs: 100 });
    const [a, b] = nodes as [RoomServer, RoomServer];
    const alice = await joined(a, 'alice', 'fragile');
    await joined(b, 'bob', 'fragile');
    await seesExactly(alice, 'fragile', ['alice', 'bob']);
    const crashedAt = Date.now();
    shared.crash('node-1');
    expect(await alice.next('room:user:left', 5000)).toMatchObject({ payload: 'bob' });
    await seesExactly(alice, 'fragile', ['alice']);
    // nodeTimeoutMs plus at most one heartbeatMs, with slack for a loaded machine.
    expect(Date.now() - crashedAt).toBeLessThan(3000);
    expect(a.getRoomManager().getUsers('fragile')).toEqual(['alice']);
  });

  it("listeners hear a crashed node's members, per room, once", async () => {
    const { shared, nodes } = await cluster(2, { heartbeatMs: 20, nodeTimeoutMs: 100 });
    const [a, b] = nodes as [RoomServer, RoomServer];
    const heard: Array<{ room: string; lost: string[]; node: string }> = [];
    a.getRoomManager().listen({
      membersLost: (room, lost, node) =>
        heard.push({ room: room.id, lost: lost.map((m) => m.user.userId).sort(), node }),
    });
    const alice = await joined(a, 'alice', 'one');
    await joined(b, 'bob', 'one');
    await joined(b, 'bob', 'two');
    await joined(b, 'carol', 'one');
    await seesExactly(alice, 'one', ['alice', 'bob', 'carol']);
    shared.crash('node-1');
    await waitUntil(() => heard.length > 0, 5000, 'the crash to be heard');
    // Room "two" is not held on node 0 (no member there): nothing to tell of it.
    expect(heard).toEqual([{ room: 'one', lost: ['bob', 'carol'], node: 'node-1' }]);
  });
});

/** What a presence-delta client holds: the snapshot, then each delta applied. */
function deltaView(client: TestClient, room: string): Map<string, PresenceUser> {
  const view = new Map<string, PresenceUser>();
  for (const message of client.received) {
    if (message.room !== room) continue;
    if (message.type === 'presence') {
      view.clear();
      for (const user of usersOf(message)) view.set(user.userId, user);
    } else if (message.type === 'presence:delta') {
      for (const userId of (message.left as string[] | undefined) ?? []) view.delete(userId);
      for (const user of (message.joined as PresenceUser[] | undefined) ?? []) {
        view.set(user.userId, user);
      }
      for (const changes of (message.updated as Partial<PresenceUser>[] | undefined) ?? []) {
        const user = view.get(changes.userId!);
        if (!user) continue;
        for (const [field, value] of Object.entries(changes)) {
          if (value === null) delete (user as unknown as Record<string, unknown>)[field];
          else (user as unknown as Record<string, unknown>)[field] = value;
        }
      }
    }
  }
  return view;
}

/** What a whole-list client holds: its latest list. */
function listView(client: TestClient, room: string): Map<string, PresenceUser> {
  const lists = client.received.filter((m) => m.type === 'presence' && m.room === room);
  const last = lists.at(-1);
  return new Map(last ? usersOf(last).map((user) => [user.userId, user]) : []);
}

/** The fields every member must agree on (times of activity may differ between a list and a delta). */
function comparable(view: Map<string, PresenceUser>): string {
  return JSON.stringify(
    [...view.values()]
      .map(({ userId, location, connections, metadata, onlineStatus }) => ({
        userId,
        location: location ?? null,
        connections,
        metadata: metadata ?? null,
        onlineStatus,
      }))
      .sort((x, y) => x.userId.localeCompare(y.userId)),
  );
}

describe('property: every member ends with the same view', () => {
  type Step =
    | { op: 'join'; user: number; node: number; deltas: boolean }
    | { op: 'leave'; slot: number }
    | { op: 'update'; slot: number; location: string }
    | { op: 'state'; slot: number; key: string; value: number }
    | { op: 'drop'; slot: number };

  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({
      op: fc.constant('join' as const),
      user: fc.integer({ min: 0, max: 4 }),
      node: fc.integer({ min: 0, max: 1 }),
      deltas: fc.boolean(),
    }),
    fc.record({ op: fc.constant('leave' as const), slot: fc.nat() }),
    fc.record({
      op: fc.constant('update' as const),
      slot: fc.nat(),
      location: fc.constantFrom('a', 'b', 'c'),
    }),
    fc.record({
      op: fc.constant('state' as const),
      slot: fc.nat(),
      key: fc.constantFrom('x', 'y'),
      value: fc.integer(),
    }),
    fc.record({ op: fc.constant('drop' as const), slot: fc.nat() }),
  );

  it('after random joins, leaves, updates, writes and drops on random nodes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 14 }), async (steps) => {
        const { nodes } = await cluster();
        const room = 'prop';
        const live: { client: TestClient; deltas: boolean; user: string }[] = [];
        for (const s of steps) {
          if (s.op === 'join') {
            const user = `u${s.user}`;
            const node = nodes[s.node]!;
            const query: Record<string, string> = s.deltas
              ? { capabilities: 'presence-delta' }
              : {};
            const { client, answer } = await member(node, user, room, {}, query);
            expect(answer.type).toBe('ack');
            live.push({ client, deltas: s.deltas, user });
            continue;
          }
          if (live.length === 0) continue;
          const index = s.slot % live.length;
          const target = live[index]!;
          if (s.op === 'leave') {
            await target.client.request({ type: 'room:leave', room });
            target.client.terminate();
            live.splice(index, 1);
          } else if (s.op === 'drop') {
            target.client.terminate();
            live.splice(index, 1);
          } else if (s.op === 'update') {
            await target.client.request({ type: 'presence:update', room, location: s.location });
          } else {
            await target.client.request({ type: 'state:update', room, key: s.key, value: s.value });
          }
        }
        if (live.length === 0) return;
        const expected = [...new Set(live.map((m) => m.user))].sort().join(',');
        // Settled: every member's view names exactly the members left, and all views agree.
        await waitUntil(
          () => {
            const views = live.map((m) => (m.deltas ? deltaView : listView)(m.client, room));
            const names = views.map((view) => [...view.keys()].sort().join(','));
            if (names.some((name) => name !== expected)) return false;
            return new Set(views.map(comparable)).size === 1;
          },
          5000,
          'identical presence views',
        );
        // Live state: both nodes hold the same entries.
        const states = nodes.map((node) =>
          JSON.stringify(node.getRoomManager().get(room)?.liveState.snapshot() ?? null),
        );
        const held = states.filter((state) => state !== 'null');
        expect(new Set(held).size).toBeLessThanOrEqual(1);
        for (const m of live) m.client.terminate();
      }),
      { numRuns: 15 },
    );
  });
});
