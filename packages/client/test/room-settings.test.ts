/**
 * Room passwords, maxUsers, room:info (metadata, createdAt), room:user:joined/left and server
 * broadcast channels. Each block runs only if the server speaks that part of the protocol
 * (probed below), since the server side landed alongside the client.
 */
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RoomServer } from '../../server/src/index.js';
import { useBroadcast, useRoom } from '../src/index.js';
import { connectClient, dropConnections, nextMessage, startServer, until } from './helpers.js';

/** Sends `message` (with a ref) to a fresh server and returns the error code of the reply, if any. */
async function probe(message: Record<string, unknown>): Promise<string | null> {
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  const server = new RoomServer({ logger: silent });
  await server.start(0);
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/rooms/probe`);
    const reply = await new Promise<Record<string, unknown>>((resolve, reject) => {
      ws.on('error', reject);
      ws.on('open', () => ws.send(JSON.stringify({ ...message, ref: 'probe' })));
      ws.on('message', (data) => {
        const parsed = JSON.parse(String(data)) as Record<string, unknown>;
        if (parsed.ref === 'probe') resolve(parsed);
      });
    });
    ws.terminate();
    return reply.type === 'error' ? String(reply.code) : null;
  } finally {
    await server.stop();
  }
}

const serverHasRoomSettings =
  (await probe({ type: 'room:join', room: 'other', password: 'x' })) !== 'invalid_message';
// With broadcast channels, an invalid channel is refused; before them, `broadcast` was relayed.
const serverHasBroadcast = (await probe({ type: 'broadcast', channel: 'has space' })) !== null;

describe.skipIf(!serverHasRoomSettings)('room settings', () => {
  it('a password is required by every later join; wrong_password in error()', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const owner = useRoom({ client: alice, roomId: 'vault', password: 'secret' });
    expect(await owner.join()).toBe(true);
    expect(alice.room('vault').info()).toMatchObject({ hasPassword: true });

    const bob = connectClient(server, 'bob');
    const none = useRoom({ client: bob, roomId: 'vault' });
    expect(await none.join()).toBe(false);
    expect(none.error()).toMatchObject({ code: 'wrong_password' });

    const carol = connectClient(server, 'carol');
    const wrong = useRoom({ client: carol, roomId: 'vault', password: 'guess' });
    expect(await wrong.join()).toBe(false);
    expect(wrong.error()?.code).toBe('wrong_password');

    const dave = connectClient(server, 'dave');
    const right = useRoom({ client: dave, roomId: 'vault', password: 'secret' });
    expect(await right.join()).toBe(true);
    await until(owner.users, (users) => users.length === 2);
  });

  it('the password is used again when the client rejoins after a reconnect', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const owner = useRoom({ client: alice, roomId: 'vault', password: 'secret' });
    await owner.join();
    const member = useRoom({ client: bob, roomId: 'vault', password: 'secret' });
    await member.join();
    dropConnections(server, 'bob');
    await until(member.isJoined, (joined) => !joined);
    await until(member.isJoined, Boolean, 5000, 'the rejoin');
    expect(member.error()).toBeNull();
  });

  it('maxUsers admits that many users (any number of their tabs), then room_full', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const owner = useRoom({ client: alice, roomId: 'small', maxUsers: 2 });
    expect(await owner.join()).toBe(true);
    expect(alice.room('small').info()?.maxUsers).toBe(2);
    const bob = useRoom({ client: connectClient(server, 'bob'), roomId: 'small' });
    expect(await bob.join()).toBe(true);
    const carol = useRoom({ client: connectClient(server, 'carol'), roomId: 'small' });
    expect(await carol.join()).toBe(false);
    expect(carol.error()?.code).toBe('room_full');
    const aliceTab2 = useRoom({ client: connectClient(server, 'alice'), roomId: 'small' });
    expect(await aliceTab2.join()).toBe(true);
  });

  it('room() carries the metadata and createdAt of room:info, live', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const before = Date.now();
    const owner = useRoom({ client: alice, roomId: 'meta', metadata: { topic: 'design' } });
    await owner.join();
    const created = owner.room()!;
    expect(created.metadata).toEqual({ topic: 'design' });
    expect(created.createdAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
    // A later joiner's settings are ignored: it sees the room as it was created.
    const bob = useRoom({
      client: connectClient(server, 'bob'),
      roomId: 'meta',
      metadata: { topic: 'x' },
    });
    await bob.join();
    expect(bob.room()!.metadata).toEqual({ topic: 'design' });
    expect(bob.room()!.createdAt.getTime()).toBe(created.createdAt.getTime());
    server.getRoomManager().get('meta')!.setMetadata({ topic: 'review' });
    await until(bob.room, (room) => room?.metadata?.topic === 'review');
  });

  it('room:user:joined / room:user:left reach the others, once per user', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    await useRoom({ client: alice, roomId: 'events' }).join();
    const joined = nextMessage<{ userId: string; user: { userId: string } }>(
      alice,
      'room:user:joined',
    );
    const bobTab1 = useRoom({ client: connectClient(server, 'bob'), roomId: 'events' });
    await bobTab1.join();
    const [payload, message] = await joined;
    expect(payload).toMatchObject({ userId: 'bob', user: { userId: 'bob', displayName: 'bob' } });
    expect(message).toMatchObject({ room: 'events', timestamp: expect.any(Number) });

    const events: string[] = [];
    alice.on('room:user:joined', () => events.push('joined'));
    alice.on('room:user:left', () => events.push('left'));
    const bobTab2 = useRoom({ client: connectClient(server, 'bob'), roomId: 'events' });
    await bobTab2.join();
    bobTab2.leave();
    await until(bobTab2.isJoined, (j) => !j);
    const left = nextMessage<string>(alice, 'room:user:left');
    bobTab1.leave();
    expect((await left)[0]).toBe('bob');
    expect(events).toEqual(['left']);
  });
});

describe.skipIf(!serverHasBroadcast)('broadcast channels on the server', () => {
  it('server code publishes into a channel with from "server"', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const news = useBroadcast<{ headline: string }>({
      client: alice,
      room: 'lobby',
      channel: 'news',
    });
    await until(alice.room('lobby').isJoined, Boolean);
    expect(server.broadcast('lobby', 'news', { headline: 'hi' })).toBe(true);
    const [message] = await until(news.history, (h) => h.length === 1);
    expect(message).toMatchObject({ headline: 'hi', from: 'server' });
  });

  it("a user's other tabs receive its channel messages", async () => {
    const server = await startServer();
    const tab1 = useBroadcast<{ n: number }>({
      client: connectClient(server, 'alice'),
      room: 'r',
      channel: 'c',
    });
    const tab2Client = connectClient(server, 'alice');
    const tab2 = useBroadcast<{ n: number }>({ client: tab2Client, room: 'r', channel: 'c' });
    await until(tab2Client.room('r').members, (m) => m[0]?.connections === 2);
    tab1.broadcast({ n: 1 });
    const [message] = await until(tab2.history, (h) => h.length === 1);
    expect(message).toMatchObject({ n: 1, from: 'alice' });
    expect(tab1.history()).toHaveLength(1);
  });
});
