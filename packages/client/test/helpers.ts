import { afterEach } from 'vitest';
import { RoomServer, type ServerConfig } from '../../server/src/index.js';
import {
  type ReadonlySignal,
  type RealtimeMessage,
  WebSocketClient,
  type WebSocketClientOptions,
} from '../src/index.js';

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
  server: Pick<RoomServer, 'port'>,
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
      reject(
        new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(read.peek())}`,
        ),
      );
    }, timeoutMs);
    const stop = read.subscribe((value) => {
      if (!predicate(value)) return;
      clearTimeout(timer);
      queueMicrotask(stop);
      resolve(value);
    });
  });
}

/** Resolves once `check()` is true, polled every 10 ms, for state that has no event (server internals). */
export async function eventually(
  check: () => boolean,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The next message of `type` the client's `on` handlers get: `[payload, message]`. */
export function nextMessage<P = unknown>(
  client: WebSocketClient,
  type: string,
  match: (payload: P, message: RealtimeMessage<P>) => boolean = () => true,
  timeoutMs = 5000,
): Promise<[P, RealtimeMessage<P>]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for a ${type} message`));
    }, timeoutMs);
    const stop = client.on<P>(type, (payload, message) => {
      if (!match(payload, message)) return;
      clearTimeout(timer);
      stop();
      resolve([payload, message]);
    });
  });
}

/** Cuts `userId`'s sockets on the server side without a close frame (a dropped connection). */
export function dropConnections(server: RoomServer, userId: string): number {
  const sockets = new Set<{ terminate(): void }>();
  for (const room of server.getRoomManager().all()) {
    for (const connection of room.connections.values()) {
      if (connection.user.userId === userId) sockets.add(connection.session.ws);
    }
  }
  for (const socket of sockets) socket.terminate();
  return sockets.size;
}

/** Counts WebSocket upgrade requests that reach `server`. */
export function countUpgrades(server: RoomServer): { readonly count: number } {
  const counter = { count: 0 };
  server.httpServer.on('upgrade', () => {
    counter.count += 1;
  });
  return counter;
}

/** Every value a signal takes from now on (the current one first). */
export function record<T>(read: ReadonlySignal<T>): { values: T[]; stop: () => void } {
  const values = [read.peek()];
  const stop = read.subscribe((value) => values.push(value));
  return { values, stop };
}
