import { ErrorCode } from '@roomkit/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RoomServer } from '../src/index.js';
import { Counter, Greeter, greeterOptions, Member, Tracked } from './fixtures/live-components.js';
import { LiveRoomChat } from './fixtures/live-room-chat.js';
import { nodesOf, type Received, startServer, type TestClient } from './helpers.js';
import { connectAs, EMPTY_HOLDINGS, liveHoldings, result } from './live-helpers.js';

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));
/** No rate limit in the way of thousands of messages. */
const FAST = { rateLimit: { messagesPerSecond: 1e6, burst: 1e6 } };

async function liveServer(extra: Record<string, unknown> = {}): Promise<RoomServer> {
  const server = await startServer({
    ...FAST,
    components: { Counter, Member, LiveRoomChat, Tracked },
    ...extra,
  });
  server.registerComponent(Greeter, greeterOptions);
  return server;
}

/**
 * The internal maps behind the counts, on every node added up, all of which must be empty when
 * nothing is mounted.
 */
function internalSizes(server: RoomServer) {
  const sizes = (object: object, ...keys: string[]) =>
    keys.map((key) => (object as unknown as Record<string, Map<unknown, unknown>>)[key]!.size);
  const total = { ...NO_SIZES };
  for (const node of nodesOf(server)) {
    const [managerRooms, managerComponents] = sizes(node.liveRooms, 'rooms', 'componentRooms');
    const [busRooms, busSubscribers] = sizes(node.roomEvents, 'byRoom', 'bySubscriber');
    total.managerRooms += managerRooms!;
    total.managerComponents += managerComponents!;
    total.busRooms += busRooms!;
    total.busSubscribers += busSubscribers!;
  }
  return total;
}

const NO_SIZES = { managerRooms: 0, managerComponents: 0, busRooms: 0, busSubscribers: 0 };

/** Sends every message with a ref at once and waits for all the replies, in order. */
async function batch(client: TestClient, messages: Record<string, unknown>[]): Promise<Received[]> {
  const refs = messages.map((message, i) => {
    const ref = `b${i}-${Math.random().toString(36).slice(2, 8)}`;
    client.send({ ...message, ref });
    return ref;
  });
  const replies: Received[] = [];
  for (const ref of refs) replies.push(await client.next((m) => m.ref === ref, 10_000));
  return replies;
}

