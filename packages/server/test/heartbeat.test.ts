import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { PresenceUser, ServerConfig } from '../src/index.js';
import {
  connect,
  findUser,
  join,
  nextPresence,
  nodesOf,
  startServer,
  type TestClient,
  usersOf,
  waitUntil,
} from './helpers.js';

const FAST: ServerConfig = { heartbeat: { checkIntervalMs: 30, timeoutMs: 100, intervalMs: 50 } };

function statusOf(users: PresenceUser[], userId: string): string | undefined {
  return findUser(users, userId)?.onlineStatus;
}

/** Client-side heartbeat loops (what a real client does), stopped after each test. */
const loops = new Set<NodeJS.Timeout>();
afterEach(() => {
  for (const loop of loops) clearInterval(loop);
  loops.clear();
});

function keepBeating(client: TestClient, everyMs = 15): void {
  const loop = setInterval(() => {
    if (client.ws.readyState === WebSocket.OPEN) client.send({ type: 'heartbeat' });
  }, everyMs);
  loops.add(loop);
}

describe('heartbeat', () => {
  it('tells the client the heartbeat interval in welcome and acks a heartbeat with a ref', async () => {
    const server = await startServer(FAST);
    const alice = await join(server, 'hb-welcome', 'alice');
    expect(alice.all('welcome')[0]).toMatchObject({ heartbeatIntervalMs: 50 });
    expect(await alice.request({ type: 'heartbeat' })).toMatchObject({ type: 'ack' });
  });

  it('shows a connection that stops sending heartbeats as offline, keeps it open, and brings it back on the next heartbeat', async () => {
    const server = await startServer(FAST);
    const alice = await join(server, 'hb-offline', 'alice');
    const bob = await join(server, 'hb-offline', 'bob');
    keepBeating(bob);

    const offline = await nextPresence(bob, (users) => statusOf(users, 'alice') === 'offline');
    // Still listed: offline is a status, not a leave. Bob, who beats, is online.
    expect(findUser(offline, 'alice')).toMatchObject({ connections: 1 });
    expect(statusOf(offline, 'bob')).toBe('online');
    // The socket stays open (ws answers the server's pings), so no close and no leave.
    expect(alice.ws.readyState).toBe(WebSocket.OPEN);
    expect(alice.closeCode).toBeNull();
    expect(server.getRoomManager().get('hb-offline')?.size).toBe(2);

    const before = findUser(offline, 'alice')!.lastActiveAt;
    alice.send({ type: 'heartbeat' });
    const back = await nextPresence(bob, (users) => statusOf(users, 'alice') === 'online');
    expect(findUser(back, 'alice')!.lastActiveAt).toBeGreaterThanOrEqual(before);
    // The user itself is told too.
    await nextPresence(alice, (users) => statusOf(users, 'alice') === 'online');

    // Silent again: offline again, and still open.
    await nextPresence(bob, (users) => statusOf(users, 'alice') === 'offline');
    expect(alice.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('restores the status the client chose when it comes back from offline', async () => {
    const server = await startServer(FAST);
    const alice = await join(server, 'hb-chosen', 'alice');
    const bob = await join(server, 'hb-chosen', 'bob');
    keepBeating(bob);

    alice.send({ type: 'presence:update', onlineStatus: 'away' });
    await nextPresence(bob, (users) => statusOf(users, 'alice') === 'away');
    await nextPresence(bob, (users) => statusOf(users, 'alice') === 'offline');
    alice.send({ type: 'heartbeat' });
    await nextPresence(bob, (users) => statusOf(users, 'alice') === 'away');
  });

  it('keeps a connection that keeps sending heartbeats online', async () => {
    const server = await startServer(FAST);
    const observer = await join(server, 'hb-steady', 'observer');
    const carol = await join(server, 'hb-steady', 'carol');
    const dave = await join(server, 'hb-steady', 'dave');
    keepBeating(observer);
    keepBeating(carol);

    // Dave's silence is the clock: by the time he is offline, several checks have run.
    const users = await nextPresence(observer, (list) => statusOf(list, 'dave') === 'offline');
    expect(statusOf(users, 'carol')).toBe('online');
    await nextPresence(carol, (list) => statusOf(list, 'dave') === 'offline');
    for (const message of observer.all('presence')) {
      const entry = findUser(usersOf(message), 'carol');
      if (entry) expect(entry.onlineStatus).toBe('online');
    }
    expect(dave.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('checkHeartbeats(now) drives the check explicitly: offline for silence, terminate for the dead', async () => {
    // Long intervals: no automatic check runs during the test, only the explicit calls below.
    const timeoutMs = 60_000;
    const server = await startServer({ heartbeat: { checkIntervalMs: 30_000, timeoutMs } });
    const alice = await join(server, 'hb-explicit', 'alice');
    const bob = await join(server, 'hb-explicit', 'bob');
    await nextPresence(alice, (users) => users.length === 2);
    // Both sessions were created before this instant (server and test share the clock).
    const joinedAt = Date.now();

    // Alice talks (room:list) but never heartbeats; bob heartbeats. Both are seen after joinedAt + 20.
    let sentAt = 0;
    while (sentAt <= joinedAt + 20) {
      sentAt = Date.now();
      expect(await alice.request({ type: 'room:list' })).toMatchObject({ type: 'room:list' });
      expect(await bob.request({ type: 'heartbeat' })).toMatchObject({ type: 'ack' });
    }
    for (const message of bob.all('presence')) {
      expect(statusOf(usersOf(message), 'alice')).not.toBe('offline');
    }

    // At this `now`, alice's last heartbeat (her join) is older than the timeout, but she was
    // seen (and bob heartbeat) within it: alice goes offline, nobody is terminated.
    // Each node checks its own connections: run the check on all of them.
    for (const node of nodesOf(server)) node.checkHeartbeats(joinedAt + timeoutMs + 10);
    const after = await nextPresence(bob, (users) => statusOf(users, 'alice') === 'offline');
    expect(statusOf(after, 'bob')).toBe('online');
    expect(alice.ws.readyState).toBe(WebSocket.OPEN);

    // Far in the future, nobody has been seen within the timeout: every socket is terminated.
    for (const node of nodesOf(server)) node.checkHeartbeats(Date.now() + 10 * timeoutMs);
    const [aliceClosed, bobClosed] = await Promise.all([alice.closed, bob.closed]);
    expect(aliceClosed.code).toBe(1006);
    expect(bobClosed.code).toBe(1006);
    await waitUntil(
      () => (server.getRoomManager().get('hb-explicit')?.size ?? 0) === 0,
      3000,
      'the room to empty',
    );
  });

  it('terminates a client that stops answering pings and removes it from presence', async () => {
    const server = await startServer(FAST);
    const bob = await join(server, 'hb-dead', 'bob');
    keepBeating(bob);
    const zombie = await connect(server, '/rooms/hb-dead', 'userId=zombie', { autoPong: false });
    await zombie.next('state:init');
    await nextPresence(bob, (users) => findUser(users, 'zombie') !== undefined);

    const { code } = await zombie.closed;
    expect(code).toBe(1006);
    const users = await nextPresence(bob, (list) => findUser(list, 'zombie') === undefined);
    expect(users.map((user) => user.userId)).toEqual(['bob']);
    // The client that answers pings (and beats) is untouched.
    expect(bob.ws.readyState).toBe(WebSocket.OPEN);
    expect(statusOf(users, 'bob')).toBe('online');
  });
});
