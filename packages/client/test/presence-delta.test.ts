/**
 * Presence as deltas (`presence-delta` capability, protocol 2) and the initial presence a join
 * carries: what the client asks for, how it keeps the member list from a snapshot and the deltas
 * after it, and what its joins carry, against real servers (and, for frames a real server does not
 * send on demand, a raw WebSocket peer).
 */
import { isDeepStrictEqual } from 'node:util';
import type { PresenceUser } from '@roomkit/protocol';
import { describe, expect, it } from 'vitest';
import type { RoomServer } from '../../server/src/index.js';
import { type RealtimeMessage, usePresence, WebSocketClient } from '../src/index.js';
import {
  connectClient,
  dropConnections,
  eventually,
  nextMessage,
  startServer,
  until,
} from './helpers.js';
import { type RawPeer, startRawServer, welcome, wiretap } from './raw-server.js';

interface Tool {
  tool: string;
}

/** The room's members as the server has them, by userId. */
function serverView(server: RoomServer, room: string): Record<string, PresenceUser> {
  const users = server.getRoomManager().get(room)?.getUsers() ?? [];
  return Object.fromEntries(users.map((user) => [user.userId, user]));
}

const byId = (members: readonly PresenceUser[]) =>
  Object.fromEntries(members.map((member) => [member.userId, member]));

const ids = (members: readonly PresenceUser[]) => members.map((member) => member.userId);

/** A `presence` member entry as a server sends it. */
function member(userId: string, fields: Partial<PresenceUser> = {}): PresenceUser {
  return {
    userId,
    displayName: userId,
    color: '#000000',
    connectedAt: 1,
    onlineStatus: 'online',
    lastActiveAt: 1,
    isIdle: false,
    connections: 1,
    ...fields,
  };
}

const PROTOCOL_2 = {
  protocol: 2,
  capabilities: { supported: ['presence-delta'], enabled: ['presence-delta'] },
};

