import { describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { RoomkitError } from '../src/index.js';
import { connectClient, eventually, startServer, stopServer, until } from './helpers.js';

// Recovery under the server's real limits: what a reconnect sends is paced under the default rate
// limit (200/s, bursts of 400), a document that fails to load is asked for again, a restart keeps
// rooms as the server described them, and a write whose ack was lost does not undo a newer one.

describe('pacing under the server rate limit', () => {
  it('delivers a backlog of 1000 queued room messages after a reconnect, none dropped', async () => {
    const server = await startServer();
    const errors: string[] = [];
    const closes: number[] = [];
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob', {
      onError: (error) => errors.push((error as RoomkitError).code ?? error.message),
      onClose: (event) => closes.push(event.code),
    });
    alice.room('r').presence();
    bob.room('r').presence();
    await until(alice.room('r').members, (m) => m.length === 2);
    let received = 0;
    alice.on('chat', () => received++);
    bob.disconnect();
    for (let i = 0; i < 1000; i++) bob.room('r').broadcast('chat', { i }, false);
    bob.connect();
    await eventually(() => received === 1000, 20_000, 'all 1000 messages');
    expect(errors).not.toContain('rate_limited');
    expect(closes).toEqual([1000]); // only the disconnect() above
  }, 30_000);

  it('a merge of 500 keys reaches the others whole, and every write is confirmed', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const sa = alice.room('r').sharedState<Record<string, number>>({ initialState: {} });
    const sb = bob.room('r').sharedState<Record<string, number>>({ initialState: {} });
    await until(bob.room('r').isJoined, Boolean);
    await until(alice.room('r').isJoined, Boolean);
    sa.merge(Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, i])));
    await until(sb.state, (s) => Object.keys(s).length === 500, 20_000, 'bob to see 500 keys');
    await eventually(
      () => Object.keys(server.getRoomManager().get('r')!.liveState.snapshot()).length === 500,
      5000,
      'the server to hold 500 keys',
    );
  }, 30_000);
});

describe('storage recovery', () => {
  it('asks again for a document that failed to load; edits made meanwhile count as pending and arrive', async () => {
    let failures = 1;
    const server = await startServer({
      initialStorage: async () => {
        if (failures-- > 0) throw new Error('store down');
        return null;
      },
    });
    const codes: string[] = [];
    const alice = connectClient(server, 'alice', {
      onError: (error) => codes.push((error as RoomkitError).code ?? ''),
    });
    const storage = alice.room('d').storage();
    await until(storage.error, (e) => e?.code === 'storage_unavailable');
    expect(storage.synced()).toBe(false);
    storage.doc.getText('t').insert(0, 'important edit');
    expect(storage.pendingUpdates()).toBe(1);
    await until(storage.synced, Boolean, 5000, 'the retried sync');
    await until(storage.pendingUpdates, (n) => n === 0, 5000, 'the edit to be saved');
    expect(storage.error()).toBeNull();
    const bob = connectClient(server, 'bob');
    const other = bob.room('d').storage();
    await other.whenSynced();
    expect(other.doc.getText('t').toString()).toBe('important edit');
    expect(codes).toContain('storage_unavailable');
  });
});

