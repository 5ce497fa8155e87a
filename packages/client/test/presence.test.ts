import { describe, expect, it } from 'vitest';
import { usePresence, useSharedState, WebSocketClient } from '../src/index.js';
import { connectClient, startServer, until } from './helpers.js';
import { wiretap } from './raw-server.js';

interface Tool {
  tool: string;
  x?: number;
}

describe('usePresence', () => {
  it('shows others with their user and data; myPresence, isConnected and count', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const pa = usePresence<Tool>({
      client: alice,
      room: 'doc',
      user: { id: 'user-1', name: 'Alice', avatar: '/alice.png', color: '#4CAF50', team: 'red' },
      initialData: { tool: 'pen' },
      syncInterval: 100,
    });
    const pb = usePresence<Tool>({ client: bob, room: 'doc', initialData: { tool: 'eraser' } });
    expect(pa.myPresence()).toEqual({ tool: 'pen' });
    expect(pa.isConnected()).toBe(false);
    await until(
      pb.others,
      (o) => o.length === 1 && o[0]!.data.tool === 'pen',
      5000,
      'bob sees alice',
    );
    const [other] = pb.others();
    expect(other!.user).toEqual({
      id: 'alice',
      name: 'Alice',
      avatar: '/alice.png',
      color: '#4CAF50',
      team: 'red',
    });
    expect(other!.lastSeen).toBeTypeOf('number');
    expect(other!.onlineStatus).toBe('online');
    expect(pa.isConnected()).toBe(true);
    // A joiner's snapshot may not list itself yet: the delta that does follows at once.
    await until(pa.count, (n) => n === 2);
    await until(pb.count, (n) => n === 2);
    // A user who declared nothing shows the server's name and palette color.
    await until(pa.others, (o) => o.length === 1);
    expect(pa.others()[0]!.user).toEqual({
      id: 'bob',
      name: 'bob',
      color: expect.stringMatching(/^#/),
    });

    pa.updatePresence({ x: 5 });
    expect(pa.myPresence()).toEqual({ tool: 'pen', x: 5 });
    await until(pb.others, (o) => o[0]?.data.x === 5, 5000, 'bob sees the update');
    expect(pb.others()[0]!.data).toEqual({ tool: 'pen', x: 5 });
  });

  it('sends at most one update per syncInterval, and always the last one', async () => {
    const server = await startServer();
    const tap = wiretap();
    const alice = connectClient(server, 'alice', { WebSocket: tap.WebSocket });
    const bob = connectClient(server, 'bob');
    const pa = usePresence<Tool>({
      client: alice,
      room: 'doc',
      initialData: { tool: 'pen', x: 0 },
      syncInterval: 300,
    });
    const pb = usePresence<Tool>({ client: bob, room: 'doc' });
    await until(pb.others, (o) => o[0]?.data.x === 0);
    const before = tap.sentOfType('presence:update').length;
    for (let x = 1; x <= 20; x++) pa.updatePresence({ x });
    expect(pa.myPresence().x).toBe(20);
    await until(pb.others, (o) => o[0]?.data.x === 20, 5000, 'the trailing update');
    const all = tap.sentOfType('presence:update');
    const burst = all.slice(before);
    // At most the first of the burst at once (if the join's send is already 300 ms old), then
    // the last one, and never two sends closer than the interval.
    expect(burst.length).toBeGreaterThanOrEqual(1);
    expect(burst.length).toBeLessThanOrEqual(2);
    expect(burst.at(-1)!.metadata).toEqual({ data: { tool: 'pen', x: 20 } });
    if (burst.length === 2) expect(burst[0]!.metadata).toEqual({ data: { tool: 'pen', x: 1 } });
    for (let i = 1; i < all.length; i++) {
      expect(all[i]!.sentAt - all[i - 1]!.sentAt).toBeGreaterThanOrEqual(295);
    }
  });

  it('syncInterval 0 sends every update', async () => {
    const server = await startServer();
    const tap = wiretap();
    const alice = connectClient(server, 'alice', { WebSocket: tap.WebSocket });
    const pa = usePresence<Tool>({
      client: alice,
      room: 'doc',
      initialData: { tool: 'a' },
      syncInterval: 0,
    });
    await until(pa.isConnected, Boolean);
    const before = tap.sentOfType('presence:update').length;
    pa.updatePresence({ tool: 'b' });
    pa.updatePresence({ tool: 'c' });
    expect(tap.sentOfType('presence:update').length - before).toBe(2);
  });

  it('folds the tabs of one user: others excludes my other tab, count stays per user', async () => {
    const server = await startServer();
    const tab1 = connectClient(server, 'alice');
    const tab2 = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const p1 = usePresence({ client: tab1, room: 'doc' });
    const p2 = usePresence({ client: tab2, room: 'doc' });
    const pb = usePresence({ client: bob, room: 'doc' });
    await until(pb.others, (o) => o.length === 1 && o[0]!.user.id === 'alice');
    await until(p1.count, (n) => n === 2);
    await until(p2.others, (o) => o.length === 1 && o[0]!.user.id === 'bob');
    await until(pb.count, (n) => n === 2);
    expect(p1.others().map((o) => o.user.id)).toEqual(['bob']);
  });

  it('dispose() leaves the room when nothing else holds it', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const pa = usePresence({ client: alice, room: 'doc' });
    const pb = usePresence({ client: bob, room: 'doc' });
    await until(pb.count, (n) => n === 2);
    pa.dispose();
    await until(pb.count, (n) => n === 1, 5000, 'alice gone');
    expect(pb.others()).toEqual([]);
    expect(pa.isConnected()).toBe(false);
  });

  it('works when created before connect()', async () => {
    const server = await startServer();
    const bob = connectClient(server, 'bob');
    const pb = usePresence<Tool>({ client: bob, room: 'doc' });
    const alice = new WebSocketClient({
      url: `ws://127.0.0.1:${server.port}/rooms`,
      params: { userId: 'alice' },
    });
    const pa = usePresence<Tool>({ client: alice, room: 'doc', initialData: { tool: 'pen' } });
    pa.updatePresence({ x: 1 });
    alice.connect();
    await until(pb.others, (o) => o[0]?.data.x === 1 && o[0]!.data.tool === 'pen');
    alice.disconnect();
    await until(pb.others, (o) => o.length === 0, 5000, 'alice leaves on disconnect');
  });

  it("with a url naming the room, features created after connecting see who's there", async () => {
    const server = await startServer();
    const bob = connectClient(server, 'bob');
    const pb = usePresence<Tool>({ client: bob, room: 'demo', initialData: { tool: 'eraser' } });
    useSharedState({ client: bob, room: 'demo', initialState: { title: '' } }).set('title', 'Hi');
    await until(bob.room('demo').liveState, (s) => s.title?.value === 'Hi');
    const alice = new WebSocketClient({
      url: `ws://127.0.0.1:${server.port}/rooms/demo`,
      params: { userId: 'alice' },
    });
    alice.connect();
    await until(alice.session, (s) => s?.room === 'demo');
    await until(pb.count, (n) => n === 2);
    const pa = usePresence<Tool>({ client: alice, room: 'demo' });
    const shared = useSharedState({ client: alice, room: 'demo', initialState: { title: '' } });
    await until(pa.isConnected, Boolean);
    expect(pa.others().map((o) => [o.user.id, o.data.tool])).toEqual([['bob', 'eraser']]);
    expect(shared.get('title')).toBe('Hi');
    pa.dispose();
    shared.dispose();
    await until(pb.count, (n) => n === 1, 5000, 'alice left the room');
    alice.disconnect();
  });

  // The join carries this client's presence (`room:join`'s `presence`, protocol 2): the others
  // never see the joiner with the server's name and `data: {}` first.
  it('a joiner never shows with data {} before its initialData (one list, all of it)', async () => {
    const server = await startServer();
    const bob = connectClient(server, 'bob');
    const pb = usePresence<Tool>({ client: bob, room: 'first', syncInterval: 0 });
    await until(pb.isConnected, Boolean);
    const seen: Array<{ name: string | undefined; data: Partial<Tool> }> = [];
    const stop = pb.others.subscribe((others) => {
      const alice = others.find((other) => other.user.id === 'alice');
      if (alice) seen.push({ name: alice.user.name, data: alice.data });
    });
    const alice = connectClient(server, 'alice');
    usePresence<Tool>({
      client: alice,
      room: 'first',
      user: { name: 'Alice' },
      initialData: { tool: 'pen' },
    });
    await until(pb.others, (o) => o[0]?.data.tool === 'pen', 5000, 'bob sees alice’s pen');
    stop();
    expect(seen[0]).toEqual({ name: 'Alice', data: { tool: 'pen' } });
  });

  it('rejects an invalid syncInterval', () => {
    const client = new WebSocketClient({ url: 'ws://127.0.0.1:1/rooms' });
    expect(() => usePresence({ client, room: 'doc', syncInterval: -1 })).toThrow(TypeError);
    expect(() => usePresence({ client, room: 'bad room id' })).toThrow(TypeError);
  });
});
