import type { IncomingMessage } from 'node:http';
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import {
  InProcessCluster,
  type PresenceUser,
  RoomServer,
  type ServerConfig,
} from '../src/index.js';

/** A message as the test sees it: parsed JSON with at least a `type`. */
export type Received = { type: string; [field: string]: unknown };

const servers = new Set<RoomServer>();
const clients = new Set<TestClient>();

afterEach(async () => {
  for (const client of clients) client.terminate();
  clients.clear();
  await Promise.all([...servers].map((s) => s.stop()));
  servers.clear();
  clusterOf.clear();
  nextNode = 0;
});

/**
 * How many nodes `startServer` starts (`ROOMKIT_TEST_NODES`, default 1). With more than one, the
 * same test runs against an `InProcessCluster`: `startServer` answers the first node, and every
 * URL `wsUrl` makes points at the next node in turn, so a test's clients are spread over them.
 */
export const TEST_NODES = Math.max(1, Number(process.env.ROOMKIT_TEST_NODES ?? '1') || 1);
/** The nodes of each cluster `startServer` started, by its first node. */
const clusterOf = new Map<RoomServer, RoomServer[]>();
let nextNode = 0;

/**
 * Starts a real server on port 0 with logs silenced (with `ROOMKIT_TEST_NODES` > 1 and no bus
 * of the test's own, a cluster of that many); stopped automatically after the test.
 */
export async function startServer(config: ServerConfig = {}): Promise<RoomServer> {
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  if (TEST_NODES === 1 || config.bus !== undefined) {
    const server = new RoomServer({ logger: silent, ...config });
    servers.add(server);
    await server.start(0);
    return server;
  }
  const cluster = new InProcessCluster();
  const nodes = Array.from(
    { length: TEST_NODES },
    (_, i) => new RoomServer({ logger: silent, ...config, bus: cluster.bus(`node-${i}`) }),
  );
  for (const node of nodes) servers.add(node);
  await Promise.all(nodes.map((node) => node.start(0)));
  clusterOf.set(nodes[0]!, nodes);
  return nodes[0]!;
}

/** Every node of the server's cluster (just the server when it runs alone). */
export function nodesOf(server: RoomServer): RoomServer[] {
  return clusterOf.get(server) ?? [server];
}

/** A WebSocket URL of the server (of its cluster's next node in turn, when it has several). */
export function wsUrl(server: RoomServer, path = '/rooms/test-room', query = ''): string {
  const nodes = nodesOf(server);
  const node = nodes[nextNode++ % nodes.length]!;
  return `ws://127.0.0.1:${node.port}${path}${query ? `?${query}` : ''}`;
}

/**
 * A real `ws` client that records every message, so a test can wait for the next message
 * matching a predicate (with a timeout) instead of sleeping.
 */
