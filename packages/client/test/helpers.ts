import { afterEach } from 'vitest';
import { RoomServer, type ServerConfig } from '../../server/src/index.js';
import { type ReadonlySignal, WebSocketClient, type WebSocketClientOptions } from '../src/index.js';

const servers = new Set<RoomServer>();
const clients = new Set<WebSocketClient>();

afterEach(async () => {
  for (const client of clients) client.disconnect();
  clients.clear();
  await Promise.all([...servers].map((server) => server.stop()));
  servers.clear();
});

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** A real server on port 0 (logs off), stopped after the test. */
export async function startServer(config: ServerConfig = {}, port = 0): Promise<RoomServer> {
  const server = new RoomServer({ logger: silent, ...config });
  servers.add(server);
  await server.start(port);
  return server;
}

export async function stopServer(server: RoomServer): Promise<void> {
  servers.delete(server);
  await server.stop();
}

/** A connected client for `userId`, disconnected after the test. */
export function connectClient(
  server: RoomServer,
  userId: string,
  options: Partial<WebSocketClientOptions> = {},
): WebSocketClient {
  const client = new WebSocketClient({
    url: `ws://127.0.0.1:${server.port}/rooms`,
    params: { userId, displayName: userId },
    reconnectDelay: 20,
    maxReconnectDelay: 200,
    ...options,
  });
  clients.add(client);
  client.connect();
  return client;
}

/** Resolves with the signal's value once `predicate` holds (checked now and on every change). */
export function until<T>(
  read: ReadonlySignal<T>,
  predicate: (value: T) => boolean,
  timeoutMs = 5000,
  what = 'condition',
): Promise<T> {
  return new Promise((resolve, reject) => {
    if (predicate(read.peek())) {
      resolve(read.peek());
      return;
    }
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(read.peek())}`));
    }, timeoutMs);
    const stop = read.subscribe((value) => {
      if (!predicate(value)) return;
      clearTimeout(timer);
      queueMicrotask(stop);
      resolve(value);
    });
  });
}
