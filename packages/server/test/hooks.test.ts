import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { colorForUser, type Logger, type PresenceUser, type RoomServer } from '../src/index.js';
import {
  connect,
  join,
  presenceWith,
  startServer,
  upgradeStatus,
  usersOf,
  waitUntil,
  wsUrl,
} from './helpers.js';

interface LoggedError {
  fields: Record<string, unknown>;
  message: string | undefined;
}

/** A logger that keeps the errors, so a test can see that a failing hook was reported. */
function recordingLogger(): { logger: Logger; errors: LoggedError[] } {
  const errors: LoggedError[] = [];
  const ignore = () => {};
  return {
    errors,
    logger: {
      debug: ignore,
      info: ignore,
      warn: ignore,
      error: (fields, message) => errors.push({ fields, message }),
    },
  };
}

/** A hook that fails synchronously, asynchronously, or never settles. */
const failures = [
  {
    kind: 'throws',
    fail: (): void => {
      throw new Error('hook exploded');
    },
    logged: true,
  },
  {
    kind: 'rejects',
    fail: async (): Promise<void> => {
      throw new Error('hook rejected');
    },
    logged: true,
  },
  { kind: 'never settles', fail: (): Promise<void> => new Promise(() => {}), logged: false },
] as const;

/** Proves a room still works: a new member joins and a message relays between two members. */
async function expectRoomWorks(server: RoomServer, roomId: string, existingUser: string) {
  const existing = await join(server, roomId, `${existingUser}-again`);
  const newcomer = await join(server, roomId, 'newcomer');
  existing.send({ type: 'still-alive', n: 1 });
  expect(await newcomer.next('still-alive')).toMatchObject({
    from: `${existingUser}-again`,
    room: roomId,
  });
}

describe('onJoin', () => {
  it('fires with the room id and the PresenceUser once the member is in the room', async () => {
    const calls: Array<{ roomId: string; user: PresenceUser; inRoom: boolean }> = [];
    const server: RoomServer = await startServer({
      onJoin(roomId, user) {
        calls.push({
          roomId,
          user,
          inRoom: server.getRoomManager().isInRoom(roomId, user.userId),
        });
      },
    });
    const before = Date.now();
    await join(server, 'join-room', 'alice', 'Alice');

    expect(calls).toHaveLength(1);
    expect(calls[0]).toEqual({
      roomId: 'join-room',
      inRoom: true,
      user: {
        userId: 'alice',
        displayName: 'Alice',
        color: colorForUser('alice'),
        connectedAt: expect.any(Number),
        onlineStatus: 'online',
        lastActiveAt: expect.any(Number),
        isIdle: false,
        connections: 1,
      },
    });
    expect(calls[0]!.user.connectedAt).toBeGreaterThanOrEqual(before);
  });

  it('fires for a room joined by room:join, with that room id', async () => {
    const calls: Array<[string, string]> = [];
    const server = await startServer({
      onJoin: (roomId, user) => {
        calls.push([roomId, user.userId]);
      },
    });
    const bare = await connect(server, '/rooms', 'userId=bea');
    expect(calls).toEqual([]);
    await bare.request({ type: 'room:join', room: 'by-message' });
    expect(calls).toEqual([['by-message', 'bea']]);
  });

  it('fires for every connection, including a second one of the same user', async () => {
    const calls: string[] = [];
    const server = await startServer({
      onJoin: (roomId, user) => {
        calls.push(`${roomId}/${user.userId}`);
      },
    });
    await join(server, 'tabs', 'dana');
    await join(server, 'tabs', 'dana');
    await join(server, 'other', 'dana');
    expect(calls).toEqual(['tabs/dana', 'tabs/dana', 'other/dana']);
  });

  it.each(failures)('a hook that $kind does not break joining or the room', async (failure) => {
    const { logger, errors } = recordingLogger();
    let calls = 0;
    const server = await startServer({
      logger,
      onJoin: () => {
        calls++;
        return failure.fail();
      },
    });
    const alice = await join(server, 'fragile', 'alice');
    expect(alice.received.slice(0, 3).map((m) => m.type)).toEqual([
      'welcome',
      'presence',
      'state:init',
    ]);
    await expectRoomWorks(server, 'fragile', 'alice');
    expect(calls).toBe(3);
    if (failure.logged) {
      await waitUntil(() => errors.length === 3, 3000, 'three logged hook errors');
      expect(errors.every((e) => e.fields.hook === 'onJoin')).toBe(true);
    }
  });
});

