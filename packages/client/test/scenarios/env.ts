/**
 * What a scenario gets from its runner. Scenarios run unchanged in Node (vitest, `ws`) and in
 * Chromium (bundled into a test page, the platform WebSocket), so they import nothing but the
 * client and this folder: no vitest, no Node modules, no server code.
 */
import type { ReadonlySignal, WebSocketClient, WebSocketClientOptions } from '../../src/index.js';

export interface ScenarioEnv {
  /** The server's WebSocket endpoint, e.g. `ws://127.0.0.1:41234/rooms`. */
  serverUrl: string;
  /** A new, not yet connected client (the runner picks the WebSocket implementation). */
  createClient(options: WebSocketClientOptions): WebSocketClient;
  /**
   * Asks the server to drop every socket of `userId` without a close handshake (as a crashed
   * proxy or a dead network would). Resolves with how many sockets were dropped.
   */
  dropConnections(userId: string): Promise<number>;
}

export type Scenario = (env: ScenarioEnv) => Promise<void>;

/** Per-call timeout of every wait in a scenario: generous for a loaded 2-core CI machine. */
export const WAIT_MS = 5000;

/** Runs `body` with a client factory; every client it opened is disconnected afterwards. */
export async function withClients(
  env: ScenarioEnv,
  body: (open: (userId: string, name?: string) => WebSocketClient) => Promise<void>,
): Promise<void> {
  const opened: WebSocketClient[] = [];
  const open = (userId: string, name = userId) => {
    const client = env.createClient({
      url: env.serverUrl,
      params: { userId, displayName: name },
      // Fast retries: reconnect scenarios should not wait a second per attempt.
      reconnectDelay: 20,
      maxReconnectDelay: 200,
    });
    opened.push(client);
    client.connect();
    return client;
  };
  try {
    await body(open);
  } finally {
    for (const client of opened) client.disconnect();
  }
}

/** A room id no other scenario run (in this or a parallel runner) uses. */
export function uniqueRoom(name: string): string {
  return `${name}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Resolves with the signal's value once `predicate` holds (checked now and on every change). */
export function until<T>(
  read: ReadonlySignal<T>,
  predicate: (value: T) => boolean,
  what: string,
  timeoutMs = WAIT_MS,
): Promise<T> {
  return new Promise((resolve, reject) => {
    if (predicate(read.peek())) {
      resolve(read.peek());
      return;
    }
    const timer = setTimeout(() => {
      stop();
      reject(
        new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}; last value: ${describe(read.peek())}`,
        ),
      );
    }, timeoutMs);
    const stop = read.subscribe((value) => {
      if (!predicate(value)) return;
      clearTimeout(timer);
      // Unsubscribing from inside the signal's own notification is deferred to be safe.
      queueMicrotask(stop);
      resolve(value);
    });
  });
}

/** Resolves once `predicate()` holds, checked on each of `changes` (for values that are not signals). */
export function untilEvent(
  subscribe: (listener: () => void) => () => void,
  predicate: () => boolean,
  what: string,
  timeoutMs = WAIT_MS,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (predicate()) {
      resolve();
      return;
    }
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const stop = subscribe(() => {
      if (!predicate()) return;
      clearTimeout(timer);
      stop();
      resolve();
    });
  });
}

/** Throws with `message` and the two values unless they are deeply (JSON-)equal. */
export function assertEqual(actual: unknown, expected: unknown, message: string): void {
  const a = describe(actual);
  const e = describe(expected);
  if (a !== e) throw new Error(`${message}: expected ${e}, got ${a}`);
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
