import { describe, expect, it } from 'vitest';
import { InProcessCluster, type InProcessClusterOptions, type RoomServer } from '../src/index.js';
import { Member } from './fixtures/live-components.js';
import { startServer, type TestClient } from './helpers.js';
import { allOf, connectAs, mount, result } from './live-helpers.js';

const KEY = 'test-key-0123456789abcdef';

/** Nodes of one in-process cluster, each a real server on its own port, with `Member`. */
async function cluster(count = 2, options: InProcessClusterOptions = {}): Promise<RoomServer[]> {
  const shared = new InProcessCluster(options);
  const nodes: RoomServer[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push(
      await startServer({
        bus: shared.bus(`node-${i}`),
        components: { Member },
        api: { keys: [KEY] },
      }),
    );
  }
  return nodes;
}

/** A client on `node` with a `Member` mounted, joined to `room` (seeding it with `initial`). */
async function memberIn(
  node: RoomServer,
  userId: string,
  room: string,
  initial?: Record<string, unknown>,
): Promise<{ client: TestClient; id: string }> {
  const client = await connectAs(node, userId);
  const id = await mount(client, 'Member');
  await result(client, id, 'join', initial ? { room, initial } : { room });
  return { client, id };
}

/** The state of the component's latest `live:room-state` of `room`. */
function roomStateOf(client: TestClient, id: string, room: string): unknown {
  return allOf(client, 'live:room-state', id)
    .filter((m) => m.room === room)
    .at(-1)?.state;
}

/** The `events` the component's latest `live:state` carried. */
function eventsOf(client: TestClient, id: string): unknown {
  const frames = allOf(client, 'live:state', id).filter((m) => 'events' in (m.patch as object));
  return (frames.at(-1)?.patch as { events?: unknown } | undefined)?.events ?? [];
}