describe('onLeave', () => {
  it('fires with the room id and the user when the socket closes, after removal', async () => {
    const calls: Array<{ roomId: string; user: PresenceUser; inRoom: boolean }> = [];
    const server: RoomServer = await startServer({
      onLeave(roomId, user) {
        calls.push({
          roomId,
          user,
          inRoom: server.getRoomManager().isInRoom(roomId, user.userId),
        });
      },
    });
    const alice = await join(server, 'leave-room', 'alice', 'Alice');
    expect(calls).toEqual([]);

    await alice.close();
    await waitUntil(() => calls.length === 1, 3000, 'onLeave');
    expect(calls[0]).toMatchObject({
      roomId: 'leave-room',
      inRoom: false,
      user: {
        userId: 'alice',
        displayName: 'Alice',
        color: colorForUser('alice'),
        onlineStatus: expect.any(String),
      },
    });
  });

  it('fires on room:leave while the socket stays open', async () => {
    const calls: Array<[string, string]> = [];
    const server = await startServer({
      onLeave: (roomId, user) => {
        calls.push([roomId, user.userId]);
      },
    });
    const alice = await join(server, 'stay', 'alice');
    const ack = await alice.request({ type: 'room:leave', room: 'stay' });
    expect(ack.type).toBe('ack');
    expect(calls).toEqual([['stay', 'alice']]);
    expect(await alice.request({ type: 'room:list' })).toMatchObject({ rooms: [] });
    expect(alice.closeCode).toBeNull();
  });

  it('fires once per room for a socket that was in several rooms', async () => {
    const calls: Array<[string, string]> = [];
    const server = await startServer({
      onLeave: (roomId, user) => {
        calls.push([roomId, user.userId]);
      },
    });
    const multi = await join(server, 'home', 'multi');
    await multi.request({ type: 'room:join', room: 'away' });
    await multi.close();
    await waitUntil(() => calls.length === 2, 3000, 'two onLeave calls');
    expect(calls.sort()).toEqual([
      ['away', 'multi'],
      ['home', 'multi'],
    ]);
  });

  it.each(failures)('a hook that $kind does not break leaving or the room', async (failure) => {
    const { logger, errors } = recordingLogger();
    let calls = 0;
    const server = await startServer({
      logger,
      onLeave: () => {
        calls++;
        return failure.fail();
      },
    });
    const alice = await join(server, 'fragile', 'alice');
    const bob = await join(server, 'fragile', 'bob');
    await bob.close();
    await alice.next(presenceWith('fragile', ['alice']));
    expect(calls).toBe(1);

    await alice.close();
    const rooms = server.getRoomManager();
    await waitUntil(() => rooms.hasPendingCleanup('fragile'), 3000, 'cleanup scheduled');
    expect(rooms.get('fragile')?.size).toBe(0);
    await expectRoomWorks(server, 'fragile', 'alice');
    if (failure.logged) {
      await waitUntil(() => errors.length >= 2, 3000, 'logged hook errors');
      expect(errors.every((e) => e.fields.hook === 'onLeave')).toBe(true);
    }
  });
});

