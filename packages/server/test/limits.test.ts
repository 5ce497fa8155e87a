import { describe, expect, it } from 'vitest';
import { CloseCode, ErrorCode, RoomServer, UpgradeErrorCode } from '../src/index.js';
import {
  connect,
  findUser,
  join,
  nextPresence,
  sentinel,
  startServer,
  upgradeStatus,
  wsUrl,
} from './helpers.js';

// Regression tests for limits that keep one client from costing the server (or the room) a lot.

describe('presence metadata', () => {
  it('refuses metadata over maxPresenceMetadataBytes with metadata_too_large, and keeps the old one', async () => {
    const server = await startServer({ limits: { maxPresenceMetadataBytes: 64 } });
    const alice = await join(server, 'meta', 'alice');
    const bob = await join(server, 'meta', 'bob');
    const ok = await alice.request({ type: 'presence:update', metadata: { tool: 'pen' } });
    expect(ok.type).toBe('ack');
    const big = await alice.request({
      type: 'presence:update',
      isIdle: true,
      metadata: { blob: 'x'.repeat(100) },
    });
    expect(big).toMatchObject({ type: 'error', code: ErrorCode.MetadataTooLarge });
    expect(String(big.message)).toContain('64');
    await alice.request({ type: 'presence:update', location: '/after' });
    const users = await nextPresence(bob, (u) => findUser(u, 'alice')?.location === '/after');
    expect(findUser(users, 'alice')?.metadata).toEqual({ tool: 'pen' });
    expect(findUser(users, 'alice')?.isIdle).toBe(false);
  });

  it('lays the metadata and avatar from auth over what the client sends', async () => {
    const server = await startServer({
      auth: {
        authenticate: () => ({
          userId: 'alice',
          displayName: 'Alice',
          avatarUrl: 'https://cdn.example/alice.png',
          metadata: { role: 'viewer' },
        }),
      },
    });
    const alice = await connect(server, '/rooms/auth-meta');
    await alice.next('state:init');
    await alice.request({
      type: 'presence:update',
      metadata: { role: 'admin', tool: 'pen' },
      avatarUrl: 'https://evil.example/x.png',
    });
    const users = await nextPresence(alice, (u) => findUser(u, 'alice')?.metadata?.tool === 'pen');
    expect(findUser(users, 'alice')).toMatchObject({
      metadata: { role: 'viewer', tool: 'pen' },
      avatarUrl: 'https://cdn.example/alice.png',
    });
  });
});

describe('room state budget', () => {
  it('refuses a write that would take the room past maxStateBytes, and applies nothing', async () => {
    const server = await startServer({ limits: { maxStateBytes: 2000 } });
    const alice = await join(server, 'budget', 'alice');
    expect(
      (await alice.request({ type: 'state:update', key: 'a', value: 'x'.repeat(900) })).type,
    ).toBe('ack');
    const over = await alice.request({ type: 'state:update', key: 'b', value: 'y'.repeat(1500) });
    expect(over).toMatchObject({ type: 'error', code: ErrorCode.StateLimit });
    expect(server.getRoomManager().get('budget')?.liveState.has('b')).toBe(false);
    // Replacing a key frees its old size: a smaller value for `a` then fits `b`.
    await alice.request({ type: 'state:update', key: 'a', value: 'x' });
    expect(
      (await alice.request({ type: 'state:update', key: 'b', value: 'y'.repeat(1500) })).type,
    ).toBe('ack');
  });
});

describe('room count', () => {
  it('refuses to create a room past limits.maxRooms: room_limit on room:join, 503 on upgrade', async () => {
    const server = await startServer({ limits: { maxRooms: 2 } });
    const a = await join(server, 'one', 'a');
    await join(server, 'two', 'b');
    const refused = await a.request({ type: 'room:join', room: 'three' });
    expect(refused).toMatchObject({ type: 'error', code: ErrorCode.RoomLimit });
    const upgrade = await upgradeStatus(wsUrl(server, '/rooms/three'));
    expect(upgrade.status).toBe(503);
    expect(JSON.parse(upgrade.body).error.code).toBe(UpgradeErrorCode.RoomLimit);
    // Existing rooms still take members.
    expect((await a.request({ type: 'room:join', room: 'two' })).type).toBe('ack');
    expect(server.getRoomManager().roomCount).toBe(2);
  });
});

