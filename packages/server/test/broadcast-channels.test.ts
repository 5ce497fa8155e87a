import { ErrorCode } from '@roomkit/protocol';
import { describe, expect, it } from 'vitest';
import type { RoomServer, ServerConfig } from '../src/index.js';
import { connect, join, type Received, sentinel, startServer, type TestClient } from './helpers.js';

interface Room3 {
  server: RoomServer;
  /** Sends the broadcasts. */
  alice: TestClient;
  /** Another tab of alice's. */
  aliceTab: TestClient;
  bob: TestClient;
}

/** Alice (two tabs) and bob in room `ch`, every join snapshot and event already received. */
async function setup(config: ServerConfig = {}): Promise<Room3> {
  const server = await startServer(config);
  const alice = await join(server, 'ch', 'alice');
  const aliceTab = await join(server, 'ch', 'alice');
  const bob = await join(server, 'ch', 'bob');
  await alice.next('room:user:joined');
  await sentinel(bob, alice);
  await sentinel(alice, aliceTab);
  await sentinel(alice, bob);
  return { server, alice, aliceTab, bob };
}

const isBroadcast = (m: Received) => m.type === 'broadcast';

describe('broadcast channels', () => {
  it('relays to every other member and the sender’s other tabs, stamped, with the cid; acks the sender', async () => {
    const { alice, aliceTab, bob } = await setup();
    const before = Date.now();
    const ack = await alice.request({
      type: 'broadcast',
      channel: 'typing',
      payload: { isTyping: true, at: [1, 2] },
      cid: 'c-1',
    });
    expect(ack).toEqual({ type: 'ack', ref: ack.ref });
    for (const client of [bob, aliceTab]) {
      const got = await client.next('broadcast');
      expect(got).toEqual({
        type: 'broadcast',
        room: 'ch',
        channel: 'typing',
        payload: { isTyping: true, at: [1, 2] },
        from: 'alice',
        timestamp: expect.any(Number),
        cid: 'c-1',
      });
      expect(got.timestamp as number).toBeGreaterThanOrEqual(before);
      expect(got.timestamp as number).toBeLessThanOrEqual(Date.now());
    }
    // Not back to the sending connection.
    await sentinel(bob, alice);
    expect(alice.received.filter(isBroadcast)).toHaveLength(0);
  });

  it('an absent payload is relayed as null; any JSON payload travels as sent', async () => {
    const { alice, bob } = await setup();
    alice.send({ type: 'broadcast', channel: 'ping' });
    expect(await bob.next('broadcast')).toMatchObject({ channel: 'ping', payload: null });
    expect(bob.all('broadcast')[0]).not.toHaveProperty('cid');
    for (const payload of [null, 0, 'text', [1, 'two', { three: 3 }], { deep: { er: [true] } }]) {
      alice.send({ type: 'broadcast', channel: 'any', payload });
      expect((await bob.next('broadcast')).payload).toEqual(payload);
    }
  });

  it('accepts channel names of 1-128 printable ASCII characters', async () => {
    const { alice, bob } = await setup();
    for (const channel of ['a', '!', 'x'.repeat(128), 'chat:room/1#~', '{}[]"\\']) {
      expect((await alice.request({ type: 'broadcast', channel })).type).toBe('ack');
      expect((await bob.next('broadcast')).channel).toBe(channel);
    }
  });

  it('refuses a bad channel with invalid_message naming "channel", and relays nothing', async () => {
    const { alice, bob } = await setup();
    const channels: unknown[] = [
      '',
      'x'.repeat(129),
      'two words',
      'tab\there',
      'café',
      '頻道',
      5,
      null,
      ['a'],
      undefined,
    ];
    for (const [i, channel] of channels.entries()) {
      const message: Record<string, unknown> = { type: 'broadcast', payload: 1 };
      if (channel !== undefined) message.channel = channel;
      const error = await alice.request(message);
      expect(error, `channel ${JSON.stringify(channel)} (#${i})`).toMatchObject({
        type: 'error',
        code: ErrorCode.InvalidMessage,
      });
      expect(error.message).toContain('broadcast');
      expect(error.message).toContain('"channel"');
    }
    await sentinel(alice, bob);
    expect(bob.received.filter(isBroadcast)).toHaveLength(0);
  });

  it('refuses unknown fields, so from, timestamp and the like cannot be forged', async () => {
    const { alice, bob } = await setup();
    for (const field of ['from', 'timestamp', 'userId', 'offset', 'data', 'event']) {
      const error = await alice.request({
        type: 'broadcast',
        channel: 'typing',
        payload: 1,
        [field]: 'forged',
      });
      expect(error).toMatchObject({ type: 'error', code: ErrorCode.InvalidMessage });
      expect(error.message).toContain(`"${field}"`);
    }
    await sentinel(alice, bob);
    expect(bob.received.filter(isBroadcast)).toHaveLength(0);
  });

  it('needs membership: not_in_room for another room, room_required without a default room', async () => {
    const { server, alice, bob } = await setup();
    expect(
      await alice.request({ type: 'broadcast', room: 'elsewhere', channel: 'x' }),
    ).toMatchObject({
      type: 'error',
      code: ErrorCode.NotInRoom,
      room: 'elsewhere',
    });
    const roomless = await connect(server, '/rooms', 'userId=dave');
    expect(await roomless.request({ type: 'broadcast', channel: 'x' })).toMatchObject({
      code: ErrorCode.RoomRequired,
    });
    expect(await roomless.request({ type: 'broadcast', room: 'ch', channel: 'x' })).toMatchObject({
      code: ErrorCode.NotInRoom,
    });
    await sentinel(alice, bob);
    expect(bob.received.filter(isBroadcast)).toHaveLength(0);
  });

  it('goes to the named room only', async () => {
    const { server, alice, bob } = await setup();
    const other = await join(server, 'other', 'carol');
    expect((await alice.request({ type: 'room:join', room: 'other' })).type).toBe('ack');
    await other.next('room:user:joined');
    alice.send({ type: 'broadcast', room: 'other', channel: 'news', payload: 'for other' });
    expect(await other.next('broadcast')).toMatchObject({ room: 'other', payload: 'for other' });
    await sentinel(alice, bob);
    expect(bob.received.filter(isBroadcast)).toHaveLength(0);
  });

  it('onMessage sees it first (minus ref, cid kept) and may replace the payload, nothing else', async () => {
    const calls: Array<[string, string, Record<string, unknown>]> = [];
    const { alice, bob } = await setup({
      onMessage: (roomId, senderId, message) => {
        if (message.type !== 'broadcast') return;
        calls.push([roomId, senderId, { ...message }]);
        if (message.channel === 'censored') message.payload = '***';
        message.channel = 'hijacked';
        message.from = 'hook';
        message.extra = true;
      },
    });
    await alice.request({ type: 'broadcast', channel: 'chat', payload: { text: 'hi' }, cid: 'm1' });
    expect(calls).toEqual([
      ['ch', 'alice', { type: 'broadcast', channel: 'chat', payload: { text: 'hi' }, cid: 'm1' }],
    ]);
    expect(await bob.next('broadcast')).toEqual({
      type: 'broadcast',
      room: 'ch',
      channel: 'chat',
      payload: { text: 'hi' },
      from: 'alice',
      timestamp: expect.any(Number),
      cid: 'm1',
    });
    alice.send({ type: 'broadcast', channel: 'censored', payload: 'rude words' });
    expect(await bob.next('broadcast')).toMatchObject({ channel: 'censored', payload: '***' });
  });

  it('a throwing onMessage does not stop the relay', async () => {
    const { alice, bob } = await setup({
      onMessage: () => {
        throw new Error('hook failed');
      },
    });
    expect((await alice.request({ type: 'broadcast', channel: 'c', payload: 1 })).type).toBe('ack');
    expect(await bob.next('broadcast')).toMatchObject({ channel: 'c', payload: 1, from: 'alice' });
  });

  it('is allowed to a read-only connection', async () => {
    const { alice, bob } = await setup({
      auth: {
        authenticate: (req) => {
          const userId = new URL(req.url!, 'http://x').searchParams.get('userId')!;
          return { userId, displayName: userId, readOnly: true };
        },
      },
    });
    expect((await alice.request({ type: 'broadcast', channel: 'c' })).type).toBe('ack');
    expect(await bob.next('broadcast')).toMatchObject({ from: 'alice' });
  });
});

