import { SignJWT } from 'jose';
import { describe, expect } from 'vitest';
import {
  openStore,
  type RoomServer,
  type ServerConfig,
  SpacesService,
  type Store,
} from '../src/index.js';
import { startServer } from './helpers.js';
import { afterThisTest, describePostgres, postgresSchema, sqliteFile } from './test-databases.js';

/**
 * What the Spaces REST tests share: a real server on port 0 over a real store (a SQLite file, or
 * a schema of the TEST_DATABASE_URL PostgreSQL), users' JWTs minted with jose, and `call` for
 * real HTTP requests over loopback.
 */

export const SECRET = 'x'.repeat(32);
export const API_KEY = 'test-key-0123456789abcdef';

/** Opens an empty, migrated store; it is closed after the test. */
export type OpenStore = () => Promise<Store>;

async function sqliteStore(): Promise<Store> {
  const store = await openStore(sqliteFile('roomkit-spaces-rest-'));
  afterThisTest(() => store.close());
  return store;
}

async function postgresStore(): Promise<Store> {
  const schema = await postgresSchema();
  const store = await openStore(schema.url, { poolSize: 5 });
  afterThisTest(() => store.close());
  return store;
}

/** An in-memory SQLite store, for tests about something else than the database. */
export async function memoryStore(): Promise<Store> {
  const store = await openStore(':memory:');
  afterThisTest(() => store.close());
  return store;
}

/** Runs `body` once on SQLite and once on PostgreSQL (skipped without TEST_DATABASE_URL). */
export function describeBackends(name: string, body: (open: OpenStore) => void): void {
  describe(`${name} (SQLite)`, () => body(sqliteStore));
  describePostgres(`${name} (PostgreSQL)`, () => body(postgresStore));
}

/** A user's token: HS256 with the server's secret unless `options` say otherwise. */
export async function userToken(
  sub: string,
  name: string = sub,
  options: { expiresAt?: number; secret?: string; claims?: Record<string, unknown> } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ name, ...options.claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(options.expiresAt ?? now + 3600)
    .sign(new TextEncoder().encode(options.secret ?? SECRET));
}

export interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & {
    success?: boolean;
    error?: { code: string; message: string };
  };
}

export interface CallOptions {
  /** A JWT, sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Sent as JSON (strings as they are). */
  body?: unknown;
  headers?: Record<string, string>;
}

/** A real HTTP request to the server; the answer's body parsed as JSON. */
export async function call(
  server: RoomServer,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization ??= `Bearer ${options.token}`;
  const init: RequestInit = { method, headers };
  if (options.body !== undefined) {
    init.body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`http://127.0.0.1:${server.port}${path}`, init);
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? {} : (JSON.parse(text) as Answer['body']),
  };
}

export interface SpacesSetup {
  server: RoomServer;
  store: Store;
  /** The service on the same store, for what REST cannot do (taking a seat, posting). */
  service: SpacesService;
  /** `call` with `user`'s token (minted once per user id). */
  as(
    user: string,
    method: string,
    path: string,
    options?: Omit<CallOptions, 'token'>,
  ): Promise<Answer>;
  token(user: string): Promise<string>;
}

/**
 * A server with Spaces and JWT auth (guest sign-in on) on a fresh store. `config` overrides or
 * adds server options; the rate limit is high unless the test sets one.
 */
export async function startSpaces(
  open: OpenStore,
  config: ServerConfig = {},
): Promise<SpacesSetup> {
  const store = await open();
  const server = await startServer({
    store,
    api: { keys: [API_KEY] },
    jwt: { secret: SECRET, guest: true },
    spaces: { rateLimit: { max: 10_000, timeWindowMs: 60_000 } },
    ...config,
  });
  // Stopped before its store closes (cleanups run last registered first).
  afterThisTest(() => server.stop());
  const tokens = new Map<string, Promise<string>>();
  const token = (user: string): Promise<string> => {
    let minted = tokens.get(user);
    if (!minted) {
      minted = userToken(user, `${user[0]?.toUpperCase() ?? ''}${user.slice(1)}`);
      tokens.set(user, minted);
    }
    return minted;
  };
  return {
    server,
    store,
    service: new SpacesService(store),
    token,
    as: async (user, method, path, options = {}) =>
      call(server, method, path, { ...options, token: await token(user) }),
  };
}

export type Room = { id: string; roomCode: string } & Record<string, unknown>;

/** `user`'s new room (asserting the 201), as the answer has it. */
export async function createRoom(
  spaces: SpacesSetup,
  body: object = { name: 'Lounge' },
  user = 'alice',
): Promise<Room> {
  const answer = await spaces.as(user, 'POST', '/api/rooms/create', { body });
  expect(answer.status).toBe(201);
  return answer.body.room as Room;
}

/** The error body every `/api` error has. */
export function errorOf(code: string, message: string | RegExp = /.+/) {
  return {
    success: false,
    error: {
      code,
      message: typeof message === 'string' ? message : expect.stringMatching(message),
    },
  };
}
