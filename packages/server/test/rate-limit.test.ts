import { CloseCode, ErrorCode } from '@roomkit/protocol';
import { describe, expect, it } from 'vitest';
import type { RoomServer } from '../src/index.js';
import { join, type Received, startServer, type TestClient, waitUntil } from './helpers.js';

const ROOM = 'limited';
const RATE = { messagesPerSecond: 10, burst: 5, maxViolations: 20 };
/** One token comes back every 1000 / messagesPerSecond ms. */
const REFILL_MS_PER_TOKEN = 1000 / RATE.messagesPerSecond;

interface Members {
  server: RoomServer;
  flooder: TestClient;
  observer: TestClient;
  third: TestClient;
}

async function setup(): Promise<Members> {
  const server = await startServer({ rateLimit: RATE });
  const flooder = await join(server, ROOM, 'flooder');
  const observer = await join(server, ROOM, 'observer');
  const third = await join(server, ROOM, 'third');
  // Joining sends no frames, so every bucket is still full; let the join broadcasts go by.
  for (const client of [flooder, observer]) {
    await client.next((m) => m.type === 'presence' && (m.users as unknown[]).length === 3);
  }
  return { server, flooder, observer, third };
}

function rateLimitErrors(client: TestClient): Received[] {
  return client.received.filter((m) => m.type === 'error' && m.code === ErrorCode.RateLimited);
}

/** Resolves once the bucket, empty at `emptiedAt`, holds at least `tokens` tokens again. */
function refilled(emptiedAt: number, tokens: number): Promise<void> {
  const due = emptiedAt + tokens * REFILL_MS_PER_TOKEN + 20;
  return waitUntil(() => Date.now() >= due, due - Date.now() + 1000, 'the bucket to refill');
}