describe('live components leave nothing behind', () => {
  it('thousands of mount / join / unmount cycles on one connection', async () => {
    const server = await liveServer({ limits: { maxComponentsPerConnection: 200 } });
    const alice = await connectAs(server, 'alice');
    const CYCLES = 2000;
    const PER_BATCH = 200;
    for (let done = 0; done < CYCLES; done += PER_BATCH) {
      const mounts = await batch(
        alice,
        Array.from({ length: PER_BATCH }, (_, i) =>
          i % 2 === 0
            ? { type: 'live:mount', component: 'Member', room: `lobby-${i % 7}` }
            : {
                type: 'live:mount',
                component: 'LiveRoomChat',
                initialState: { username: `u${i}` },
              },
        ),
      );
      const ids = mounts.map((m) => m.componentId as string);
      expect(ids.every((id) => typeof id === 'string')).toBe(true);
      await batch(
        alice,
        ids.map((componentId, i) =>
          i % 2 === 0
            ? { type: 'live:call', componentId, action: 'join', payload: { room: `room-${i % 5}` } }
            : {
                type: 'live:call',
                componentId,
                action: 'joinRoom',
                payload: { roomId: `chat-${i % 3}` },
              },
        ),
      );
      expect(server.liveRooms.getStats().components).toBe(PER_BATCH);
      await batch(
        alice,
        ids.map((componentId) => ({ type: 'live:unmount', componentId })),
      );
    }
    expect(liveHoldings(server)).toEqual(EMPTY_HOLDINGS);
    expect(internalSizes(server)).toEqual(NO_SIZES);
    // The connection itself is still fine.
    const reply = await alice.request({ type: 'live:mount', component: 'Counter' });
    expect(await result(alice, reply.componentId as string, 'increment')).toBe(1);
  });

  it('hundreds of connect / mount / disconnect cycles', async () => {
    const server = await liveServer();
    const ROUNDS = 10;
    const PER_ROUND = 40;
    for (let round = 0; round < ROUNDS; round++) {
      const clients = await Promise.all(
        Array.from({ length: PER_ROUND }, (_, i) => connectAs(server, `user-${round}-${i}`)),
      );
      await Promise.all(
        clients.map(async (client, i) => {
          const [member, chat, tracked] = await batch(client, [
            { type: 'live:mount', component: 'Member', room: 'everyone' },
            { type: 'live:mount', component: 'LiveRoomChat' },
            { type: 'live:mount', component: 'Tracked' },
          ]);
          await batch(client, [
            {
              type: 'live:call',
              componentId: member!.componentId,
              action: 'join',
              payload: { room: `r${i % 4}` },
            },
            {
              type: 'live:call',
              componentId: chat!.componentId,
              action: 'joinRoom',
              payload: { roomId: 'geral' },
            },
            {
              type: 'live:call',
              componentId: tracked!.componentId,
              action: 'enter',
              payload: { room: 'geral' },
            },
            // Left running: the disconnect must settle it too.
            {
              type: 'live:call',
              componentId: member!.componentId,
              action: 'emit',
              payload: { room: 'everyone' },
            },
          ]);
          client.send({
            type: 'live:call',
            componentId: chat!.componentId,
            action: 'startTyping',
            ref: 'x',
          });
        }),
      );
      expect(server.liveRooms.getStats().roomDetails.everyone?.components).toBe(PER_ROUND);
      // Half close cleanly, half vanish.
      await Promise.all(
        clients.map((client, i) => {
          if (i % 2 === 0) return client.close();
          client.terminate();
          return client.closed;
        }),
      );
    }
    await expect.poll(() => liveHoldings(server)).toEqual(EMPTY_HOLDINGS);
    expect(internalSizes(server)).toEqual(NO_SIZES);
  });

  it('a hanging action leaves no timer or component behind when its connection goes', async () => {
    const server = await liveServer();
    const alice = await connectAs(server, 'alice');
    const [mounted] = await batch(alice, [{ type: 'live:mount', component: 'Counter' }]);
    alice.send({ type: 'live:call', componentId: mounted!.componentId, action: 'hang', ref: 'h' });
    await expect.poll(() => liveHoldings(server).components).toBe(1);
    await alice.close();
    await expect.poll(() => liveHoldings(server)).toEqual(EMPTY_HOLDINGS);
  });
});