describe('live rooms across the nodes of a cluster', () => {
  it('membership and state are the whole cluster’s: a joiner on B gets what was set on A, and state set on B reaches A', async () => {
    const [a, b] = (await cluster()) as [RoomServer, RoomServer];
    const alice = await memberIn(a, 'alice', 'r', { topic: 'hello' });
    // The room exists on A: B's join takes its state and does not seed it again.
    const bob = await memberIn(b, 'bob', 'r', { topic: 'ignored', extra: 1 });
    expect(roomStateOf(bob.client, bob.id, 'r')).toEqual({ topic: 'hello' });
    for (const node of [a, b]) {
      await expect
        .poll(() => node.liveRooms.getRoomMembers('r').sort())
        .toEqual([alice.id, bob.id].sort());
      expect(node.liveRooms.isInRoom(bob.id, 'r')).toBe(true);
    }

    expect(
      await result(bob.client, bob.id, 'setRoomState', { room: 'r', updates: { n: 1 } }),
    ).toEqual({ topic: 'hello', n: 1 });
    const want = { topic: 'hello', n: 1 };
    await expect.poll(() => roomStateOf(alice.client, alice.id, 'r')).toEqual(want);
    expect(roomStateOf(bob.client, bob.id, 'r')).toEqual(want);
    expect(a.liveRooms.getRoomState('r')).toEqual(want);

    // A later write on A orders after the one it saw from B (the hybrid logical clock).
    await result(alice.client, alice.id, 'setRoomState', { room: 'r', updates: { n: 2 } });
    await expect.poll(() => b.liveRooms.getRoomState('r')).toEqual({ topic: 'hello', n: 2 });
    await expect.poll(() => roomStateOf(bob.client, bob.id, 'r')).toEqual({ topic: 'hello', n: 2 });

    // emit reaches the member on the other node, never the sender, and counts the cluster.
    expect(await result(alice.client, alice.id, 'emit', { room: 'r', data: 'hi' })).toBe(1);
    await expect.poll(() => eventsOf(bob.client, bob.id)).toEqual([{ room: 'r', data: 'hi' }]);
    expect(eventsOf(alice.client, alice.id)).toEqual([]);

    const stats = {
      rooms: 1,
      components: 2,
      roomDetails: { r: { components: 2, events: 2, stateKeys: 2 } },
    };
    expect(a.liveRooms.getStats()).toEqual(stats);
    expect(b.liveRooms.getStats()).toEqual(stats);
  });

  it('the state goes with the last member of the cluster, not with the last one of a node', async () => {
    const [a, b] = (await cluster()) as [RoomServer, RoomServer];
    const alice = await memberIn(a, 'alice', 'r');
    const bob = await memberIn(b, 'bob', 'r');
    await result(alice.client, alice.id, 'setRoomState', { room: 'r', updates: { kept: true } });
    await expect.poll(() => roomStateOf(bob.client, bob.id, 'r')).toEqual({ kept: true });

    // A's last member leaves: the room lives on on B, and A still answers for it.
    expect(await result(alice.client, alice.id, 'leave', { room: 'r' })).toEqual([]);
    await expect.poll(() => b.liveRooms.getRoomMembers('r')).toEqual([bob.id]);
    expect(a.liveRooms.getRoomMembers('r')).toEqual([bob.id]);
    expect(a.liveRooms.getRoomState('r')).toEqual({ kept: true });
    expect(a.liveRooms.getStats().roomDetails).toEqual({
      r: { components: 1, events: 1, stateKeys: 1 },
    });

    // A new member on A gets the state B kept.
    const carol = await memberIn(a, 'carol', 'r', { kept: false });
    expect(roomStateOf(carol.client, carol.id, 'r')).toEqual({ kept: true });

    // Everyone leaves: the room and its state are gone on every node.
    await result(bob.client, bob.id, 'leave', { room: 'r' });
    await result(carol.client, carol.id, 'leave', { room: 'r' });
    for (const node of [a, b]) {
      expect(node.liveRooms.getStats()).toEqual({ rooms: 0, components: 0, roomDetails: {} });
      expect(node.liveRooms.getRoomState('r')).toEqual({});
      expect(node.liveRooms.setRoomState('r', { x: 1 })).toBe(false);
    }
    const dave = await memberIn(b, 'dave', 'r', { fresh: true });
    expect(roomStateOf(dave.client, dave.id, 'r')).toEqual({ fresh: true });
  });

  it('concurrent writes of one key on two nodes end the same on both: last writer wins', async () => {
    const [a, b] = (await cluster()) as [RoomServer, RoomServer];
    const alice = await memberIn(a, 'alice', 'r');
    const bob = await memberIn(b, 'bob', 'r');
    await expect.poll(() => a.liveRooms.getRoomMembers('r').length).toBe(2);
    // In one turn: neither node has seen the other's write when it makes its own.
    a.liveRooms.setRoomState('r', { k: 'from a', onlyA: 1 });
    b.liveRooms.setRoomState('r', { k: 'from b', onlyB: 1 });
    for (const node of [a, b]) {
      await expect
        .poll(() => node.liveRooms.getRoomState('r'))
        .toMatchObject({ onlyA: 1, onlyB: 1 });
    }
    const final = a.liveRooms.getRoomState('r');
    expect(b.liveRooms.getRoomState('r')).toEqual(final);
    expect(['from a', 'from b']).toContain(final.k);
    await expect.poll(() => roomStateOf(alice.client, alice.id, 'r')).toEqual(final);
    await expect.poll(() => roomStateOf(bob.client, bob.id, 'r')).toEqual(final);
  });

  it('server code on a node without members reaches the room on the others', async () => {
    const [a, b] = (await cluster()) as [RoomServer, RoomServer];
    const bob = await memberIn(b, 'bob', 'r', { topic: 't' });
    expect(a.liveRooms.getRoomState('r')).toEqual({ topic: 't' });
    expect(a.liveRooms.isInRoom(bob.id, 'r')).toBe(true);
    expect(a.liveRooms.setRoomState('r', { by: 'a' })).toBe(true);
    await expect.poll(() => roomStateOf(bob.client, bob.id, 'r')).toEqual({ topic: 't', by: 'a' });
    expect(a.liveRooms.emitToRoom('r', 'ping', 1)).toBe(1);
    await expect.poll(() => eventsOf(bob.client, bob.id)).toEqual([{ room: 'r', data: 1 }]);

    // The HTTP API of A answers for the cluster too.
    const response = await fetch(`http://127.0.0.1:${a.port}/api/rooms/r/emit`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ event: 'ping', data: 2 }),
    });
    expect(await response.json()).toEqual({ success: true, notified: 1 });
    await expect
      .poll(() => eventsOf(bob.client, bob.id))
      .toEqual([
        { room: 'r', data: 1 },
        { room: 'r', data: 2 },
      ]);
    const stats = await fetch(`http://127.0.0.1:${a.port}/api/rooms/stats`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(await stats.json()).toEqual({
      rooms: 1,
      components: 1,
      roomDetails: { r: { components: 1, events: 1, stateKeys: 2 } },
    });
  });

  it('a node that dies takes its members out of the rooms on the other nodes', async () => {
    const shared = new InProcessCluster({ heartbeatMs: 20, nodeTimeoutMs: 100 });
    const [a, b] = (await Promise.all(
      ['node-a', 'node-b'].map((id) =>
        startServer({ bus: shared.bus(id), components: { Member } }),
      ),
    )) as [RoomServer, RoomServer];
    const alice = await memberIn(a, 'alice', 'r');
    await memberIn(b, 'bob', 'r');
    await expect.poll(() => a.liveRooms.getRoomMembers('r').length).toBe(2);
    shared.crash('node-b');
    await expect.poll(() => a.liveRooms.getRoomMembers('r'), { timeout: 3000 }).toEqual([alice.id]);
    expect(await result(alice.client, alice.id, 'emit', { room: 'r' })).toBe(0);
  });
});
