import { expect, it } from 'vitest';
import type { RoomServer } from '../src/index.js';
import { type TestClient, waitUntil } from './helpers.js';
import { call } from './spaces-rest-helpers.js';
import {
  enter,
  joinSpace,
  nextMessage,
  onBothDatabases,
  signedInOn,
  startSpacesCluster,
  tokenFor,
} from './spaces-ws-helpers.js';

/**
 * Spaces on two nodes of one cluster sharing one store, each client placed on a chosen node: the
 * host's kicks and bans, REST leaves, state changes and deletions run on node 0 and reach the
 * members on node 1; a seat goes offline with the user's last tab anywhere; capacity holds.
 */

const alice = { id: 'alice', displayName: 'Alice' };

/** The node's own connections in the room (0 when it does not hold the room). */
function localMembers(node: RoomServer, roomId: string): number {
  return node.getRoomManager().get(roomId)?.localSize ?? 0;
}

/**
 * Sends a message from `from` and waits until `to` has it: the room's earlier events have reached
 * `to` by then, so an absence can be asserted.
 */
async function settle(from: TestClient, to: TestClient, roomId: string): Promise<void> {
  const content = `sentinel ${Math.random().toString(36).slice(2)}`;
  from.send({ type: 'room:message', room: roomId, messageType: 'user_text', content });
  await nextMessage(to, (m) => m.content === content);
}

