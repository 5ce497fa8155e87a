/**
 * Property: whatever a server sends after its welcome (garbage text, binary noise, well-known
 * message types with fields of the wrong type), the client stays connected, its signals keep
 * their shapes, and no exception escapes: everything it cannot use is dropped or reported.
 */
import { encodeStorageFrame } from '@roomkit/protocol/storage-frame';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RoomkitError,
  useBroadcast,
  useCursors,
  usePresence,
  useRoom,
  useSharedState,
  useStorage,
  WebSocketClient,
} from '../src/index.js';
import { nextMessage, until } from './helpers.js';
import { ackEverything, type RawPeer, startRawServer, welcome } from './raw-server.js';

const ROOM = 'r';
const TYPES = [
  'welcome',
  'presence',
  'presence:delta',
  'state:init',
  'state:update',
  'room:info',
  'room:left',
  'room:user:joined',
  'room:user:left',
  'cursor:update',
  'broadcast',
  'ack',
  'error',
  'storage:init',
  'storage:ops',
  'chat',
];

const json = fc.jsonValue({ maxDepth: 3 });
/** Mostly the value a field should hold, often one of the wrong type. */
const maybe = <T>(right: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: right, weight: 2 }, json, fc.constant(undefined));
const userId = maybe(fc.constantFrom('u1', 'u2', 'alice'));
/** Something like a member, a cursor or a state entry, with any field wrong or missing. */
const entry = fc.record({
  userId,
  displayName: maybe(fc.string()),
  onlineStatus: maybe(fc.constantFrom('online', 'away', 'offline')),
  lastActiveAt: maybe(fc.double()),
  metadata: maybe(fc.record({ user: maybe(fc.record({ name: json, id: json })), data: json })),
  x: maybe(fc.double()),
  y: maybe(fc.double()),
  value: json,
  timestamp: json,
});
const entries = fc.array(fc.oneof({ arbitrary: entry, weight: 3 }, json), { maxLength: 4 });
/** A `presence:delta` update: an entry's fields, some of them `null` (removed). */
const nulls = fc.dictionary(
  fc.constantFrom('__proto__', 'userId', 'displayName', 'metadata', 'location', 'connections'),
  fc.constant(null),
);
const changes = fc.array(
  fc.oneof(
    {
      arbitrary: fc.tuple(entry, nulls).map(([fields, removed]) => ({ ...fields, ...removed })),
      weight: 3,
    },
    json,
  ),
  { maxLength: 4 },
);
const keyed = fc.dictionary(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'title', 'k'),
  fc.oneof(entry, json),
);
const message = fc.record({
  type: fc.oneof({ arbitrary: fc.constantFrom(...TYPES), weight: 9 }, json),
  room: fc.oneof({ arbitrary: fc.constant(ROOM), weight: 8 }, json, fc.constant(undefined)),
  users: fc.oneof(entries, json),
  joined: fc.oneof(entries, json),
  updated: fc.oneof(changes, json),
  left: fc.oneof(fc.array(userId, { maxLength: 3 }), json),
  states: fc.oneof(keyed, json),
  key: maybe(fc.constantFrom('__proto__', 'title', 'prototype', 'constructor')),
  value: json,
  userId,
  cursor: fc.oneof(entry, json),
  channel: maybe(fc.constant('c')),
  payload: fc.oneof(entry, json),
  metadata: fc.oneof(keyed, json),
  createdAt: maybe(fc.double()),
  maxUsers: json,
  hasPassword: json,
  reason: json,
  ref: maybe(fc.integer({ min: 0, max: 50 })),
  code: json,
  message: json,
  connectionId: json,
  heartbeatIntervalMs: json,
  maxMessageBytes: json,
  from: json,
  timestamp: json,
});
const frame = fc.oneof(
  { arbitrary: message.map((m) => JSON.stringify(m)), weight: 6 },
  fc.string(),
  json.map((v) => JSON.stringify(v)),
  fc.uint8Array({ maxLength: 64 }),
  fc
    .record({
      kind: fc.constantFrom(0, 1, 2),
      room: fc.constantFrom(ROOM, '', 'other'),
      tag: fc.nat(),
      payload: fc.uint8Array({ maxLength: 48 }),
    })
    .map((f) => encodeStorageFrame(f as Parameters<typeof encodeStorageFrame>[0])),
);

