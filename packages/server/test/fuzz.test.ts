import { ErrorCode } from '@roomkit/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RoomServer } from '../src/index.js';
import { join, type Received, startServer, type TestClient } from './helpers.js';

const ROOM = 'fuzz';
const FUZZER = 'fuzzer';
const OBSERVER = 'observer';
const MAX_MESSAGE_BYTES = 64 * 1024;
const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

const BUILT_IN_TYPES = [
  'heartbeat',
  'presence:update',
  'cursor:update',
  'state:update',
  'room:join',
  'room:leave',
  'room:list',
  'storage:init',
  'storage:ops',
  'broadcast',
  // server-only
  'welcome',
  'presence',
  'state:init',
  'ack',
  'error',
  'room:info',
  'room:user:joined',
  'room:user:left',
] as const;

/** Built-in names: none of them may reach the observer as a relay (their handlers own them). */
const BUILT_IN: ReadonlySet<string> = new Set(BUILT_IN_TYPES);

const FIELD_NAMES = [
  'room',
  'ref',
  'key',
  'value',
  'merge',
  'x',
  'y',
  'onlineStatus',
  'isIdle',
  'location',
  'metadata',
  'avatarUrl',
  'from',
  'timestamp',
  'userId',
  'cursor',
  'users',
  'states',
  'code',
  'cid',
  'offset',
  'channel',
  'payload',
  'password',
  'maxUsers',
  '__proto__',
  'constructor',
  'prototype',
] as const;

// ---- arbitraries ----

const roomValue = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(ROOM, 'elsewhere', 'other') },
  { weight: 1, arbitrary: fc.constantFrom('', '-x', 'a b', 'r'.repeat(129), '../x') },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
);

const fieldValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom('online', 'away', 'offline', true, false, 0, -1, 1e308, ''),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 300 }),
);

/** An object with a random or built-in type and random (often well-known) fields. */
const randomMessage = fc
  .record(
    {
      type: fc.oneof(
        { weight: 5, arbitrary: fc.constantFrom(...BUILT_IN_TYPES) },
        { weight: 3, arbitrary: fc.constantFrom('chat', 'move', 'room:joined', 'x:y', 'toString') },
        { weight: 2, arbitrary: fc.string({ maxLength: 70 }) },
        { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
      ),
      room: roomValue,
      ref: fc.oneof(fc.string({ maxLength: 70 }), fc.integer(), fc.jsonValue({ maxDepth: 1 })),
    },
    { requiredKeys: ['type'] },
  )
  .chain((envelope) =>
    fc
      .dictionary(
        fc.oneof(fc.constantFrom(...FIELD_NAMES), fc.string({ maxLength: 10 })),
        fieldValue,
        { maxKeys: 6 },
      )
      .map((fields) => ({ ...fields, ...envelope })),
  );

/** A structurally valid built-in message with plausible field values: reaches the handlers. */
const plausibleBuiltIn = fc.oneof(
  fc.record({
    type: fc.constant('state:update'),
    key: fc.oneof(fc.constantFrom('a', 'b', 'doc'), fc.string({ minLength: 1, maxLength: 20 })),
    value: fc.jsonValue({ maxDepth: 4 }),
    merge: fc.boolean(),
    room: fc.constantFrom(ROOM, 'elsewhere'),
  }),
  fc.record({
    type: fc.constant('cursor:update'),
    x: fc.double({ noNaN: true, noDefaultInfinity: true }),
    y: fc.integer(),
    tool: fc.jsonValue({ maxDepth: 2 }),
  }),
  fc.record(
    {
      type: fc.constant('presence:update'),
      onlineStatus: fc.constantFrom('online', 'away', 'offline'),
      isIdle: fc.boolean(),
      location: fc.string({ maxLength: 256 }),
      metadata: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })),
    },
    { requiredKeys: ['type'] },
  ),
  fc.record({ type: fc.constantFrom('room:join', 'room:leave'), room: roomValue }),
  fc.record(
    {
      type: fc.constant('room:join'),
      room: roomValue,
      password: fc.oneof(fc.constantFrom('pw', 'other'), fc.string({ maxLength: 300 })),
      maxUsers: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.double()),
      metadata: fc.oneof(
        fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })),
        fc.jsonValue({ maxDepth: 1 }),
      ),
    },
    { requiredKeys: ['type', 'room'] },
  ),
  fc.record(
    {
      type: fc.constant('broadcast'),
      channel: fc.oneof(fc.constantFrom('typing', 'cursor', ''), fc.string({ maxLength: 140 })),
      payload: fc.jsonValue({ maxDepth: 3 }),
      room: fc.constantFrom(ROOM, 'elsewhere'),
      cid: fc.string({ maxLength: 70 }),
    },
    { requiredKeys: ['type', 'channel'] },
  ),
  fc.record({ type: fc.constantFrom('heartbeat', 'room:list') }),
);

