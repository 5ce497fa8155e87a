import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type RetryInfo,
  reconnectDelay,
  WebSocketClient,
  type WebSocketClientOptions,
} from '../src/index.js';
import { record, until } from './helpers.js';
import { startRefusingServer, unusedPort } from './raw-server.js';

const clients: WebSocketClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

function connect(url: string, options: Partial<WebSocketClientOptions>): WebSocketClient {
  const client = new WebSocketClient({ url, onError: () => {}, ...options });
  clients.push(client);
  client.connect();
  return client;
}

const step = (attempt: number, initial: number, max: number) =>
  Math.min(max, initial * 2 ** (attempt - 1));

/** Resolves after `ms`: only for showing that nothing happens (an absence has no event). */
const quiet = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('reconnectDelay', () => {
  it('waits between half and all of min(max, initial × 2^(n−1))', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, initial, max, random) => {
          const delay = reconnectDelay(attempt, initial, max, () => random);
          const s = step(attempt, initial, max);
          expect(delay).toBeGreaterThanOrEqual(Math.floor(s / 2));
          expect(delay).toBeLessThanOrEqual(s);
        },
      ),
    );
  });
});

describe('reconnect backoff against a live endpoint', () => {
  it.each([
    ['a server that refuses every upgrade', 'refusing'],
    ['a port where nothing listens', 'closed'],
  ])('grows and stays at the cap (%s)', async (_name, kind) => {
    const url =
      kind === 'refusing'
        ? (await startRefusingServer()).url
        : `ws://127.0.0.1:${await unusedPort()}/rooms`;
    const client = connect(url, { reconnectDelay: 8, maxReconnectDelay: 64 });
    const retries = record(client.retry);
    await until(client.retry, (r) => (r?.attempt ?? 0) >= 8, 5000, 'eight attempts');
    retries.stop();
    const scheduled = retries.values.filter((r): r is RetryInfo => r !== null);
    expect(scheduled.map((r) => r.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const { attempt, delayMs } of scheduled) {
      const s = step(attempt, 8, 64);
      expect(delayMs).toBeGreaterThanOrEqual(s / 2);
      expect(delayMs).toBeLessThanOrEqual(s);
    }
    // The cap is reached at attempt 4 (8 × 2³) and never passed.
    expect(scheduled.slice(3).every((r) => r.delayMs >= 32 && r.delayMs <= 64)).toBe(true);
    expect(client.status()).toBe('reconnecting');
  });

  it("gives up after reconnectAttempts and ends 'disconnected'", async () => {
    const server = await startRefusingServer();
    const client = connect(server.url, { reconnectDelay: 5, reconnectAttempts: 3 });
    await until(client.retry, (r) => r?.attempt === 3);
    await until(client.status, (s) => s === 'disconnected', 5000, 'giving up');
    expect(server.upgrades).toBe(4);
    expect(client.retry()).toBeNull();
    await quiet(100);
    expect(server.upgrades).toBe(4);
  });

  it('does not retry with reconnect: false', async () => {
    const server = await startRefusingServer();
    const client = connect(server.url, { reconnect: false, reconnectDelay: 5 });
    await until(client.status, (s) => s === 'disconnected');
    await quiet(100);
    expect(server.upgrades).toBe(1);
    expect(client.retry()).toBeNull();
  });

  it('disconnect() while waiting to retry stops all further attempts', async () => {
    const server = await startRefusingServer();
    const client = connect(server.url, { reconnectDelay: 10, maxReconnectDelay: 40 });
    await until(client.retry, (r) => (r?.attempt ?? 0) >= 3);
    client.disconnect();
    const seen = server.upgrades;
    expect(client.status()).toBe('disconnected');
    expect(client.retry()).toBeNull();
    await quiet(200);
    expect(server.upgrades).toBe(seen);
  });

  it('connect() while waiting to retry tries at once', async () => {
    const server = await startRefusingServer();
    const client = connect(server.url, { reconnectDelay: 60_000 });
    await until(client.retry, (r) => r?.attempt === 1);
    expect(server.upgrades).toBe(1);
    client.connect();
    await until(client.retry, (r) => r?.attempt === 2);
    expect(server.upgrades).toBe(2);
  });
});