describe('a hostile server', () => {
  const escaped: unknown[] = [];
  const onEscape = (error: unknown) => escaped.push(error);
  beforeAll(() => {
    process.on('uncaughtException', onEscape);
    process.on('unhandledRejection', onEscape);
  });
  afterAll(() => {
    process.off('uncaughtException', onEscape);
    process.off('unhandledRejection', onEscape);
  });

  it('cannot throw out of the client or break its signals', async () => {
    let peer: RawPeer | undefined;
    const server = await startRawServer({
      onPeer: (p) => {
        peer = p;
        p.send(welcome({ protocol: 2 }));
      },
      onMessage: ackEverything,
    });
    const reported: Error[] = [];
    const client = new WebSocketClient({ url: server.url, onError: (e) => reported.push(e) });
    const presence = usePresence<{ tool: string }>({
      client,
      room: ROOM,
      initialData: { tool: 'pen' },
    });
    const cursors = useCursors({ client, room: ROOM });
    const membership = useRoom({ client, roomId: ROOM });
    const channel = useBroadcast<{ n: number }>({ client, room: ROOM, channel: 'c' });
    const shared = useSharedState({ client, room: ROOM, initialState: { title: 'x' } });
    const storage = useStorage({ client, room: ROOM });
    client.connect();
    await until(membership.isJoined, Boolean);

    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 8 }), async (frames) => {
          run += 1;
          // A `room:left` among the frames takes the client out of the room: back in first.
          if (!membership.isJoined()) expect(await membership.join()).toBe(true);
          for (const f of frames) peer!.send(f);
          // Frames arrive in order: once this one is handled, all the others were too.
          const seen = nextMessage(client, 'sentinel', (n) => n === run);
          peer!.send({ type: 'sentinel', payload: run });
          await seen;

          expect(client.status()).toBe('connected');
          expect(escaped).toEqual([]);
          // Only refusals and bad document frames are reported: anything else is a client bug.
          for (const error of reported) expect(error).toBeInstanceOf(RoomkitError);
          const others = presence.others();
          expect(Array.isArray(others)).toBe(true);
          for (const other of others) {
            expect(typeof other.user.id).toBe('string');
            expect(typeof other.data).toBe('object');
          }
          expect(typeof presence.count()).toBe('number');
          const members = client.room(ROOM).members();
          expect(new Set(members.map((m) => m.userId)).size).toBe(members.length);
          for (const m of members) {
            expect(typeof m.userId).toBe('string');
            expect(typeof m.displayName).toBe('string');
            expect(Number.isFinite(m.connectedAt) && Number.isFinite(m.lastActiveAt)).toBe(true);
            expect(['online', 'away', 'offline']).toContain(m.onlineStatus);
            if (m.metadata !== undefined) expect(typeof m.metadata).toBe('object');
          }
          for (const cursor of cursors.cursors()) {
            expect(Number.isFinite(cursor.x) && Number.isFinite(cursor.y)).toBe(true);
          }
          expect(Array.isArray(membership.users())).toBe(true);
          const current = membership.room();
          if (current) expect(Array.isArray(current.users)).toBe(true);
          expect(Array.isArray(channel.history())).toBe(true);
          const state = shared.state();
          expect(Object.getPrototypeOf(state)).toBe(Object.prototype);
          expect(typeof shared.version()).toBe('number');
          expect(typeof storage.doc.getText('t').toString()).toBe('string');
          expect(Object.getPrototypeOf({})).toBe(Object.prototype);
        }),
        { numRuns: 150 },
      );
    } finally {
      client.disconnect();
    }
  }, 60_000);
});