describe('presence deltas', () => {
  it('asks for presence-delta on every connect, keeping the query the app set', async () => {
    const server = await startServer();
    const urls: string[] = [];
    server.httpServer.on('upgrade', (req) => urls.push(req.url ?? ''));
    const client = new WebSocketClient({
      url: `ws://127.0.0.1:${server.port}/rooms?userId=alice&capabilities=future-thing`,
      params: { displayName: 'Alice' },
      reconnectDelay: 20,
    });
    const welcomed = nextMessage<unknown>(client, 'welcome');
    client.connect();
    const [, message] = await welcomed;
    expect(message.protocol).toBe(2);
    expect(message.capabilities).toEqual({
      supported: ['presence-delta'],
      enabled: ['presence-delta'],
    });
    expect(client.session()).toMatchObject({ userId: 'alice', displayName: 'Alice', protocol: 2 });
    const joined = client.room('r').membership();
    await joined.join();
    dropConnections(server, 'alice');
    await until(client.session, (session) => session === null);
    await until(client.session, Boolean, 5000, 'reconnected');
    client.disconnect();
    expect(urls).toHaveLength(2);
    for (const url of urls) {
      const query = new URL(url, 'http://x').searchParams;
      expect(Object.fromEntries(query)).toEqual({
        userId: 'alice',
        displayName: 'Alice',
        capabilities: 'future-thing,presence-delta',
      });
    }
  });

  it('keeps the member list from one snapshot and the deltas after it, in a stable order', async () => {
    const server = await startServer();
    const bob = connectClient(server, 'bob');
    const kinds: string[] = [];
    bob.on('presence', () => kinds.push('presence'));
    bob.on('presence:delta', () => kinds.push('presence:delta'));
    const room = bob.room('doc');
    const pb = usePresence<Tool>({ client: bob, room: 'doc', initialData: { tool: 'eraser' } });
    await until(pb.isConnected, Boolean);
    const sameAsServer = () =>
      until(
        room.members,
        (members) => isDeepStrictEqual(byId(members), serverView(server, 'doc')),
        5000,
        'bob’s list as the server has it',
      );

    const others = ['alice', 'carol', 'dave'].map((userId) => connectClient(server, userId));
    const presences = others.map((client, i) =>
      usePresence<Tool>({ client, room: 'doc', initialData: { tool: `t${i}` }, syncInterval: 0 }),
    );
    await until(room.members, (members) => members.length === 4, 5000, 'all four in');
    await sameAsServer();
    expect(ids(room.members())).toEqual(['bob', 'alice', 'carol', 'dave']);

    presences[0]!.updatePresence({ tool: 'brush' });
    await until(pb.others, (o) => o[0]?.data.tool === 'brush', 5000, 'alice’s brush');
    presences[1]!.dispose();
    await until(room.members, (members) => members.length === 3, 5000, 'carol gone');
    await sameAsServer();
    // Those who stayed kept their places; carol, back, comes last.
    expect(ids(room.members())).toEqual(['bob', 'alice', 'dave']);
    usePresence<Tool>({ client: others[1]!, room: 'doc' });
    await until(pb.others, (o) => o.at(-1)?.user.id === 'carol', 5000, 'carol back');
    await sameAsServer();
    expect(ids(room.members())).toEqual(['bob', 'alice', 'dave', 'carol']);
    expect(pb.others().map((o) => o.data.tool)).toEqual(['brush', 't2', 't1']);

    // One snapshot at the join; everything after it came as deltas.
    expect(kinds[0]).toBe('presence');
    expect(kinds.filter((kind) => kind === 'presence')).toHaveLength(1);
    expect(kinds.filter((kind) => kind === 'presence:delta').length).toBeGreaterThan(3);
  });

  it('applies a delta as left, joined, updated; null removes a field; a whole list replaces all', async () => {
    let peer: RawPeer | undefined;
    const server = await startRawServer({
      onPeer: (p) => {
        peer = p;
        p.send(welcome(PROTOCOL_2));
      },
      onMessage: (p, message) => {
        if (message.type === 'room:join') {
          p.send({ type: 'ack', ref: message.ref, room: 'r' });
          p.send({
            type: 'presence',
            room: 'r',
            users: [
              member('u1', { location: 'a', avatarUrl: 'u1.png', metadata: { data: { n: 1 } } }),
              member('u2'),
            ],
          });
        }
      },
    });
    const client = new WebSocketClient({ url: server.url });
    const room = client.room('r');
    const presence = usePresence({ client, room: 'r' });
    const snapshot = nextMessage(client, 'presence');
    client.connect();
    await snapshot;
    /** Sends `frame` and resolves once the client has handled it. */
    const deliver = async (frame: RealtimeMessage) => {
      const handled = nextMessage(client, frame.type);
      peer!.send(frame);
      await handled;
      return room.members();
    };

    const delta = {
      type: 'presence:delta',
      room: 'r',
      left: ['u2', 7, null],
      joined: [member('u3')],
      updated: [
        {
          userId: 'u1',
          location: null,
          avatarUrl: null,
          isIdle: true,
          metadata: { data: { n: 2 } },
        },
        { userId: 'nobody', displayName: 'dropped' },
      ],
    };
    const after = await deliver(delta);
    expect(after).toEqual([
      member('u1', { isIdle: true, metadata: { data: { n: 2 } } }),
      member('u3'),
    ]);
    expect(after[0]).not.toHaveProperty('location');
    expect(after[0]).not.toHaveProperty('avatarUrl');
    // Applying it twice changes nothing.
    expect(await deliver(delta)).toEqual(after);

    // Left first, then joined, then updated; a joined entry replaces its user's in place.
    expect(
      await deliver({
        type: 'presence:delta',
        room: 'r',
        left: ['u2'],
        joined: [member('u2'), member('u1', { displayName: 'U1 again' })],
        updated: [{ userId: 'u2', connections: 3 }],
      }),
    ).toEqual([
      member('u1', { displayName: 'U1 again' }),
      member('u3'),
      member('u2', { connections: 3 }),
    ]);

    // Malformed fields get the defaults a presence list gives them.
    const [, , u2] = await deliver({
      type: 'presence:delta',
      room: 'r',
      updated: [{ userId: 'u2', onlineStatus: 'nope', connectedAt: 'x', metadata: 5 }],
    });
    expect(u2).toEqual(member('u2', { connections: 3, connectedAt: 0 }));

    // A whole list (sent again after a skipped delta, or by an older server) replaces everything.
    expect(await deliver({ type: 'presence', room: 'r', users: [member('u3')] })).toEqual([
      member('u3'),
    ]);
    expect(presence.count()).toBe(1);
    client.disconnect();
  });
});

