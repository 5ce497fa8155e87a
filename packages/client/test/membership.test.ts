import { describe, expect, it } from 'vitest';
import { usePresence, useRoom, WebSocketClient } from '../src/index.js';
import { connectClient, nextMessage, startServer, until } from './helpers.js';

describe('useRoom', () => {
  it('join() fills room(), users() and isJoined(); leave() empties them', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const ra = useRoom({ client: alice, roomId: 'project-1', user: { id: 'x', name: 'Alice' } });
    const rb = useRoom({ client: bob, roomId: 'project-1' });
    expect(ra.room()).toBeNull();
    expect(ra.users()).toEqual([]);
    expect(ra.isJoined()).toBe(false);
    expect(ra.error()).toBeNull();
    const before = Date.now();
    expect(await ra.join()).toBe(true);
    expect(await rb.join()).toBe(true);
    await until(ra.users, (users) => users.length === 2);
    const room = ra.room()!;
    expect(room.id).toBe('project-1');
    expect(room.users.map((u) => u.id).sort()).toEqual(['alice', 'bob']);
    expect(room.createdAt).toBeInstanceOf(Date);
    expect(room.createdAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(room.createdAt.getTime()).toBeLessThanOrEqual(Date.now());
    await until(rb.users, (users) => users.some((u) => u.id === 'alice' && u.name === 'Alice'));

    ra.leave();
    await until(ra.isJoined, (joined) => !joined);
    expect(ra.room()).toBeNull();
    expect(ra.users()).toEqual([]);
    await until(rb.users, (users) => users.length === 1, 5000, 'alice gone for bob');
    expect(await ra.join()).toBe(true);
    await until(rb.users, (users) => users.length === 2);
  });

  it('broadcast() reaches the others and echoes to my own on() handlers', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const ra = useRoom({ client: alice, roomId: 'chat' });
    const rb = useRoom({ client: bob, roomId: 'chat' });
    await ra.join();
    await rb.join();
    const atBob = nextMessage<{ text: string }>(bob, 'chat:message');
    const echo = nextMessage<{ text: string }>(alice, 'chat:message');
    ra.broadcast('chat:message', { text: 'hi' });
    const [, mine] = await echo;
    expect(mine).toMatchObject({
      type: 'chat:message',
      payload: { text: 'hi' },
      room: 'chat',
      from: 'alice',
    });
    const [payload, message] = await atBob;
    expect(payload).toEqual({ text: 'hi' });
    expect(message).toMatchObject({ room: 'chat', from: 'alice', timestamp: expect.any(Number) });
  });

  it('an echoed message named like a server message does not touch the room', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const ra = useRoom({ client: alice, roomId: 'chat' });
    await ra.join();
    await until(ra.users, (users) => users.length === 1);
    ra.broadcast('presence', { users: [] });
    ra.broadcast('room:left', {});
    expect(ra.users()).toHaveLength(1);
    expect(ra.isJoined()).toBe(true);
  });

  it('error() tells why a join was refused; join() retries', async () => {
    let allowed = false;
    const server = await startServer({
      auth: {
        authenticate: (req) => {
          const userId = new URL(req.url ?? '/', 'http://x').searchParams.get('userId') ?? 'anon';
          return { userId, displayName: userId };
        },
        authorizeRoom: () => allowed,
      },
    });
    const alice = connectClient(server, 'alice');
    const ra = useRoom({ client: alice, roomId: 'private' });
    expect(await ra.join()).toBe(false);
    expect(ra.error()).toMatchObject({ name: 'RoomkitError', code: 'forbidden' });
    expect(ra.isJoined()).toBe(false);
    allowed = true;
    expect(await ra.join()).toBe(true);
    expect(ra.error()).toBeNull();
  });

  it('join() before the connection resolves once connected', async () => {
    const server = await startServer();
    const alice = new WebSocketClient({
      url: `ws://127.0.0.1:${server.port}/rooms`,
      params: { userId: 'alice' },
    });
    const ra = useRoom({ client: alice, roomId: 'later' });
    const joined = ra.join();
    alice.connect();
    expect(await joined).toBe(true);
    alice.disconnect();
    expect(ra.isJoined()).toBe(false);
  });

  it('leave() leaves at once: isJoined() is false when it returns, and join() works again', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const ra = useRoom({ client: alice, roomId: 'now' });
    const rb = useRoom({ client: bob, roomId: 'now' });
    await ra.join();
    await rb.join();
    await until(ra.users, (users) => users.length === 2);

    ra.leave();
    expect(ra.isJoined()).toBe(false);
    expect(ra.room()).toBeNull();
    expect(ra.users()).toEqual([]);
    expect(alice.room('now').isJoined.peek()).toBe(false);
    await until(rb.users, (users) => users.length === 1, 5000, 'alice gone for bob');

    expect(await ra.join()).toBe(true);
    expect(ra.isJoined()).toBe(true);
    await until(rb.users, (users) => users.length === 2, 5000, 'alice back for bob');
    await until(ra.users, (users) => users.length === 2, 5000, 'alice sees both');
  });

  it('leave() then join() in the same tick: left at once, then joined again', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const ra = useRoom({ client: alice, roomId: 'again' });
    const rb = useRoom({ client: bob, roomId: 'again' });
    await ra.join();
    await rb.join();
    await until(rb.users, (users) => users.length === 2);
    ra.leave();
    expect(ra.isJoined()).toBe(false);
    const joined = ra.join();
    expect(ra.isJoined()).toBe(false);
    expect(await joined).toBe(true);
    expect(ra.isJoined()).toBe(true);
    await until(ra.users, (users) => users.length === 2, 5000, 'alice sees both again');
    // The server has alice in the room: bob's message reaches her.
    const atAlice = nextMessage<{ n: number }>(alice, 'ping');
    rb.broadcast('ping', { n: 1 });
    expect((await atAlice)[0]).toEqual({ n: 1 });
  });

  it('leave() while the join is in flight: not joined at once, the join resolves false', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    await until(alice.status, (status) => status === 'connected');
    const ra = useRoom({ client: alice, roomId: 'flight' });
    const rb = useRoom({ client: bob, roomId: 'flight' });
    const first = ra.join();
    // The join goes out on the next microtask; leave before its reply.
    await Promise.resolve();
    ra.leave();
    expect(ra.isJoined()).toBe(false);
    expect(await first).toBe(false);
    expect(await rb.join()).toBe(true);
    await until(rb.users, (users) => users.length === 1, 5000, 'bob alone');
    expect(ra.isJoined()).toBe(false);
    expect(await ra.join()).toBe(true);
    await until(rb.users, (users) => users.length === 2, 5000, 'alice joined for bob');
  });

  it('dispose() and a new hold in the same tick keep the room joined (nothing on the wire)', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const room = alice.room('remount');
    const first = room.membership();
    await first.join();
    const seen: boolean[] = [];
    const stop = room.isJoined.subscribe((joined) => seen.push(joined));
    // A component re-mounting: its feature is disposed and a new one holds the room at once.
    first.dispose();
    const second = room.membership();
    const again = second.join();
    expect(room.isJoined.peek()).toBe(true);
    // The release's microtask ran before this await resumed: a leave would show by now.
    expect(await again).toBe(true);
    stop();
    expect(seen).toEqual([]);
  });

  it('leave() keeps the room while another feature holds it', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const ra = useRoom({ client: alice, roomId: 'shared' });
    const presence = usePresence({ client: alice, room: 'shared' });
    await ra.join();
    ra.leave();
    expect(ra.isJoined()).toBe(true);
    await Promise.resolve();
    expect(presence.isConnected()).toBe(true);
    presence.dispose();
    await until(ra.isJoined, (joined) => !joined);
  });

  it('a room removed by the server reports room_left and can be joined again', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const ra = useRoom({ client: alice, roomId: 'temp' });
    await ra.join();
    server.getRoomManager().remove('temp');
    await until(ra.error, (error) => error?.code === 'room_left');
    expect(ra.isJoined()).toBe(false);
    expect(await ra.join()).toBe(true);
    expect(ra.error()).toBeNull();
  });
});