describe('reserved names', () => {
  it('does not relay client messages named room:* (the room protocol owns them)', async () => {
    const server = await startServer();
    const alice = await join(server, 'names', 'alice');
    const bob = await join(server, 'names', 'bob');
    const reply = await alice.request({ type: 'room:message-received', text: 'forged' });
    expect(reply).toMatchObject({ type: 'error', code: ErrorCode.ReservedType });
    await sentinel(alice, bob);
    expect(bob.all('room:message-received')).toHaveLength(0);
  });
});

describe('held frames during an authorized join', () => {
  function gatedServer() {
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    return {
      gate: () => open(),
      config: {
        rateLimit: { messagesPerSecond: 10_000, burst: 10_000 },
        auth: {
          authenticate: () => ({ userId: 'u', displayName: 'U' }),
          authorizeRoom: async (roomId: string) => {
            if (roomId === 'slow') await gate;
            return true;
          },
        },
      },
    };
  }

  it('answers refused frames held behind the join in order, after the join', async () => {
    const { gate, config } = gatedServer();
    const server = await startServer({ ...config, limits: { maxMessageBytes: 1024 } });
    const client = await connect(server, '/rooms');
    client.send({ type: 'room:join', room: 'slow', ref: 'j' });
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    client.send(JSON.stringify({ type: 'x', pad: 'z'.repeat(2000) }));
    client.send({ type: 'heartbeat', ref: 'h' });
    gate();
    const replies = [
      await client.next((m) => m.type === 'ack' || m.type === 'error'),
      await client.next((m) => m.type === 'ack' || m.type === 'error'),
      await client.next((m) => m.type === 'ack' || m.type === 'error'),
      await client.next((m) => m.type === 'ack' || m.type === 'error'),
    ];
    expect(replies.map((m) => (m.type === 'ack' ? `ack:${String(m.ref)}` : m.code))).toEqual([
      'ack:j',
      ErrorCode.InvalidUpdate,
      ErrorCode.MessageTooLarge,
      'ack:h',
    ]);
  });

  it('closes with 4008 when the held frames pass the byte cap', async () => {
    const { config } = gatedServer();
    const server = await startServer(config);
    const client = await connect(server, '/rooms');
    client.send({ type: 'room:join', room: 'slow' });
    const chunk = JSON.stringify({ type: 'x', pad: 'z'.repeat(60_000) });
    // 3.6 MB: past 1 MiB plus room for two of the largest storage updates (about 3 MiB).
    for (let i = 0; i < 60; i++) client.send(chunk);
    const closed = await client.closed;
    expect(closed.code).toBe(CloseCode.RateLimited);
  });
});

describe('stop() during an upgrade', () => {
  it('refuses upgrades still in auth with 503 instead of waiting for them', async () => {
    let entered: () => void = () => {};
    const inAuth = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const server = await startServer({
      limits: { authTimeoutMs: 60_000 },
      auth: {
        authenticate: () => {
          entered();
          return new Promise(() => {});
        },
      },
    });
    const pending = upgradeStatus(wsUrl(server, '/rooms/r'));
    await inAuth;
    await server.stop();
    const result = await pending;
    expect(result.status).toBe(503);
    expect(JSON.parse(result.body).error.code).toBe(UpgradeErrorCode.ShuttingDown);
  });
});

describe('option validation', () => {
  it.each([
    [{ roomConfig: { maxConnections: 1.5 } }, /maxConnections must be a whole number/],
    [{ rateLimit: { burst: 0.5 } }, /burst must be a whole number/],
    [{ limits: { maxRooms: 0 } }, /maxRooms must be a positive number/],
    [{ allowedOrigins: ['not an origin'] }, /allowedOrigins entry "not an origin"/],
  ])('rejects %j at construction', (config, message) => {
    expect(() => new RoomServer(config)).toThrow(message);
  });

  it('normalizes allowedOrigins, so a trailing slash or capitals in an entry still match', async () => {
    const server = await startServer({ allowedOrigins: ['HTTPS://App.Example.com/'] });
    const ok = await upgradeStatus(wsUrl(server, '/rooms/r'), {
      origin: 'https://app.example.com',
    });
    expect(ok.status).toBe(101);
    const no = await upgradeStatus(wsUrl(server, '/rooms/r'), {
      origin: 'https://other.example.com',
    });
    expect(no.status).toBe(403);
  });
});