describe('rate limit', () => {
  it('a burst over the limit gets one rate_limited error and only the admitted messages are relayed', async () => {
    const { flooder, observer } = await setup();
    const burstAt = Date.now();
    // 5 tokens, 12 messages in one go: 5 admitted, 7 dropped (well under maxViolations).
    for (let seq = 0; seq < 12; seq++) flooder.send({ type: 'tick', seq, ref: `t${seq}` });
    const error = await flooder.next((m) => m.type === 'error');
    expect(error).toMatchObject({ type: 'error', code: ErrorCode.RateLimited });
    expect(error.message).toContain('10/s');
    // Dropped before parsing: the error carries no ref.
    expect(error).not.toHaveProperty('ref');

    // After the refill the same connection works again: a request is acked...
    await refilled(burstAt, 3);
    const ack = await flooder.request({ type: 'heartbeat' });
    expect(ack.type).toBe('ack');
    // ...and the ack, sent after every reply to the burst, shows one error for the whole episode.
    expect(rateLimitErrors(flooder)).toHaveLength(1);
    expect(flooder.received.filter((m) => m.type === 'error')).toHaveLength(1);
    // Only the admitted messages were handled (and acked); the dropped ones got nothing.
    expect(
      flooder.received.filter((m) => m.type === 'ack' && m.ref !== ack.ref).map((m) => m.ref),
    ).toEqual(['t0', 't1', 't2', 't3', 't4']);
    expect(flooder.closeCode).toBeNull();

    // ...and relays again. The sentinel comes after everything the burst could have relayed.
    flooder.send({ type: 'tick', seq: 'sentinel' });
    await observer.next((m) => m.type === 'tick' && m.seq === 'sentinel');
    expect(observer.all('tick').map((m) => m.seq)).toEqual([0, 1, 2, 3, 4, 'sentinel']);
    for (const tick of observer.all('tick'))
      expect(tick).toMatchObject({ from: 'flooder', room: ROOM });
  });

  it('each new episode of drops gets its own single error', async () => {
    const { flooder, observer } = await setup();
    for (const episode of [1, 2]) {
      const startedAt = Date.now();
      for (let seq = 0; seq < 8; seq++) flooder.send({ type: 'tick', episode, seq });
      await flooder.next((m) => m.type === 'error' && m.code === ErrorCode.RateLimited);
      await refilled(startedAt, 1);
      expect((await flooder.request({ type: 'heartbeat' })).type).toBe('ack');
      expect(rateLimitErrors(flooder)).toHaveLength(episode);
      // Full again before the next episode (the heartbeat took one token).
      await refilled(Date.now(), RATE.burst);
    }
    flooder.send({ type: 'tick', seq: 'sentinel' });
    await observer.next((m) => m.type === 'tick' && m.seq === 'sentinel');
    const ticks = observer.all('tick').map((m) => `${String(m.episode)}:${String(m.seq)}`);
    expect(ticks.slice(0, 5)).toEqual(['1:0', '1:1', '1:2', '1:3', '1:4']);
    // The second burst starts with a refilled bucket: again its first five only.
    expect(ticks.slice(5)).toEqual(['2:0', '2:1', '2:2', '2:3', '2:4', 'undefined:sentinel']);
    expect(flooder.closeCode).toBeNull();
  });

  it('a tight flood is closed with 4008 after maxViolations drops; the others keep working', async () => {
    const { server, flooder, observer, third } = await setup();
    // 5 admitted, then drop number 21 (> maxViolations 20) closes the socket.
    for (let seq = 0; seq < 40; seq++) flooder.send({ type: 'tick', seq });
    const closed = await flooder.closed;
    expect(closed.code).toBe(CloseCode.RateLimited);
    expect(closed).toEqual({ code: 4008, reason: 'rate limit exceeded repeatedly' });
    expect(rateLimitErrors(flooder)).toHaveLength(1);

    // The others see the flooder leave, and still talk to each other.
    await observer.next(
      (m) =>
        m.type === 'presence' &&
        !(m.users as Array<{ userId: string }>).some((u) => u.userId === 'flooder'),
    );
    third.send({ type: 'tick', seq: 'from-third' });
    await observer.next((m) => m.type === 'tick' && m.seq === 'from-third');
    expect(observer.all('tick').map((m) => m.seq)).toEqual([0, 1, 2, 3, 4, 'from-third']);
    expect((await observer.request({ type: 'state:update', key: 'k', value: 1 })).type).toBe('ack');
    expect((await third.next((m) => m.type === 'state:update' && m.key === 'k')).value).toBe(1);
    expect(server.getRoomManager().get(ROOM)!.size).toBe(2);
    expect(observer.closeCode).toBeNull();
    expect(third.closeCode).toBeNull();
  });

  it('sustained flooding above the rate gets one error per episode, then 4008', async () => {
    const { flooder, observer, third } = await setup();
    // One message every 10 ms: 100/s against 10/s. After the burst, about one in ten gets through
    // as tokens come back (each one ends an episode of drops); the drops pass maxViolations soon.
    let sent = 0;
    const timer = setInterval(() => {
      if (flooder.ws.readyState === flooder.ws.OPEN && sent < 1000) {
        flooder.send({ type: 'tick', seq: sent++ });
      }
    }, 10);
    try {
      const closed = await flooder.closed;
      expect(closed.code).toBe(CloseCode.RateLimited);
    } finally {
      clearInterval(timer);
    }
    third.send({ type: 'tick', seq: 'after' });
    await observer.next((m) => m.type === 'tick' && m.seq === 'after');
    const seqs = observer.all('tick').map((m) => m.seq);
    expect(seqs.at(-1)).toBe('after');
    const admitted = seqs.filter((s): s is number => typeof s === 'number');
    // Whatever got through arrived in order, starting with the full burst.
    expect(admitted).toEqual([...admitted].sort((a, b) => a - b));
    expect(admitted.slice(0, RATE.burst)).toEqual([0, 1, 2, 3, 4]);

    // Replay the server's decisions from what was relayed: each run of drops that starts at or
    // before drop number maxViolations gets exactly one error; drop number maxViolations + 1 closes.
    const admittedSet = new Set(admitted);
    let drops = 0;
    let episodes = 0;
    let inEpisode = false;
    for (let seq = 0; drops <= RATE.maxViolations; seq++) {
      expect(seq, 'the flood ended before the close').toBeLessThan(sent);
      if (admittedSet.has(seq)) {
        inEpisode = false;
        continue;
      }
      drops++;
      if (drops <= RATE.maxViolations && !inEpisode) episodes++;
      inEpisode = true;
    }
    expect(episodes).toBeGreaterThanOrEqual(1);
    expect(rateLimitErrors(flooder)).toHaveLength(episodes);
    expect(admitted.length).toBeLessThan(sent);
  });

  it('a flood from one member does not use up the others’ budgets', async () => {
    const { flooder, observer, third } = await setup();
    for (let seq = 0; seq < 12; seq++) flooder.send({ type: 'tick', seq });
    await flooder.next((m) => m.type === 'error' && m.code === ErrorCode.RateLimited);
    // The observer's own bucket is full: its burst of 5 all arrives.
    for (let seq = 0; seq < RATE.burst; seq++) observer.send({ type: 'note', seq });
    for (let seq = 0; seq < RATE.burst; seq++) {
      expect((await third.next('note')).seq).toBe(seq);
    }
    expect(rateLimitErrors(observer)).toHaveLength(0);
  });
});