onBothDatabases('Spaces across two nodes', (open) => {
  it('a kick and a ban on node 0 take the user out on node 1; the room is told once', async () => {
    const { nodes, hubs } = await startSpacesCluster(open);
    const [n0, n1] = nodes as [RoomServer, RoomServer];
    const room = await hubs[0]!.createRoom(alice, { name: 'R' });
    const a = await signedInOn(n0, 'alice', 'Alice');
    const b = await signedInOn(n1, 'bob', 'Bob');
    const c1 = await signedInOn(n1, 'carol', 'Carol');
    await enter(a, room.id);
    await enter(b, room.id);
    await enter(c1, room.id);

    expect((await a.request({ type: 'room:kick', room: room.id, userId: 'carol' })).type).toBe(
      'ack',
    );
    expect(await c1.next('room:left')).toMatchObject({ room: room.id, reason: 'kicked' });
    expect(await b.next('room:participant-left')).toMatchObject({
      userId: 'carol',
      reason: 'kicked',
    });
    expect(n1.getRoomManager().getUsers(room.id).sort()).toEqual(['alice', 'bob']);
    // Kicked, not banned: carol comes back, with a second tab on node 0.
    expect((await joinSpace(c1, room.id)).type).toBe('room:joined');
    const c0 = await signedInOn(n0, 'carol', 'Carol');
    await enter(c0, room.id);

    // The ban over REST, on node 0: carol's tabs on both nodes are out.
    const banned = await call(n0, 'POST', `/api/rooms/${room.id}/kick`, {
      token: await tokenFor('alice', 'Alice'),
      body: { userId: 'carol', ban: true },
    });
    expect(banned.status).toBe(200);
    expect(await c0.next('room:left')).toMatchObject({ reason: 'banned' });
    expect(await c1.next('room:left')).toMatchObject({ reason: 'banned' });
    expect(await joinSpace(c1, room.id)).toMatchObject({ type: 'room:error', code: 'banned' });
    for (const node of nodes) expect(node.getRoomManager().isInRoom(room.id, 'carol')).toBe(false);
    await settle(a, b, room.id);
    expect(b.all('room:participant-left').map((m) => m.reason)).toEqual(['kicked', 'banned']);
    const removals = b
      .all('room:message-received')
      .map((m) => (m.message as { content: string }).content)
      .filter((content) => content.startsWith('Carol was'));
    expect(removals).toEqual(['Carol was removed', 'Carol was banned']);
  });

  it("a seat goes offline once the user's last tab anywhere is gone", async () => {
    const { nodes, hubs } = await startSpacesCluster(open);
    const [n0, n1] = nodes as [RoomServer, RoomServer];
    const room = await hubs[0]!.createRoom(alice, { name: 'R' });
    const a = await signedInOn(n0, 'alice', 'Alice');
    const b0 = await signedInOn(n0, 'bob', 'Bob');
    const b1 = await signedInOn(n1, 'bob', 'Bob');
    await enter(a, room.id);
    await enter(b1, room.id);
    await a.next('room:participant-joined');
    // The second tab, on the other node: bob is online already, nothing to announce.
    await enter(b0, room.id);

    await b1.close();
    await waitUntil(() => localMembers(n1, room.id) === 0, 3000, "node 1's tab to leave");
    await settle(b0, a, room.id);
    expect(a.all('room:participant-left')).toEqual([]);
    expect(a.all('room:participant-joined')).toHaveLength(1);
    const online = (await hubs[0]!.participants(alice, room.id)).find((p) => p.userId === 'bob');
    expect(online).toMatchObject({ isOnline: true });

    await b0.close();
    expect(await a.next('room:participant-left')).toMatchObject({
      userId: 'bob',
      reason: 'disconnected',
    });
    await expect
      .poll(async () => {
        const seats = await hubs[1]!.participants(alice, room.id);
        return seats.find((p) => p.userId === 'bob')?.isOnline;
      })
      .toBe(false);
    // Back on node 1: announced once more, as a user who came back.
    const again = await signedInOn(n1, 'bob', 'Bob');
    await enter(again, room.id);
    expect(await a.next('room:participant-joined')).toMatchObject({
      participant: { userId: 'bob', isOnline: true },
    });
    await settle(again, a, room.id);
    expect(a.all('room:participant-left')).toHaveLength(1);
  });

  it('REST on node 0 reaches members on node 1: state, a leave, then the deletion', async () => {
    const { nodes, hubs } = await startSpacesCluster(open);
    const [n0, n1] = nodes as [RoomServer, RoomServer];
    const room = await hubs[0]!.createRoom(alice, { name: 'R' });
    const a = await signedInOn(n1, 'alice', 'Alice');
    const b = await signedInOn(n1, 'bob', 'Bob');
    await enter(a, room.id);
    await enter(b, room.id);
    // Node 0 holds nothing of the room: everything it does travels on the bus.
    expect(n0.getRoomManager().get(room.id)).toBeUndefined();
    const aliceToken = await tokenFor('alice', 'Alice');

    const state = await call(n0, 'PATCH', `/api/rooms/${room.id}/state`, {
      token: aliceToken,
      body: { currentMode: 'calm' },
    });
    expect(state.status).toBe(200);
    expect(await b.next('room:state-updated')).toMatchObject({ state: { currentMode: 'calm' } });
    await hubs[0]!.postServerMessage(room.id, 'from node 0');
    expect((await nextMessage(b, (m) => m.content === 'from node 0')).userId).toBeNull();

    const left = await call(n0, 'DELETE', `/api/rooms/${room.id}/leave`, {
      token: await tokenFor('bob', 'Bob'),
    });
    expect(left.status).toBe(200);
    expect(await b.next('room:left')).toMatchObject({ room: room.id, reason: 'left' });
    expect(await a.next('room:participant-left')).toMatchObject({ userId: 'bob', reason: 'left' });
    expect(n1.getRoomManager().isInRoom(room.id, 'bob')).toBe(false);

    const deleted = await call(n0, 'DELETE', `/api/rooms/${room.id}`, { token: aliceToken });
    expect(deleted.status).toBe(200);
    expect(await a.next('room:left')).toMatchObject({ room: room.id, reason: 'room removed' });
    for (const node of nodes) {
      expect(node.getRoomManager().get(room.id)).toBeUndefined();
      expect(node.getRoomManager().getRoomCount()).toBe(0);
    }
  });

  it("cleanup on node 0 takes a deleted room's members out on node 1", async () => {
    const { nodes, hubs, store } = await startSpacesCluster(open);
    const [, n1] = nodes as [RoomServer, RoomServer];
    const room = await hubs[0]!.createRoom(alice, { name: 'idle' });
    const b = await signedInOn(n1, 'bob', 'Bob');
    await enter(b, room.id);
    await store.db.updateTable('rooms').set({ last_activity: 0 }).execute();
    await store.db.updateTable('room_participants').set({ last_seen: 0 }).execute();
    expect(await hubs[0]!.cleanupNow()).toEqual([room.id]);
    expect(await b.next('room:left')).toMatchObject({ room: room.id, reason: 'room removed' });
    expect(n1.getRoomManager().get(room.id)).toBeUndefined();
  });

  it("a crashed node's users go offline on the other nodes, announced once", async () => {
    const { nodes, hubs, cluster, store } = await startSpacesCluster(
      open,
      3,
      {},
      {
        heartbeatMs: 50,
        nodeTimeoutMs: 200,
      },
    );
    const [n0, n1, n2] = nodes as [RoomServer, RoomServer, RoomServer];
    const room = await hubs[0]!.createRoom(alice, { name: 'R' });
    const a = await signedInOn(n0, 'alice', 'Alice');
    const c = await signedInOn(n2, 'carol', 'Carol');
    const b = await signedInOn(n1, 'bob', 'Bob');
    // Dave has a tab on the doomed node and one on a surviving node: he stays online.
    const d1 = await signedInOn(n1, 'dave', 'Dave');
    const d2 = await signedInOn(n2, 'dave', 'Dave');
    for (const client of [a, c, b, d1, d2]) await enter(client, room.id);
    await settle(b, c, room.id);

    const crashedAt = Date.now();
    cluster.crash('node-1');
    expect(await a.next('room:participant-left', 5000)).toMatchObject({
      userId: 'bob',
      displayName: 'Bob',
      reason: 'disconnected',
    });
    // nodeTimeoutMs plus at most one heartbeatMs and a store write, with slack for a loaded machine.
    expect(Date.now() - crashedAt).toBeLessThan(3000);
    const seats = await hubs[0]!.participants(alice, room.id);
    expect(seats.find((p) => p.userId === 'bob')).toMatchObject({ isOnline: false });
    expect(seats.find((p) => p.userId === 'dave')).toMatchObject({ isOnline: true });

    // Both surviving nodes heard the crash: their Spaces work done, the room was told once.
    await hubs[0]!.stop();
    await hubs[2]!.stop();
    await settle(a, c, room.id);
    await settle(c, a, room.id);
    for (const client of [a, c]) {
      expect(client.all('room:participant-left').map((m) => m.userId)).toEqual(['bob']);
    }
    const notes = await store.db
      .selectFrom('room_messages')
      .select('content')
      .where('room_id', '=', room.id)
      .where('message_type', '=', 'system')
      .where('content', 'like', '% disconnected')
      .execute();
    expect(notes.map((n) => n.content)).toEqual(['Bob disconnected']);
  });

  it('racing joins for the last seats from both nodes: capacity holds', async () => {
    const { nodes, hubs } = await startSpacesCluster(open);
    const room = await hubs[0]!.createRoom(alice, { name: 'R', maxParticipants: 3 });
    const racers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => signedInOn(nodes[i % 2]!, `racer${i}`)),
    );
    const answers = await Promise.all(racers.map((c) => joinSpace(c, room.id)));
    const joined = answers.filter((answer) => answer.type === 'room:joined');
    expect(joined).toHaveLength(3);
    expect(answers.filter((answer) => answer.code === 'room_full')).toHaveLength(5);
    expect(await hubs[1]!.participants(alice, room.id)).toHaveLength(3);
    for (const node of nodes) expect(node.getRoomManager().getUsers(room.id)).toHaveLength(3);
  });
});