describe('server restart', () => {
  it('rooms come back as the server described them, whoever rejoins first', async () => {
    let server = await startServer();
    const port = server.port;
    const alice = connectClient(server, 'alice', { reconnectDelay: 400, maxReconnectDelay: 400 });
    const bob = connectClient(server, 'bob', { reconnectDelay: 20, maxReconnectDelay: 50 });
    // alice creates "open" without a password and "club" with settings; bob asked for a password
    // on "open", which the server ignored, and knows nothing of club's settings but its password.
    expect(await alice.room('open').membership().join()).toBe(true);
    expect(await bob.room('open').membership({ password: 'typo' }).join()).toBe(true);
    const settings = { password: 'pw', maxUsers: 2, metadata: { title: 'Club' } };
    expect(await alice.room('club').membership(settings).join()).toBe(true);
    expect(await bob.room('club').membership({ password: 'pw' }).join()).toBe(true);

    await stopServer(server);
    server = await startServer({}, port);
    // bob is back first (shorter delay) and recreates both rooms.
    await until(bob.room('club').isJoined, Boolean, 5000, 'bob back in club');
    await until(bob.room('open').isJoined, Boolean, 5000, 'bob back in open');
    const club = server.getRoomManager().get('club')!;
    expect({ maxUsers: club.maxUsers, hasPassword: club.hasPassword }).toEqual({
      maxUsers: 2,
      hasPassword: true,
    });
    expect(club.metadata).toEqual({ title: 'Club' });
    expect(server.getRoomManager().get('open')!.hasPassword).toBe(false);
    await until(alice.room('open').isJoined, Boolean, 5000, 'alice back in open');
    await until(alice.room('club').isJoined, Boolean, 5000, 'alice back in club');
    const carol = connectClient(server, 'carol');
    expect(await carol.room('club').membership({ password: 'pw' }).join()).toBe(false);
    expect(carol.room('club').error()?.code).toBe('room_full');
  });
});

describe('a shared-state write whose ack was lost', () => {
  it('is not sent again over a newer write of the same key', async () => {
    const server = await startServer();
    // A relay that cuts alice's connection right after the server applied her write, before the ack.
    let armed = false;
    const relay = new WebSocketServer({ port: 0 });
    await new Promise((resolve) => relay.once('listening', resolve));
    relay.on('connection', (down, req) => {
      const up = new WebSocket(`ws://127.0.0.1:${server.port}${req.url}`);
      const early: string[] = [];
      up.on('open', () => {
        for (const m of early.splice(0)) up.send(m);
      });
      down.on('message', (data, binary) => {
        const message = binary ? (data as Buffer) : data.toString();
        if (up.readyState === WebSocket.OPEN) up.send(message);
        else early.push(message as string);
      });
      up.on('message', (data, binary) => {
        const text = binary ? null : data.toString();
        if (armed && text?.includes('"state:update"') && text.includes('"alice"')) {
          armed = false;
          down.terminate();
          up.terminate();
          return;
        }
        down.send(binary ? (data as Buffer) : (text as string));
      });
      down.on('close', () => up.close());
      up.on('close', () => down.close());
      down.on('error', () => {});
      up.on('error', () => {});
    });
    const relayPort = (relay.address() as { port: number }).port;
    try {
      const alice = connectClient({ port: relayPort }, 'alice', {
        reconnectDelay: 300,
        maxReconnectDelay: 300,
      });
      const bob = connectClient(server, 'bob');
      const sa = alice.room('r').sharedState({ initialState: { k: 'init' } });
      const sb = bob.room('r').sharedState({ initialState: { k: 'init' } });
      await until(alice.room('r').isJoined, Boolean);
      await until(bob.room('r').isJoined, Boolean);
      armed = true;
      sa.set('k', 'alice-old');
      await until(alice.status, (s) => s !== 'connected');
      await until(sb.state, (s) => s.k === 'alice-old');
      sb.set('k', 'bob-newer');
      await until(sb.state, (s) => s.k === 'bob-newer');
      await eventually(
        () => server.getRoomManager().get('r')!.liveState.get('k')?.value === 'bob-newer',
      );
      await until(alice.room('r').isJoined, Boolean, 5000, 'alice back');
      await until(sa.state, (s) => s.k === 'bob-newer', 5000, 'alice to show the newer write');
      // Everything alice had to send after the rejoin has been handled once her heartbeat-free
      // round trip (a state write of another key) is confirmed.
      sa.set('probe' as 'k', 'x');
      await until(sb.state, (s) => (s as Record<string, unknown>).probe === 'x');
      expect(server.getRoomManager().get('r')!.liveState.get('k')?.value).toBe('bob-newer');
    } finally {
      relay.close();
    }
  });
});
