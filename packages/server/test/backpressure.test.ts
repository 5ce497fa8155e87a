import type { Socket } from 'node:net';
import { CloseCode } from '@roomkit/protocol';
import { describe, expect, it } from 'vitest';
import type { RoomServer } from '../src/index.js';
import { join, type Received, startServer, type TestClient, waitUntil } from './helpers.js';

const ROOM = 'bp';
const LOSSY = 64 * 1024;
const MAX_BUFFERED = 256 * 1024;
const CHUNK = 'x'.repeat(16 * 1024);
/** Upper bound on the flood: 4000 x 16 KiB = 64 MB, far past any kernel socket buffers. */
const MAX_FLOOD = 4000;

interface Room3 {
  server: RoomServer;
  slow: TestClient;
  flooder: TestClient;
  normal: TestClient;
}

async function setup(): Promise<Room3> {
  const server = await startServer({
    limits: { lossyBufferedBytes: LOSSY, maxBufferedBytes: MAX_BUFFERED },
    // The flooder must be limited by nothing but the slow consumer (which must not limit it).
    rateLimit: { messagesPerSecond: 1_000_000, burst: 1_000_000 },
  });
  const slow = await join(server, ROOM, 'slow');
  const flooder = await join(server, ROOM, 'flooder');
  const normal = await join(server, ROOM, 'normal');
  for (const client of [slow, flooder, normal]) {
    await client.next((m) => m.type === 'presence' && (m.users as unknown[]).length === 3);
  }
  return { server, slow, flooder, normal };
}

/** The client's TCP socket: pausing it stops reading, so the server's send buffer fills up. */
function tcpSocket(client: TestClient): Socket {
  return (client.ws as unknown as { _socket: Socket })._socket;
}

/** The server's record of a member, for its send buffer and closing state. */
function serverSide(server: RoomServer, userId: string) {
  const room = server.getRoomManager().get(ROOM)!;
  const connection = [...room.connections.values()].find((c) => c.user.userId === userId);
  if (!connection) throw new Error(`${userId} is not in ${ROOM}`);
  return connection;
}