describe('onMessage', () => {
  it('fires with room id, sender id and the message for an application type', async () => {
    const calls: Array<[string, string, Record<string, unknown>]> = [];
    const server = await startServer({
      onMessage: (roomId, senderId, message) => {
        calls.push([roomId, senderId, message]);
      },
    });
    const alice = await join(server, 'msgs', 'alice');
    const ack = await alice.request({ type: 'ai:request', prompt: 'draw a cat', n: 2 });
    expect(ack.type).toBe('ack');
    expect(calls).toHaveLength(1);
    const [roomId, senderId, message] = calls[0]!;
    expect(roomId).toBe('msgs');
    expect(senderId).toBe('alice');
    expect(message).toMatchObject({ type: 'ai:request', prompt: 'draw a cat', n: 2 });
  });

  it('fires before the message is relayed to the others', async () => {
    const server: RoomServer = await startServer({
      onMessage: (roomId, senderId, message) => {
        server.broadcastToRoom(
          roomId,
          JSON.stringify({ type: 'seen-by-hook', of: message.type, senderId }),
        );
      },
    });
    const alice = await join(server, 'order', 'alice');
    const bob = await join(server, 'order', 'bob');
    alice.send({ type: 'chat', text: 'hi' });
    await bob.next('chat');
    const types = bob.received
      .map((m) => m.type)
      .filter((t) => t === 'seen-by-hook' || t === 'chat');
    expect(types).toEqual(['seen-by-hook', 'chat']);
    expect(bob.all('seen-by-hook')[0]).toMatchObject({ of: 'chat', senderId: 'alice' });
  });

  it('relays fields the hook adds, but never a from, timestamp or room it sets', async () => {
    const server = await startServer({
      onMessage: (_roomId, _senderId, message) => {
        message.enriched = true;
        message.from = 'hook';
        message.timestamp = 1;
        message.room = 'elsewhere';
      },
    });
    const alice = await join(server, 'enrich', 'alice');
    const bob = await join(server, 'enrich', 'bob');
    alice.send({ type: 'chat', text: 'hi' });
    const got = await bob.next('chat');
    expect(got).toMatchObject({ text: 'hi', enriched: true, from: 'alice', room: 'enrich' });
    expect(got.timestamp).not.toBe(1);
  });

  it('does not fire for built-in message types', async () => {
    const types: unknown[] = [];
    const server = await startServer({
      onMessage: (_roomId, _senderId, message) => {
        types.push(message.type);
      },
    });
    const alice = await join(server, 'builtins', 'alice');
    const builtIns = [
      { type: 'heartbeat' },
      { type: 'presence:update', location: 'p1' },
      { type: 'cursor:update', x: 1, y: 2 },
      { type: 'state:update', key: 'k', value: 1 },
      { type: 'room:list' },
      { type: 'room:join', room: 'second' },
      { type: 'room:leave', room: 'second' },
    ];
    for (const message of builtIns) {
      const reply = await alice.request(message);
      expect(reply.type, message.type).not.toBe('error');
    }
    await alice.request({ type: 'sentinel' });
    expect(types).toEqual(['sentinel']);
  });

  it('names the room the message was sent to, and the sender by its userId', async () => {
    const calls: Array<[string, string]> = [];
    const server = await startServer({
      onMessage: (roomId, senderId) => {
        calls.push([roomId, senderId]);
      },
    });
    const multi = await join(server, 'home', 'multi');
    await multi.request({ type: 'room:join', room: 'away' });
    await multi.request({ type: 'ping', room: 'away', from: 'mallory' });
    await multi.request({ type: 'ping', from: 'mallory' });
    expect(calls).toEqual([
      ['away', 'multi'],
      ['home', 'multi'],
    ]);
  });

  it.each(failures)('a hook that $kind does not stop the relay or the room', async (failure) => {
    const { logger, errors } = recordingLogger();
    let calls = 0;
    const server = await startServer({
      logger,
      onMessage: () => {
        calls++;
        return failure.fail();
      },
    });
    const alice = await join(server, 'fragile', 'alice');
    const bob = await join(server, 'fragile', 'bob');
    for (const n of [1, 2, 3]) {
      const ack = await alice.request({ type: 'chat', n });
      expect(ack.type).toBe('ack');
      expect(await bob.next('chat')).toMatchObject({ n, from: 'alice' });
    }
    expect(calls).toBe(3);
    expect(alice.closeCode).toBeNull();
    await expectRoomWorks(server, 'fragile', 'alice');
    if (failure.logged) {
      await waitUntil(() => errors.length >= 3, 3000, 'logged hook errors');
      expect(errors.every((e) => e.fields.hook === 'onMessage')).toBe(true);
    }
  });
});

