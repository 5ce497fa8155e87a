import { describe, expect, it } from 'vitest';
import { useCursors, usePresence, useRoom, WebSocketClient } from '../src/index.js';
import { connectClient, dropConnections, eventually, startServer, until } from './helpers.js';
import { wiretap } from './raw-server.js';

describe('useCursors', () => {
  it("shows the others' cursors with their user, never my own (from any of my tabs)", async () => {
    const server = await startServer();
    const tab1 = connectClient(server, 'alice');
    const tab2 = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const c1 = useCursors({ client: tab1, room: 'canvas', user: { id: 'a', name: 'Alice' } });
    const c2 = useCursors({ client: tab2, room: 'canvas' });
    const cb = useCursors({ client: bob, room: 'canvas' });
    await until(tab1.room('canvas').members, (m) => m.length === 2);
    await until(tab2.room('canvas').members, (m) => m.length === 2);
    const before = Date.now();
    c1.broadcast(10, 20);
    const [cursor] = await until(cb.cursors, (c) => c.length === 1 && c[0]!.x === 10);
    expect(cursor).toMatchObject({ x: 10, y: 20, user: { id: 'alice', name: 'Alice' } });
    expect(cursor!.timestamp).toBeGreaterThanOrEqual(before - 1000);
    cb.broadcast(1, 2);
    await until(c2.cursors, (c) => c.length === 1 && c[0]!.user.id === 'bob');
    // tab2 received tab1's position too (another connection of alice) but it is alice's own.
    expect(c2.cursors().map((c) => c.user.id)).toEqual(['bob']);
    await until(c1.cursors, (c) => c.length === 1);
    expect(c1.cursors()[0]).toMatchObject({ x: 1, y: 2, user: { id: 'bob' } });
  });

  it('throttles broadcasts and always delivers the final position', async () => {
    const server = await startServer();
    const tap = wiretap();
    const alice = connectClient(server, 'alice', { WebSocket: tap.WebSocket });
    const bob = connectClient(server, 'bob');
    const ca = useCursors({ client: alice, room: 'canvas', throttle: 100 });
    const cb = useCursors({ client: bob, room: 'canvas' });
    await until(alice.room('canvas').members, (m) => m.length === 2);
    for (let i = 1; i <= 30; i++) ca.broadcast(i, -i);
    await until(cb.cursors, (c) => c[0]?.x === 30, 5000, 'the final position');
    expect(cb.cursors()[0]).toMatchObject({ x: 30, y: -30 });
    const sent = tap.sentOfType('cursor:update');
    expect(sent.map((m) => m.x)).toEqual([1, 30]);
    expect(sent[1]!.sentAt - sent[0]!.sentAt).toBeGreaterThanOrEqual(95);
  });

  it('uses 50 ms by default', async () => {
    const server = await startServer();
    const tap = wiretap();
    const alice = connectClient(server, 'alice', { WebSocket: tap.WebSocket });
    const ca = useCursors({ client: alice, room: 'canvas' });
    await until(alice.room('canvas').isJoined, Boolean);
    ca.broadcast(1, 1);
    ca.broadcast(2, 2);
    await eventually(() => tap.sentOfType('cursor:update').length === 2, 2000, 'the trailing send');
    const [first, second] = tap.sentOfType('cursor:update');
    expect(second!.sentAt - first!.sentAt).toBeGreaterThanOrEqual(48);
    expect(second!.x).toBe(2);
  });

  it('drops the cursor of a user who leaves, and does not bring it back when they return', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const ca = useCursors({ client: alice, room: 'canvas' });
    const cb = useCursors({ client: bob, room: 'canvas' });
    await until(alice.room('canvas').members, (m) => m.length === 2);
    ca.broadcast(5, 5);
    await until(cb.cursors, (c) => c.length === 1);
    ca.dispose();
    await until(cb.cursors, (c) => c.length === 0, 5000, 'the cursor to go');
    const back = useRoom({ client: alice, roomId: 'canvas' });
    await back.join();
    await until(bob.room('canvas').members, (m) => m.length === 2);
    expect(cb.cursors()).toEqual([]);
  });

  it('sends a position given before the join once joined', async () => {
    const server = await startServer();
    const bob = connectClient(server, 'bob');
    const cb = useCursors({ client: bob, room: 'canvas' });
    usePresence({ client: bob, room: 'canvas' });
    const alice = new WebSocketClient({
      url: `ws://127.0.0.1:${server.port}/rooms`,
      params: { userId: 'alice' },
    });
    const ca = useCursors({ client: alice, room: 'canvas' });
    ca.broadcast(7, 8);
    ca.broadcast(Number.NaN, 1); // ignored
    alice.connect();
    await until(cb.cursors, (c) => c.length === 1 && c[0]!.x === 7 && c[0]!.y === 8);
    alice.disconnect();
    await until(cb.cursors, (c) => c.length === 0);
  });

  it('shows the last position again after a reconnect, without a new move', async () => {
    const server = await startServer({ presenceFlushMs: 0 }); // the drop is seen, not coalesced away
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const ca = useCursors({ client: alice, room: 'canvas' });
    const cb = useCursors({ client: bob, room: 'canvas' });
    await until(alice.room('canvas').members, (m) => m.length === 2);
    ca.broadcast(40, 41);
    await until(cb.cursors, (c) => c.length === 1 && c[0]!.x === 40);
    expect(dropConnections(server, 'alice')).toBe(1);
    await until(cb.cursors, (c) => c.length === 0, 5000, 'the cursor to go with the connection');
    await until(cb.cursors, (c) => c.length === 1, 5000, 'the cursor back after the rejoin');
    expect(cb.cursors()[0]).toMatchObject({ x: 40, y: 41, user: { id: 'alice' } });
  });

  it('rejects an invalid throttle', () => {
    const client = new WebSocketClient({ url: 'ws://127.0.0.1:1/rooms' });
    expect(() => useCursors({ client, room: 'r', throttle: -1 })).toThrow(TypeError);
  });
});