export class TestClient {
  readonly received: Received[] = [];
  private cursor = 0;
  private waiters: Array<() => void> = [];
  closeCode: number | null = null;
  closeReason = '';
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    clients.add(this);
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.received.push({ type: '<binary>', data: data as Buffer });
        this.wake();
        return;
      }
      const text = data.toString();
      try {
        this.received.push(JSON.parse(text) as Received);
      } catch {
        this.received.push({ type: '<unparseable>', raw: text });
      }
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        this.wake();
        resolve({ code, reason: this.closeReason });
      });
    });
    ws.on('error', () => {});
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /**
   * Resolves with the first message (after those already consumed) matching `match`; consumes
   * everything up to and including it. Rejects after `timeoutMs`.
   */
  next(
    match: ((m: Received) => boolean) | string = () => true,
    timeoutMs = 3000,
  ): Promise<Received> {
    const predicate = typeof match === 'string' ? (m: Received) => m.type === match : match;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        while (this.cursor < this.received.length) {
          const message = this.received[this.cursor++]!;
          if (predicate(message)) {
            resolve(message);
            return true;
          }
        }
        return false;
      };
      if (check()) return;
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `timed out waiting for ${typeof match === 'string' ? match : 'a matching message'}; got ${JSON.stringify(this.received.slice(-5))}`,
          ),
        );
      }, timeoutMs);
      const waiter = () => {
        if (check()) {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((w) => w !== waiter);
        }
      };
      this.waiters.push(waiter);
    });
  }

  /** Position of the next unconsumed message, for `rewind`. */
  mark(): number {
    return this.cursor;
  }

  /** Makes the messages from `position` on unconsumed again. */
  rewind(position: number): void {
    this.cursor = position;
  }

  /** All messages received so far of a type (consumed or not). */
  all(type: string): Received[] {
    return this.received.filter((m) => m.type === type);
  }

  /** Sends a request with a `ref` and waits for its `ack` or `error`. */
  async request(message: Record<string, unknown>, timeoutMs = 3000): Promise<Received> {
    const ref = `r${Math.random().toString(36).slice(2)}`;
    this.send({ ...message, ref });
    return this.next(
      (m) => (m.type === 'ack' || m.type === 'error' || m.ref === ref) && m.ref === ref,
      timeoutMs,
    );
  }

  close(code?: number): Promise<{ code: number; reason: string }> {
    this.ws.close(code);
    return this.closed;
  }

  terminate(): void {
    this.ws.terminate();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** Opens a client and waits for `welcome` (and, on a room path, the joiner's `state:init`). */
export async function connect(
  server: RoomServer,
  path = '/rooms/test-room',
  query = '',
  options: WebSocket.ClientOptions = {},
): Promise<TestClient> {
  return openUrl(wsUrl(server, path, query), options);
}

/** Opens a client on any URL (e.g. a server in another process) and waits for `welcome`. */
export async function openUrl(
  url: string,
  options: WebSocket.ClientOptions = {},
): Promise<TestClient> {
  const ws = new WebSocket(url, options);
  const client = new TestClient(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await client.next('welcome');
  return client;
}

/** Connects and waits until the room snapshot (`state:init`) arrived: the join is complete. */
export async function join(
  server: RoomServer,
  roomId = 'test-room',
  userId?: string,
  displayName?: string,
): Promise<TestClient> {
  const query = new URLSearchParams();
  if (userId) query.set('userId', userId);
  if (displayName) query.set('displayName', displayName);
  const client = await connect(server, `/rooms/${roomId}`, query.toString());
  // Wait for the join to complete, but leave the joiner's presence snapshot unconsumed: it is the
  // presence list the joiner has (the broadcast that follows skips it when nothing changed).
  const mark = client.mark();
  await client.next('state:init');
  client.rewind(mark);
  return client;
}

/** Attempts an upgrade and resolves with the HTTP status of a rejection (or 101 if accepted). */
export function upgradeStatus(
  url: string,
  options: WebSocket.ClientOptions = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    ws.on('open', () => {
      ws.terminate();
      resolve({ status: 101, body: '' });
    });
    ws.on('error', (error) => {
      if (!String(error.message).includes('Unexpected server response')) reject(error);
    });
  });
}

/** Resolves when `condition()` is true, polling on a short interval; rejects after `timeoutMs`. */
export async function waitUntil(
  condition: () => boolean,
  timeoutMs = 3000,
  what = 'condition',
): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

// ---- presence and ordering helpers shared by the test files ----

/** The `users` of a `presence` message (throws on anything else). */
export function usersOf(message: Received): PresenceUser[] {
  if (message.type !== 'presence' || !Array.isArray(message.users)) {
    throw new Error(`not a presence message: ${JSON.stringify(message)}`);
  }
  return message.users as PresenceUser[];
}

export function findUser(users: PresenceUser[], userId: string): PresenceUser | undefined {
  return users.find((user) => user.userId === userId);
}

/** A predicate for a `presence` message of `room` whose user ids are exactly `ids` (any order). */
export function presenceWith(room: string, ids: string[]): (m: Received) => boolean {
  const want = [...ids].sort().join(',');
  return (m) =>
    m.type === 'presence' &&
    m.room === room &&
    usersOf(m)
      .map((u) => u.userId)
      .sort()
      .join(',') === want;
}

/** Waits for the next `presence` (of `room`, if given) whose users satisfy `ok`. */
export async function nextPresence(
  client: TestClient,
  ok: (users: PresenceUser[]) => boolean,
  room?: string,
  timeoutMs = 3000,
): Promise<PresenceUser[]> {
  const message = await client.next(
    (m) => m.type === 'presence' && (room === undefined || m.room === room) && ok(usersOf(m)),
    timeoutMs,
  );
  return usersOf(message);
}

/**
 * Sends an application message from `from` (to `room`, if given) and waits until `to` has it:
 * everything sent to `to` before it has arrived, so an absence can be asserted.
 */
export async function sentinel(from: TestClient, to: TestClient, room?: string): Promise<void> {
  const marker = `s${Math.random().toString(36).slice(2)}`;
  from.send(
    room === undefined
      ? { type: 'test:sentinel', marker }
      : { type: 'test:sentinel', marker, room },
  );
  await to.next((m) => m.type === 'test:sentinel' && m.marker === marker);
}