describe('auth', () => {
  it('gets the upgrade request, and its result is the identity everyone sees', async () => {
    const seen: Array<{ authorization: string | undefined; url: string | undefined }> = [];
    const joined: PresenceUser[] = [];
    const server = await startServer({
      auth: {
        async authenticate(req: IncomingMessage) {
          seen.push({ authorization: req.headers.authorization, url: req.url });
          if (req.headers.authorization !== 'Bearer good-token') return null;
          return {
            userId: 'u-1',
            displayName: 'Ada',
            avatarUrl: 'https://example.com/ada.png',
            metadata: { plan: 'pro' },
          };
        },
      },
      onJoin: (_roomId, user) => {
        joined.push(user);
      },
    });
    const ada = await connect(server, '/rooms/secure', 'x=1', {
      headers: { Authorization: 'Bearer good-token' },
    });
    await ada.next('state:init');

    expect(seen).toEqual([{ authorization: 'Bearer good-token', url: '/rooms/secure?x=1' }]);
    expect(ada.all('welcome')[0]).toMatchObject({
      userId: 'u-1',
      displayName: 'Ada',
      color: colorForUser('u-1'),
      room: 'secure',
    });
    const expected = {
      userId: 'u-1',
      displayName: 'Ada',
      color: colorForUser('u-1'),
      avatarUrl: 'https://example.com/ada.png',
      metadata: { plan: 'pro' },
    };
    expect(usersOf(ada.all('presence')[0]!)).toEqual([expect.objectContaining(expected)]);
    expect(joined).toEqual([expect.objectContaining(expected)]);
  });

  it('identifies each connection by its own request', async () => {
    const server = await startServer({
      auth: {
        authenticate: (req) => {
          const token = req.headers.authorization?.replace('Bearer ', '');
          return token ? { userId: `user-${token}`, displayName: token.toUpperCase() } : null;
        },
      },
    });
    const headers = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });
    const a = await connect(server, '/rooms/team', '', headers('a'));
    await a.next('state:init');
    const b = await connect(server, '/rooms/team', '', headers('b'));
    const list = await b.next('presence');
    expect(
      usersOf(list)
        .map((u) => `${u.userId}:${u.displayName}`)
        .sort(),
    ).toEqual(['user-a:A', 'user-b:B']);
    b.send({ type: 'hello' });
    expect(await a.next('hello')).toMatchObject({ from: 'user-b' });
  });

  it('a refused upgrade gets 401 and never joins the room', async () => {
    let joins = 0;
    const server = await startServer({
      auth: { authenticate: () => null },
      onJoin: () => {
        joins++;
      },
    });
    const result = await upgradeStatus(wsUrl(server, '/rooms/closed', 'userId=alice'));
    expect(result.status).toBe(401);
    expect(joins).toBe(0);
    expect(server.getRoomManager().get('closed')).toBeUndefined();
  });
});

describe('auth.authorizeRoom', () => {
  const headers = (user: string) => ({ headers: { 'x-user': user } });

  it('is asked per room with the user; false answers 403 at upgrade and forbidden on room:join', async () => {
    const asked: Array<[string, string]> = [];
    const joins: string[] = [];
    const server = await startServer({
      auth: {
        authenticate: (req) => {
          const user = String(req.headers['x-user']);
          return { userId: user, displayName: user };
        },
        authorizeRoom: (roomId, user) => {
          asked.push([roomId, user.userId]);
          return roomId !== 'vault';
        },
      },
      onJoin: (roomId) => {
        joins.push(roomId);
      },
    });

    const refused = await upgradeStatus(wsUrl(server, '/rooms/vault'), headers('eve'));
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'forbidden' } });
    expect(server.getRoomManager().get('vault')).toBeUndefined();

    const lobby = await connect(server, '/rooms/lobby', '', headers('ann'));
    await lobby.next('state:init');

    const bare = await connect(server, '/rooms', '', headers('bo'));
    expect(await bare.request({ type: 'room:join', room: 'vault' })).toMatchObject({
      type: 'error',
      code: 'forbidden',
    });
    expect(await bare.request({ type: 'room:join', room: 'lobby' })).toMatchObject({
      type: 'ack',
    });
    expect(asked).toEqual([
      ['vault', 'eve'],
      ['lobby', 'ann'],
      ['vault', 'bo'],
      ['lobby', 'bo'],
    ]);
    expect(joins).toEqual(['lobby', 'lobby']);
    expect(server.getRoomManager().getUsers('lobby').sort()).toEqual(['ann', 'bo']);
  });

  it.each([
    {
      kind: 'throws',
      answer: (): boolean => {
        throw new Error('no');
      },
    },
    { kind: 'rejects', answer: async (): Promise<boolean> => Promise.reject(new Error('no')) },
    { kind: 'never answers', answer: (): Promise<boolean> => new Promise(() => {}) },
  ])('refuses the room when it $kind, and the socket keeps working', async ({ answer }) => {
    const server = await startServer({
      limits: { authTimeoutMs: 50 },
      auth: {
        authenticate: () => ({ userId: 'u', displayName: 'U' }),
        authorizeRoom: (roomId) => (roomId === 'open' ? true : answer()),
      },
    });
    expect((await upgradeStatus(wsUrl(server, '/rooms/closed'))).status).toBe(403);
    const bare = await connect(server, '/rooms');
    expect(await bare.request({ type: 'room:join', room: 'closed' })).toMatchObject({
      type: 'error',
      code: 'forbidden',
    });
    expect(await bare.request({ type: 'room:join', room: 'open' })).toMatchObject({ type: 'ack' });
    expect(server.getRoomManager().isInRoom('open', 'u')).toBe(true);
    expect(server.getRoomManager().get('closed')).toBeUndefined();
  });
});
