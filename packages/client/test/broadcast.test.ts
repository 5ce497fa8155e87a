import { describe, expect, it } from 'vitest';
import { useBroadcast, WebSocketClient } from '../src/index.js';
import { connectClient, record, startServer, until } from './helpers.js';

interface Typing {
  userId: string;
  isTyping: boolean;
}

describe('useBroadcast', () => {
  it('delivers to the others on the same channel only, with from and timestamp', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const ta = useBroadcast<Typing>({ client: alice, room: 'chat', channel: 'typing' });
    const tb = useBroadcast<Typing>({ client: bob, room: 'chat', channel: 'typing' });
    const other = useBroadcast<{ n: number }>({ client: bob, room: 'chat', channel: 'other' });
    await until(alice.room('chat').members, (m) => m.length === 2);
    const before = Date.now();
    ta.broadcast({ userId: 'alice', isTyping: true });
    // Mine at once, in my own history.
    expect(ta.lastMessage()).toMatchObject({ userId: 'alice', isTyping: true, from: 'alice' });
    const [received] = await until(tb.history, (h) => h.length === 1);
    expect(received).toEqual({
      userId: 'alice',
      isTyping: true,
      from: 'alice',
      timestamp: expect.any(Number),
    });
    expect(received!.timestamp).toBeGreaterThanOrEqual(before - 1000);
    expect(tb.lastMessage()).toEqual(received);
    expect(other.history()).toEqual([]);
    expect(ta.history()).toHaveLength(1);
  });

  it('keeps historyLimit messages (default 100), oldest first out; clear() empties it', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const sender = useBroadcast<{ n: number }>({ client: alice, room: 'chat', channel: 'n' });
    const small = useBroadcast<{ n: number }>({
      client: bob,
      room: 'chat',
      channel: 'n',
      historyLimit: 3,
    });
    const full = bob.room('chat').channel<{ n: number }>('n');
    await until(alice.room('chat').members, (m) => m.length === 2);
    for (let n = 1; n <= 105; n++) sender.broadcast({ n });
    await until(full.lastMessage, (m) => m?.n === 105, 5000, 'all messages');
    expect(small.history().map((m) => m.n)).toEqual([103, 104, 105]);
    expect(full.history()).toHaveLength(100);
    expect(full.history()[0]!.n).toBe(6);
    expect(sender.history()).toHaveLength(100);
    small.clear();
    expect(small.history()).toEqual([]);
    expect(small.lastMessage()).toBeNull();
    expect(full.history()).toHaveLength(100);
  });

  it('wraps a non-object payload as {value}', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const a = useBroadcast<{ value: string }>({ client: alice, room: 'chat', channel: 'raw' });
    const b = useBroadcast<{ value: string }>({ client: bob, room: 'chat', channel: 'raw' });
    await until(alice.room('chat').members, (m) => m.length === 2);
    (a.broadcast as (message: unknown) => void)('plain');
    const [message] = await until(b.history, (h) => h.length === 1);
    expect(message).toMatchObject({ value: 'plain', from: 'alice' });
  });

  it('holds what is sent before the join and sends it after', async () => {
    const server = await startServer();
    const bob = connectClient(server, 'bob');
    const b = useBroadcast<{ n: number }>({ client: bob, room: 'chat', channel: 'c' });
    await until(bob.room('chat').isJoined, Boolean);
    const alice = new WebSocketClient({
      url: `ws://127.0.0.1:${server.port}/rooms`,
      params: { userId: 'alice' },
    });
    const a = useBroadcast<{ n: number }>({ client: alice, room: 'chat', channel: 'c' });
    a.broadcast({ n: 1 });
    alice.connect();
    await until(b.history, (h) => h.length === 1 && h[0]!.n === 1);
    alice.disconnect();
  });

  it('lastMessage and history are signals: they notify subscribers', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const a = useBroadcast<{ n: number }>({ client: alice, room: 'chat', channel: 'c' });
    const seen = record(a.lastMessage);
    a.broadcast({ n: 1 });
    a.broadcast({ n: 2 });
    expect(seen.values.map((m) => m?.n ?? null)).toEqual([null, 1, 2]);
  });

  it('rejects an invalid channel or historyLimit', () => {
    const client = new WebSocketClient({ url: 'ws://127.0.0.1:1/rooms' });
    for (const channel of ['', 'has space', 'x'.repeat(129), 'é']) {
      expect(() => useBroadcast({ client, room: 'r', channel })).toThrow(TypeError);
    }
    expect(() => useBroadcast({ client, room: 'r', channel: 'ok', historyLimit: 0 })).toThrow(
      TypeError,
    );
    expect(() => useBroadcast({ client, room: 'r', channel: 'x'.repeat(128) })).not.toThrow();
  });
});
