import { SignJWT } from 'jose';
import { describe, expect } from 'vitest';
import {
  InProcessCluster,
  type InProcessClusterOptions,
  openStore,
  type RoomServer,
  type ServerConfig,
  type SpacesHub,
  type Store,
} from '../src/index.js';
import { connect, openUrl, type Received, startServer, type TestClient } from './helpers.js';
import { afterThisTest, describePostgres, postgresSchema, sqliteFile } from './test-databases.js';

/**
 * What the Spaces WebSocket tests share: a real server over a real store (a SQLite file, or a
 * schema of the TEST_DATABASE_URL PostgreSQL), users signed in with real JWTs, and clients that
 * join Spaces rooms with the core `room:join`.
 */

export const JWT_SECRET = 'spaces-ws-test-secret-0123456789abcdef';

export type OpenStore = () => Promise<Store>;

async function sqlite(): Promise<Store> {
  const store = await openStore(sqliteFile('roomkit-spaces-ws-'));
  afterThisTest(() => store.close());
  return store;
}

async function postgres(): Promise<Store> {
  const schema = await postgresSchema();
  const store = await openStore(schema.url, { poolSize: 5 });
  afterThisTest(() => store.close());
  return store;
}

/** Runs `body` on SQLite and on PostgreSQL (skipped without TEST_DATABASE_URL unless CI). */
export function onBothDatabases(name: string, body: (open: OpenStore) => void): void {
  describe(`${name} (SQLite)`, () => body(sqlite));
  describePostgres(`${name} (PostgreSQL)`, () => body(postgres));
}

export interface SpacesSetup {
  server: RoomServer;
  hub: SpacesHub;
  store: Store;
}

/** A migrated store and a server with JWT auth and Spaces on it. */
export async function startSpaces(
  open: OpenStore,
  config: ServerConfig = {},
): Promise<SpacesSetup> {
  const store = await open();
  await store.migrate();
  const server = await startServer({
    store,
    jwt: { secret: JWT_SECRET },
    spaces: { cleanup: false },
    ...config,
  });
  const hub = server.spacesHub;
  if (!hub) throw new Error('Spaces is not on');
  return { server, hub, store };
}

export interface SpacesClusterSetup {
  nodes: RoomServer[];
  /** Each node's hub, in the order of `nodes`. */
  hubs: SpacesHub[];
  store: Store;
  /** The nodes' cluster (to crash one). */
  cluster: InProcessCluster;
}

/**
 * `count` nodes of one `InProcessCluster`, each a real server with Spaces over the same migrated
 * store, whatever `ROOMKIT_TEST_NODES` says: for tests that place each client on a chosen node.
 */
export async function startSpacesCluster(
  open: OpenStore,
  count = 2,
  config: ServerConfig = {},
  clusterOptions: InProcessClusterOptions = {},
): Promise<SpacesClusterSetup> {
  const store = await open();
  await store.migrate();
  const cluster = new InProcessCluster(clusterOptions);
  const nodes: RoomServer[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push(
      await startServer({
        store,
        jwt: { secret: JWT_SECRET },
        spaces: { cleanup: false },
        ...config,
        bus: cluster.bus(`node-${i}`),
      }),
    );
  }
  const hubs = nodes.map((node) => {
    if (!node.spacesHub) throw new Error('Spaces is not on');
    return node.spacesHub;
  });
  return { nodes, hubs, store, cluster };
}

/** A client on that very node, signed in as `userId` (token in the query string). */
export async function signedInOn(node: RoomServer, userId: string, name = userId) {
  const token = encodeURIComponent(await tokenFor(userId, name));
  return openUrl(`ws://127.0.0.1:${node.port}/rooms?token=${token}`);
}

export function tokenFor(userId: string, name = userId): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ name })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(new TextEncoder().encode(JWT_SECRET));
}

/** A client on the bare path signed in as `userId` (token in the query string). */
export async function signedIn(server: RoomServer, userId: string, name = userId) {
  return connect(server, '/rooms', `token=${encodeURIComponent(await tokenFor(userId, name))}`);
}

/** Sends `room:join` and resolves with the answer (`room:joined` or `room:error`). */
export function joinSpace(
  client: TestClient,
  room: string,
  extra: Record<string, unknown> = {},
): Promise<Received> {
  return client.request({ type: 'room:join', room, ...extra });
}

/** Joins and expects `room:joined`. */
export async function enter(client: TestClient, room: string): Promise<Received> {
  const answer = await joinSpace(client, room);
  expect(answer.type, JSON.stringify(answer)).toBe('room:joined');
  return answer;
}

/** The next `room:message-received` whose message matches. */
export async function nextMessage(
  client: TestClient,
  match: (message: Record<string, unknown>) => boolean = () => true,
): Promise<Record<string, unknown>> {
  const event = await client.next(
    (m) => m.type === 'room:message-received' && match(m.message as Record<string, unknown>),
  );
  return event.message as Record<string, unknown>;
}

/** Spaces with a room hosted by alice ("Alice") that alice and bob ("Bob") have joined. */
export async function aliceAndBob(open: OpenStore, config: ServerConfig = {}) {
  const setup = await startSpaces(open, config);
  const room = await setup.hub.createRoom(
    { id: 'alice', displayName: 'Alice' },
    { name: 'R', maxParticipants: 10 },
  );
  const a = await signedIn(setup.server, 'alice', 'Alice');
  const b = await signedIn(setup.server, 'bob', 'Bob');
  await enter(a, room.id);
  await enter(b, room.id);
  return { ...setup, room, a, b };
}