describe('RoomServer.broadcast', () => {
  it('publishes from server code to every member, from "server"', async () => {
    const { server, alice, aliceTab, bob } = await setup();
    const before = Date.now();
    expect(server.broadcast('ch', 'announcements', { text: 'maintenance at noon' })).toBe(true);
    for (const client of [alice, aliceTab, bob]) {
      const got = await client.next('broadcast');
      expect(got).toEqual({
        type: 'broadcast',
        room: 'ch',
        channel: 'announcements',
        payload: { text: 'maintenance at noon' },
        from: 'server',
        timestamp: expect.any(Number),
      });
      expect(got.timestamp as number).toBeGreaterThanOrEqual(before);
    }
    expect(server.broadcast('ch', 'empty', undefined)).toBe(true);
    expect(await bob.next('broadcast')).toMatchObject({ channel: 'empty', payload: null });
  });

  it('returns false for a room that does not exist, and throws for a bad channel', async () => {
    const { server, alice, bob } = await setup();
    expect(server.broadcast('nowhere', 'c', 1)).toBe(false);
    for (const channel of ['', 'a b', 'x'.repeat(129), 'ü']) {
      expect(() => server.broadcast('ch', channel, 1)).toThrow(TypeError);
    }
    await sentinel(alice, bob);
    expect(bob.received.filter(isBroadcast)).toHaveLength(0);
  });
});