type Frame =
  | { kind: 'text'; text: string }
  | { kind: 'binary'; bytes: Uint8Array }
  | { kind: 'object'; message: Record<string, unknown> };

function stringify(value: unknown): string {
  return JSON.stringify(value) ?? 'undefined';
}

const frame: fc.Arbitrary<Frame> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.string({ maxLength: 200 }).map((text) => ({ kind: 'text', text }) as const),
  },
  {
    weight: 1,
    arbitrary: fc.json({ maxDepth: 4 }).map((text) => ({ kind: 'text', text }) as const),
  },
  {
    weight: 1,
    arbitrary: fc
      .anything({ maxDepth: 3 })
      .map((v) => ({ kind: 'text', text: stringify(v) }) as const),
  },
  { weight: 5, arbitrary: randomMessage.map((message) => ({ kind: 'object', message }) as const) },
  {
    weight: 4,
    arbitrary: plausibleBuiltIn.map((message) => ({ kind: 'object', message }) as const),
  },
  {
    weight: 1,
    arbitrary: fc
      .uint8Array({ maxLength: 300 })
      .map((bytes) => ({ kind: 'binary', bytes }) as const),
  },
  {
    // Over maxMessageBytes, under maxPayloadBytes: refused with an error, the socket lives.
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.integer({ min: MAX_MESSAGE_BYTES + 1, max: 3 * MAX_MESSAGE_BYTES }),
        fc.constantFrom('chat', 'state:update'),
      )
      .map(
        ([size, type]) =>
          ({ kind: 'text', text: JSON.stringify({ type, pad: 'x'.repeat(size) }) }) as const,
      ),
  },
  {
    // Deep nesting, up to far past maxDepth.
    weight: 1,
    arbitrary: fc.integer({ min: 1, max: 5000 }).map(
      (depth) =>
        ({
          kind: 'text',
          text: `{"type":"deep","v":${'['.repeat(depth)}${']'.repeat(depth)}}`,
        }) as const,
    ),
  },
);

// ---- checks ----

/** Everything the observer receives must be room traffic or a relay properly stamped as the fuzzer's. */
function checkObserverMessage(message: Received): void {
  const where = JSON.stringify(message).slice(0, 300);
  switch (message.type) {
    case 'presence': {
      expect(message.room, where).toBe(ROOM);
      const users = message.users as Array<{ userId: unknown }>;
      expect(Array.isArray(users), where).toBe(true);
      for (const user of users) expect([FUZZER, OBSERVER], where).toContain(user.userId);
      return;
    }
    case 'state:update':
      expect(message, where).toMatchObject({ room: ROOM, userId: FUZZER });
      expect(typeof message.key, where).toBe('string');
      expect(typeof message.timestamp, where).toBe('number');
      return;
    case 'cursor:update': {
      expect(message.room, where).toBe(ROOM);
      const cursor = message.cursor as Record<string, unknown>;
      expect(cursor, where).toMatchObject({ userId: FUZZER, displayName: FUZZER });
      expect(typeof cursor.x, where).toBe('number');
      expect(typeof cursor.y, where).toBe('number');
      return;
    }
    case 'broadcast':
      expect(message, where).toMatchObject({ room: ROOM, from: FUZZER });
      expect(typeof message.channel, where).toBe('string');
      expect(typeof message.timestamp, where).toBe('number');
      expect(message, where).toHaveProperty('payload');
      expect(message, where).not.toHaveProperty('ref');
      return;
    // The fuzzer leaves and rejoins the room.
    case 'room:user:joined':
    case 'room:user:left': {
      expect(message.room, where).toBe(ROOM);
      const payload = message.payload as { userId?: unknown } | string;
      const userId = typeof payload === 'string' ? payload : payload.userId;
      expect(userId, where).toBe(FUZZER);
      return;
    }
    default:
      expect(BUILT_IN.has(message.type), where).toBe(false);
      expect(message, where).toMatchObject({ room: ROOM, from: FUZZER });
      expect(typeof message.timestamp, where).toBe('number');
      // The sender's ref is its own business: relays never carry it.
      expect(message, where).not.toHaveProperty('ref');
      expect(message, where).not.toHaveProperty('offset');
  }
}