describe('hostile live input', () => {
  /** Mostly meaningful values (so the handlers run), sometimes garbage. */
  const mostly = <T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<T>) =>
    fc.oneof({ arbitrary: good, weight: 4 }, { arbitrary: bad, weight: 1 });
  const names = mostly(
    fc.constantFrom('Counter', 'Member', 'LiveRoomChat', 'Greeter', 'Tracked'),
    fc.oneof(
      fc.constantFrom('LiveComponent', '__proto__', 'constructor', 'toString', 'prototype', ''),
      fc.string({ maxLength: 140 }),
    ),
  );
  const actions = mostly(
    fc.constantFrom(
      'increment',
      'echo',
      'fail',
      'hang',
      'join',
      'emit',
      'setRoomState',
      'joinRoom',
      'sendMessage',
      'leaveRoom',
      'startTyping',
      'greet',
    ),
    fc.oneof(
      fc.constantFrom(
        'setState',
        'constructor',
        '__proto__',
        'toString',
        'onMount',
        'onUnmount',
        'helper',
        '_secret',
        '$room',
        'addMessageToState',
      ),
      fc.string({ maxLength: 140 }),
    ),
  );
  const payloads = fc.oneof(
    fc.jsonValue({ maxDepth: 4 }),
    fc.record({ room: fc.string(), roomId: fc.string(), text: fc.string(), by: fc.anything() }),
    fc.record({
      room: fc.constantFrom('r1', 'r2'),
      roomId: fc.constantFrom('r1', 'geral'),
      text: fc.string(),
    }),
    fc.record({
      room: fc.constantFrom('r1', 'r2'),
      updates: fc.dictionary(fc.string(), fc.jsonValue()),
    }),
  );
  const roomIds = mostly(fc.constantFrom('r1', 'lobby'), fc.string());

  it('never crashes and always answers with a reply or a known error code', async () => {
    const server = await liveServer({
      limits: { actionTimeoutMs: 50, maxComponentsPerConnection: 20 },
    });
    const fuzzer = await connectAs(server, 'fuzzer');
    const mounted: string[] = [];
    const tally: Record<string, number> = {};
    /** `known:n`: one of the components mounted so far. */
    const idOf = mostly(
      fc.nat().map((n) => `known:${n}`),
      fc.oneof(fc.string({ maxLength: 140 }), fc.uuid()),
    );
    const message = fc.oneof(
      fc.record(
        {
          type: fc.constant('live:mount'),
          component: names,
          initialState: mostly(fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue()),
          room: roomIds,
        },
        { requiredKeys: ['type', 'component'] },
      ),
      {
        weight: 4,
        arbitrary: fc.record(
          { type: fc.constant('live:call'), componentId: idOf, action: actions, payload: payloads },
          { requiredKeys: ['type', 'componentId', 'action'] },
        ),
      },
      fc.record({ type: fc.constant('live:unmount'), componentId: idOf }),
      // Garbage around the edges: unknown fields, wrong types.
      fc.record({
        type: fc.constantFrom('live:mount', 'live:call', 'live:unmount'),
        component: fc.jsonValue(),
        componentId: fc.jsonValue(),
        action: fc.jsonValue(),
        extra: fc.jsonValue(),
      }),
    );
    await fc.assert(
      fc.asyncProperty(message, async (generated) => {
        const sent: Record<string, unknown> = { ...generated };
        // Only a string id can name a mounted component (a generated object may not even
        // convert to a string: {"toString": ""}).
        const id = typeof sent.componentId === 'string' ? sent.componentId : '';
        const known = /^known:(\d+)$/.exec(id);
        if (known && mounted.length > 0) {
          sent.componentId = mounted[Number(known[1]) % mounted.length];
        }
        const reply = await fuzzer.request(sent, 5000);
        expect(['live:mounted', 'live:result', 'ack', 'error']).toContain(reply.type);
        if (reply.type === 'error') {
          expect(KNOWN_CODES.has(reply.code as string), JSON.stringify(reply)).toBe(true);
          expect(reply.code).not.toBe('internal_error');
        }
        if (reply.type === 'live:mounted') mounted.push(reply.componentId as string);
        if (reply.type === 'ack') mounted.splice(mounted.indexOf(sent.componentId as string), 1);
        tally[reply.type === 'error' ? (reply.code as string) : reply.type] =
          (tally[reply.type === 'error' ? (reply.code as string) : reply.type] ?? 0) + 1;
      }),
      { numRuns: 400 },
    );
    // The property reached the handlers, not only the schema checks.
    for (const outcome of [
      'live:mounted',
      'live:result',
      'ack',
      'unknown_action',
      'unknown_component',
    ]) {
      expect(tally[outcome] ?? 0, JSON.stringify(tally)).toBeGreaterThan(0);
    }
    // Still serving, and clean once the fuzzer goes.
    const other = await connectAs(server, 'other');
    const reply = await other.request({ type: 'live:mount', component: 'Counter' });
    expect(await result(other, reply.componentId as string, 'increment')).toBe(1);
    await fuzzer.close();
    await other.close();
    await expect.poll(() => liveHoldings(server)).toEqual(EMPTY_HOLDINGS);
    expect(internalSizes(server)).toEqual(NO_SIZES);
  });
});