describe('the initial presence a join carries', () => {
  it('a protocol 2 server gets it in room:join, and no presence:update repeats it', async () => {
    const server = await startServer();
    const tap = wiretap();
    const alice = connectClient(server, 'alice', { WebSocket: tap.WebSocket });
    const pa = usePresence<Tool>({
      client: alice,
      room: 'doc',
      user: { name: 'Alice' },
      initialData: { tool: 'pen' },
      syncInterval: 0,
    });
    await until(pa.isConnected, Boolean);
    const [join] = tap.sentOfType('room:join');
    expect(join!.presence).toEqual({
      metadata: { data: { tool: 'pen' }, user: { name: 'Alice' } },
    });
    expect(serverView(server, 'doc').alice!.metadata).toEqual({
      data: { tool: 'pen' },
      user: { name: 'Alice' },
    });
    // The next change is the first presence:update.
    const bob = connectClient(server, 'bob');
    const pb = usePresence<Tool>({ client: bob, room: 'doc' });
    await until(pb.others, (o) => o[0]?.data.tool === 'pen');
    pa.updatePresence({ tool: 'brush' });
    await until(pb.others, (o) => o[0]?.data.tool === 'brush');
    expect(tap.sentOfType('presence:update').map((update) => update.metadata)).toEqual([
      { data: { tool: 'brush' }, user: { name: 'Alice' } },
    ]);
  });

  it('nothing to carry (no data, no user): the join has no presence', async () => {
    const server = await startServer();
    const tap = wiretap();
    const alice = connectClient(server, 'alice', { WebSocket: tap.WebSocket });
    const pa = usePresence({ client: alice, room: 'doc' });
    await until(pa.isConnected, Boolean);
    expect(tap.sentOfType('room:join')[0]).not.toHaveProperty('presence');
    expect(tap.sentOfType('presence:update')).toEqual([]);
  });

  it('an older server (no protocol in welcome) gets it as presence:update after the join', async () => {
    const server = await startRawServer({
      onPeer: (p) => p.send(welcome()),
      onMessage: (p, message) => {
        if (message.ref !== undefined) p.send({ type: 'ack', ref: message.ref });
      },
    });
    const client = new WebSocketClient({ url: server.url });
    const pa = usePresence<Tool>({ client, room: 'r', initialData: { tool: 'pen' } });
    client.connect();
    await until(pa.isConnected, Boolean);
    const peer = await server.nextPeer();
    await eventually(() => peer.messages.some((m) => m.type === 'presence:update'));
    const sent = peer.messages.filter((m) => m.type !== 'heartbeat');
    expect(sent.map((m) => m.type)).toEqual(['room:join', 'presence:update']);
    expect(sent[0]).not.toHaveProperty('presence');
    expect(sent[1]!.metadata).toEqual({ data: { tool: 'pen' } });
    client.disconnect();
  });

  it('a change made while the join is in flight goes out once the join succeeds', async () => {
    const joins: Array<{ peer: RawPeer; ref: unknown }> = [];
    const server = await startRawServer({
      onPeer: (p) => p.send(welcome(PROTOCOL_2)),
      onMessage: (p, message) => {
        if (message.type === 'room:join') joins.push({ peer: p, ref: message.ref });
        else if (message.ref !== undefined) p.send({ type: 'ack', ref: message.ref });
      },
    });
    const client = new WebSocketClient({ url: server.url });
    const pa = usePresence<Tool>({
      client,
      room: 'r',
      initialData: { tool: 'pen' },
      syncInterval: 0,
    });
    client.connect();
    const peer = await server.nextPeer();
    await eventually(() => joins.length === 1, 5000, 'the join');
    expect(peer.messages[0]).toMatchObject({
      type: 'room:join',
      presence: { metadata: { data: { tool: 'pen' } } },
    });
    pa.updatePresence({ tool: 'brush' });
    peer.send({ type: 'ack', ref: joins[0]!.ref });
    await until(pa.isConnected, Boolean);
    await eventually(() => peer.messages.some((m) => m.type === 'presence:update'));
    const updates = peer.messages.filter((m) => m.type === 'presence:update');
    expect(updates.map((m) => m.metadata)).toEqual([{ data: { tool: 'brush' } }]);
    client.disconnect();
  });

  it('a rejoin after a reconnect carries it again: the others never see the member without it', async () => {
    const server = await startServer({ presenceFlushMs: 0 }); // the drop is seen, not coalesced away
    const bob = connectClient(server, 'bob');
    const pb = usePresence<Tool>({ client: bob, room: 'doc' });
    await until(pb.isConnected, Boolean);
    const seen: Array<Partial<Tool>> = [];
    const stop = pb.others.subscribe((others) => {
      for (const other of others) if (other.user.id === 'alice') seen.push(other.data);
    });
    const tap = wiretap();
    const alice = connectClient(server, 'alice', { WebSocket: tap.WebSocket });
    const pa = usePresence<Tool>({ client: alice, room: 'doc', initialData: { tool: 'pen' } });
    await until(pb.others, (o) => o.length === 1);
    dropConnections(server, 'alice');
    await until(pb.others, (o) => o.length === 0, 5000, 'alice dropped');
    await until(pb.others, (o) => o.length === 1, 5000, 'alice back');
    await until(pa.isConnected, Boolean);
    stop();
    const joins = tap.sentOfType('room:join');
    expect(joins).toHaveLength(2);
    for (const join of joins)
      expect(join.presence).toEqual({ metadata: { data: { tool: 'pen' } } });
    expect(tap.sentOfType('presence:update')).toEqual([]);
    expect(seen.length).toBeGreaterThan(0);
    for (const data of seen) expect(data).toEqual({ tool: 'pen' });
  });

  it('a room the url named (joined at connect) still gets the presence, as presence:update', async () => {
    const server = await startServer();
    const bob = connectClient(server, 'bob');
    const pb = usePresence<Tool>({ client: bob, room: 'demo' });
    await until(pb.isConnected, Boolean);
    const alice = connectClient(server, 'alice', {
      url: `ws://127.0.0.1:${server.port}/rooms/demo`,
    });
    await until(alice.session, (session) => session?.room === 'demo');
    usePresence<Tool>({ client: alice, room: 'demo', initialData: { tool: 'pen' } });
    await until(pb.others, (o) => o[0]?.data.tool === 'pen', 5000, 'bob sees alice’s pen');
  });
});