/** Every reply the fuzzer gets is well-formed; none says a handler crashed. */
function checkFuzzerMessage(message: Received): void {
  if (message.type !== 'error') return;
  const where = JSON.stringify(message).slice(0, 300);
  expect(KNOWN_CODES.has(message.code as string), where).toBe(true);
  expect(message.code, where).not.toBe(ErrorCode.InternalError);
  expect(typeof message.message, where).toBe('string');
}

function send(client: TestClient, f: Frame): void {
  if (f.kind === 'binary') client.ws.send(f.bytes, { binary: true });
  else if (f.kind === 'text') client.ws.send(f.text);
  else client.send(stringify(f.message));
}

/** The fuzzer's server-side session, when it is in the room. */
function fuzzerDefaultRoom(server: RoomServer): string | null | undefined {
  const room = server.getRoomManager().get(ROOM);
  for (const connection of room?.connections.values() ?? []) {
    if (connection.user.userId === FUZZER) return connection.session.defaultRoom;
  }
  return undefined;
}

describe('fuzz', () => {
  it('random frames from one client never crash the server or reach others unstamped', async () => {
    const server = await startServer({
      // High enough that the fuzzer is never simply rate limited.
      rateLimit: { messagesPerSecond: 1_000_000, burst: 1_000_000, maxViolations: 1_000_000 },
      cursorFlushMs: 5,
    });
    const observer = await join(server, ROOM, OBSERVER);
    // Its own welcome, presence and state:init are not traffic from the fuzzer.
    let observerChecked = observer.received.length;
    let fuzzer = await join(server, ROOM, FUZZER);
    let fuzzerChecked = 0;
    let run = 0;

    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 20 }), async (frames) => {
        run++;
        for (const f of frames) send(fuzzer, f);

        // The server still answers the fuzzer: put it back into exactly the fuzz room.
        const list = await fuzzer.request({ type: 'room:list' });
        expect(list.type).toBe('room:list');
        for (const room of list.rooms as string[]) {
          if (room !== ROOM)
            expect((await fuzzer.request({ type: 'room:leave', room })).type).toBe('ack');
        }
        expect((await fuzzer.request({ type: 'room:join', room: ROOM })).type).toBe('ack');
        expect((await fuzzer.request({ type: 'heartbeat' })).type).toBe('ack');
        expect(fuzzer.closeCode).toBeNull();
        for (; fuzzerChecked < fuzzer.received.length; fuzzerChecked++) {
          checkFuzzerMessage(fuzzer.received[fuzzerChecked]!);
        }

        // A sentinel after everything the run could have relayed; check all the observer got.
        fuzzer.send({ type: 'fuzz-sentinel', room: ROOM, run });
        await observer.next((m) => m.type === 'fuzz-sentinel' && m.run === run);
        for (; observerChecked < observer.received.length; observerChecked++) {
          checkObserverMessage(observer.received[observerChecked]!);
        }
        expect(observer.closeCode).toBeNull();

        // A fuzzer that left its path room has no default room any more: start it afresh.
        if (fuzzerDefaultRoom(server) !== ROOM) {
          await fuzzer.close();
          fuzzer = await join(server, ROOM, FUZZER);
          fuzzerChecked = 0;
        }
      }),
      { seed: 20_260_611, numRuns: 100, endOnFailure: true },
    );

    // After all of it: everything the observer got checks out, it is still connected and
    // served, and the room is intact.
    fuzzer.send({ type: 'fuzz-sentinel', room: ROOM, run: 'final' });
    await observer.next((m) => m.type === 'fuzz-sentinel' && m.run === 'final');
    for (; observerChecked < observer.received.length; observerChecked++) {
      checkObserverMessage(observer.received[observerChecked]!);
    }
    expect(observer.all('fuzz-sentinel')).toHaveLength(run + 1);
    expect((await observer.request({ type: 'heartbeat' })).type).toBe('ack');
    expect(observer.closeCode).toBeNull();
    expect(server.getRoomManager().get(ROOM)!.size).toBe(2);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