function seqs(messages: Received[]): unknown[] {
  return messages.map((m) => m.seq);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Round trip on the flooder's socket, timed: the flooder must never wait on the slow reader. */
async function flooderRoundTrip(flooder: TestClient): Promise<number> {
  const start = Date.now();
  const ack = await flooder.request({ type: 'heartbeat' }, 2000);
  expect(ack.type).toBe('ack');
  return Date.now() - start;
}

/** Floods 16 KiB app messages until `stop()` (checked every `every` messages) or MAX_FLOOD. */
async function flood(
  flooder: TestClient,
  stop: () => boolean,
  every: number,
  from = 0,
): Promise<{ sent: number; slowestRoundTripMs: number }> {
  let sent = from;
  let slowestRoundTripMs = 0;
  while (sent < MAX_FLOOD) {
    for (let i = 0; i < every; i++) flooder.send({ type: 'blob', seq: sent++, data: CHUNK });
    // The ack comes after the server relayed everything before it, so `stop()` sees the result.
    slowestRoundTripMs = Math.max(slowestRoundTripMs, await flooderRoundTrip(flooder));
    if (stop()) break;
  }
  return { sent, slowestRoundTripMs };
}

describe('backpressure', () => {
  it('a client that stops reading is closed with 4009; the room and the flooder are unaffected', async () => {
    const { server, slow, flooder, normal } = await setup();
    const slowSide = serverSide(server, 'slow');
    tcpSocket(slow).pause();

    const first = await flood(flooder, () => slowSide.session.isClosing, 20);
    expect(slowSide.session.isClosing, `not closed after ${first.sent} messages`).toBe(true);
    // Past the limit by at most one flood step: it was closed as soon as it crossed the line.
    expect(slowSide.session.ws.bufferedAmount).toBeGreaterThan(MAX_BUFFERED);
    expect(slowSide.session.ws.bufferedAmount).toBeLessThan(
      MAX_BUFFERED + 21 * (CHUNK.length + 100),
    );
    // Keep flooding a while: nothing more is queued for the closed consumer.
    const buffered = slowSide.session.ws.bufferedAmount;
    const second = await flood(flooder, () => true, 50, first.sent);
    expect(slowSide.session.ws.bufferedAmount).toBe(buffered);
    const total = second.sent;

    // The normal member got every message, in order, while the slow one was stuck.
    await normal.next((m) => m.type === 'blob' && m.seq === total - 1, 10_000);
    expect(seqs(normal.all('blob'))).toEqual(range(total));
    // The flooder was never held up.
    expect(Math.max(first.slowestRoundTripMs, second.slowestRoundTripMs)).toBeLessThan(1000);
    expect(flooder.closeCode).toBeNull();
    expect(normal.closeCode).toBeNull();

    // Once it reads again, the slow client finds an in-order prefix and then the 4009 close.
    tcpSocket(slow).resume();
    const closed = await slow.closed;
    expect(closed.code).toBe(CloseCode.SlowConsumer);
    expect(closed).toEqual({ code: 4009, reason: 'slow consumer: send buffer limit exceeded' });
    const got = seqs(slow.all('blob'));
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThan(total);
    expect(got).toEqual(range(got.length));
    await waitUntil(() => server.getRoomManager().get(ROOM)!.size === 2, 3000, 'slow to leave');
    await waitUntil(
      () =>
        normal.received.some(
          (m) => m.type === 'presence' && (m.users as Array<{ userId: string }>).length === 2,
        ),
      3000,
      'the others to be told the slow consumer left',
    );
  });

  it('a slow consumer closed with 4009 leaves the room at once, even though it cannot read the close frame', async () => {
    const { server, slow, flooder, normal } = await setup();
    const slowSide = serverSide(server, 'slow');
    tcpSocket(slow).pause();
    const { sent } = await flood(flooder, () => slowSide.session.isClosing, 20);
    expect(slowSide.session.isClosing, `not closed after ${sent} messages`).toBe(true);
    // The others are told it is gone, without waiting for a handshake it cannot complete.
    await waitUntil(
      () => server.getRoomManager().get(ROOM)!.size === 2,
      3000,
      'the slow consumer to leave the room (room size 2)',
    );
    const presence = await normal.next(
      (m) =>
        m.type === 'presence' &&
        !(m.users as Array<{ userId: string }>).some((u) => u.userId === 'slow'),
    );
    expect(presence.users).toHaveLength(2);
    expect(normal.closeCode).toBeNull();
  });

  it('past lossyBufferedBytes a consumer stops getting cursors and presence but stays connected', async () => {
    const { server, slow, flooder, normal } = await setup();
    const slowSide = serverSide(server, 'slow');
    tcpSocket(slow).pause();

    // Fill the kernel buffers (the server's buffer stays empty while they absorb the flood),
    // then step one message at a time until the server-side buffer is past the soft limit.
    let { sent } = await flood(flooder, () => slowSide.session.ws.bufferedAmount > 0, 8);
    ({ sent } = await flood(flooder, () => slowSide.session.ws.bufferedAmount > LOSSY, 1, sent));
    expect(slowSide.session.ws.bufferedAmount).toBeGreaterThan(LOSSY);
    expect(slowSide.session.ws.bufferedAmount).toBeLessThan(MAX_BUFFERED);

    // Lossy traffic: a cursor and a presence change. The normal member gets both.
    flooder.send({ type: 'cursor:update', x: 4242, y: 1 });
    flooder.send({ type: 'presence:update', location: '/while-slow' });
    const isLossyCursor = (m: Received) =>
      m.type === 'cursor:update' && (m.cursor as { x: number }).x === 4242;
    const isLossyPresence = (m: Received) =>
      m.type === 'presence' &&
      (m.users as Array<{ location?: string }>).some((u) => u.location === '/while-slow');
    await waitUntil(
      () => normal.received.some(isLossyCursor) && normal.received.some(isLossyPresence),
      3000,
      'the normal member to get the cursor and the presence change',
    );
    // Reliable traffic still goes to the slow consumer, after the skipped lossy frames.
    flooder.send({ type: 'marker', seq: 'after-lossy' });
    await normal.next('marker');
    expect(slowSide.session.isClosing).toBe(false);
    expect(slowSide.session.ws.bufferedAmount).toBeGreaterThan(LOSSY);
    expect(slowSide.session.ws.bufferedAmount).toBeLessThan(MAX_BUFFERED);
    expect(server.getRoomManager().get(ROOM)!.size).toBe(3);

    // It reads again: everything reliable arrived in order, the lossy frames were skipped.
    tcpSocket(slow).resume();
    await slow.next('marker', 10_000);
    expect(seqs(slow.all('blob'))).toEqual(range(sent));
    const beforeMarker = slow.received.slice(
      0,
      slow.received.findIndex((m) => m.type === 'marker'),
    );
    expect(beforeMarker.filter(isLossyCursor), 'cursor sent while over the soft limit').toEqual([]);
    expect(beforeMarker.filter(isLossyPresence), 'presence sent while over the soft limit').toEqual(
      [],
    );
    expect(slow.closeCode).toBeNull();

    // Drained, it gets lossy traffic again.
    await waitUntil(
      () => slowSide.session.ws.bufferedAmount === 0,
      3000,
      'the send buffer to drain',
    );
    flooder.send({ type: 'cursor:update', x: 4343, y: 2 });
    const cursor = await slow.next('cursor:update');
    expect(cursor.cursor).toMatchObject({ userId: 'flooder', x: 4343, y: 2 });
    expect(seqs(normal.all('blob'))).toEqual(range(sent));
  });
});
