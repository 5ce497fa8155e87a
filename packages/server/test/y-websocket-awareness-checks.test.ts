/**
 * A y-websocket peer's awareness state becomes Roomkit presence metadata (`metadata.awareness`)
 * and is relayed to the other peers: it must pass the checks a `presence:update`'s metadata
 * passes (size, nesting depth, `__proto__`/`constructor`/`prototype` keys). A refused state is
 * dropped (not relayed, not in presence), logged once per connection, and nothing else suffers.
 * Real servers, raw y-websocket sockets, a stock provider and Roomkit clients.
 */
import fc from 'fast-check';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import type { Logger, PresenceUser, RoomServer, ServerConfig } from '../src/index.js';
import {
  findUser,
  join,
  nextPresence,
  type Received,
  startServer,
  type TestClient,
  usersOf,
  waitUntil,
  wsUrl,
} from './helpers.js';

type ProviderOptions = NonNullable<ConstructorParameters<typeof WebsocketProvider>[3]>;
const WebSocketPolyfill = WebSocket as unknown as NonNullable<ProviderOptions['WebSocketPolyfill']>;

const FORBIDDEN = ['__proto__', 'constructor', 'prototype'];
/** The default `limits.maxDepth`: a `presence:update` is depth 1, metadata 2, the state 3. */
const MAX_DEPTH = 32;
const MAX_STATE_DEPTH = MAX_DEPTH - 2;
/** The default `limits.maxPresenceMetadataBytes`. */
const MAX_METADATA_BYTES = 4096;
/** The awareness client ids the tests' raw peers announce (mirrored members have others). */
const PEER_CLIENT_IDS = new Set([7, 8, 9]);

const sockets = new Set<WebSocket>();
const providers = new Set<WebsocketProvider>();

afterEach(() => {
  for (const socket of sockets) socket.terminate();
  sockets.clear();
  for (const provider of providers) {
    provider.destroy();
    provider.doc.destroy();
  }
  providers.clear();
});

interface LogLine {
  level: string;
  msg: string | undefined;
  fields: Record<string, unknown>;
}

/** A logger that keeps every line, every level. */
function capturingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg?: string) =>
    void lines.push({ level, msg, fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A y-websocket awareness message (type 1); each state is given as its JSON text. */
function awarenessFrame(entries: Array<[clientId: number, clock: number, json: string]>) {
  const update = encoding.createEncoder();
  encoding.writeVarUint(update, entries.length);
  for (const [clientId, clock, json] of entries) {
    encoding.writeVarUint(update, clientId);
    encoding.writeVarUint(update, clock);
    encoding.writeVarString(update, json);
  }
  const message = encoding.createEncoder();
  encoding.writeVarUint(message, 1);
  encoding.writeVarUint8Array(message, encoding.toUint8Array(update));
  return encoding.toUint8Array(message);
}

/** A sync step 1 with an empty state vector. */
function syncStep1Frame(): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 0);
  encoding.writeVarUint(encoder, 0);
  encoding.writeVarUint8Array(encoder, new Uint8Array([0]));
  return encoding.toUint8Array(encoder);
}

function queryFrame(): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 3);
  return encoding.toUint8Array(encoder);
}

/** The entries of an awareness frame, states parsed (JSON.parse keeps `__proto__` as a key). */
function awarenessEntries(
  data: Buffer,
): Array<{ clientId: number; clock: number; state: unknown }> {
  const decoder = decoding.createDecoder(new Uint8Array(data));
  if (decoding.readVarUint(decoder) !== 1) return [];
  const update = decoding.createDecoder(decoding.readVarUint8Array(decoder));
  const count = decoding.readVarUint(update);
  const entries = [];
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(update);
    const clock = decoding.readVarUint(update);
    entries.push({ clientId, clock, state: JSON.parse(decoding.readVarString(update)) as unknown });
  }
  return entries;
}

/** A raw y-websocket connection that records every binary frame it gets. */
class RawPeer {
  readonly frames: Buffer[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.frames.push(data);
    });
  }

  static async open(server: RoomServer, room: string, userId: string): Promise<RawPeer> {
    // The cluster's next node in turn: peers spread over the nodes like clients.
    const socket = new WebSocket(wsUrl(server, `/yjs/${room}`, `userId=${userId}`));
    sockets.add(socket);
    const peer = new RawPeer(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return peer;
  }

  send(frame: Uint8Array): void {
    this.socket.send(frame);
  }

  /**
   * Waits until the server handled everything this peer sent (it handles a connection's frames
   * in order): a sync step 1 is answered with a sync step 2, to this peer only.
   */
  async handled(): Promise<number> {
    const from = this.frames.length;
    this.send(syncStep1Frame());
    let at = -1;
    await waitUntil(
      () => {
        at = this.frames.findIndex((frame, i) => i >= from && frame[0] === 0 && frame[1] === 1);
        return at >= 0;
      },
      3000,
      'the answer to a sync step 1',
    );
    return at + 1;
  }

  /** Every awareness state the server holds, once it handled what this peer sent before. */
  async query(): Promise<Map<number, unknown>> {
    const from = await this.handled();
    this.send(queryFrame());
    let answer: Buffer | undefined;
    await waitUntil(
      () => {
        answer = this.frames.slice(from).find((frame) => frame[0] === 1);
        return answer !== undefined;
      },
      3000,
      'the answer to an awareness query',
    );
    return new Map(awarenessEntries(answer!).map((entry) => [entry.clientId, entry.state]));
  }

  /** Every awareness state this peer was sent (removals left out), the mirrored members' too. */
  allStates(): unknown[] {
    return this.frames.flatMap((frame) =>
      awarenessEntries(frame)
        .map((entry) => entry.state)
        .filter((state) => state !== null),
    );
  }

  /** The states this peer was sent for the test's own client ids (removals left out). */
  states(): unknown[] {
    return this.frames.flatMap((frame) =>
      awarenessEntries(frame)
        .filter((entry) => PEER_CLIENT_IDS.has(entry.clientId) && entry.state !== null)
        .map((entry) => entry.state),
    );
  }
}

/** The first forbidden key anywhere in a parsed value, walking without recursion. */
function forbiddenKeyIn(root: unknown): string | undefined {
  const stack = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== 'object' || value === null) continue;
    for (const key of Object.keys(value)) {
      if (FORBIDDEN.includes(key)) return key;
      stack.push((value as Record<string, unknown>)[key]);
    }
  }
  return undefined;
}

/** Nesting depth of objects and arrays (a primitive is 0), without recursion. */
function depthOf(root: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    deepest = Math.max(deepest, depth);
    for (const item of Object.values(value)) stack.push([item, depth + 1]);
  }
  return deepest;
}

/** JSON text of `levels` objects nested in each other, `{"n":{"n":…{"n":0}…}}`. */
function nestedJson(levels: number): string {
  return `${'{"n":'.repeat(levels)}0${'}'.repeat(levels)}`;
}

function awarenessOf(user: PresenceUser | undefined): unknown {
  return user?.metadata?.awareness;
}

function marker(user: PresenceUser | undefined): unknown {
  const state = awarenessOf(user);
  return typeof state === 'object' && state !== null
    ? (state as Record<string, unknown>).marker
    : undefined;
}

/** A room with a Roomkit watcher, a raw peer that sends states, and a raw peer that observes. */
async function setup(room: string, config: ServerConfig = {}) {
  const logger = capturingLogger();
  const server = await startServer({ logger, ...config });
  const watcher = await join(server, room, 'watcher');
  const observer = await RawPeer.open(server, room, 'observer');
  const sender = await RawPeer.open(server, room, 'sender');
  await nextPresence(watcher, (users) => findUser(users, 'sender') !== undefined, room);
  return { server, logger, watcher, observer, sender };
}

/** Every awareness state the watcher was shown for `userId`, over all presence lists it got. */
function shownAwareness(watcher: TestClient, userId: string): unknown[] {
  return watcher
    .all('presence')
    .map((message: Received) => awarenessOf(findUser(usersOf(message), userId)))
    .filter((state) => state !== undefined);
}

/**
 * Sends the states (clocks from `clock` on), waits until the server handled them, then sends a
 * good marker state and waits for the watcher to see it: the sender and the room still work.
 */
async function sendThenMarker(
  peer: RawPeer,
  watcher: TestClient,
  room: string,
  clientId: number,
  clock: number,
  jsons: string[],
  mark: number,
): Promise<Map<number, unknown>> {
  jsons.forEach((json, i) => {
    peer.send(awarenessFrame([[clientId, clock + i, json]]));
  });
  const snapshot = await peer.query();
  peer.send(awarenessFrame([[clientId, clock + jsons.length, JSON.stringify({ marker: mark })]]));
  await nextPresence(watcher, (users) => marker(findUser(users, 'sender')) === mark, room);
  return snapshot;
}

function expectNothingForbiddenDelivered(watcher: TestClient, ...peers: RawPeer[]): void {
  for (const message of watcher.all('presence')) expect(forbiddenKeyIn(message)).toBeUndefined();
  for (const peer of peers) {
    for (const state of peer.allStates()) expect(forbiddenKeyIn(state)).toBeUndefined();
  }
}

describe('y-websocket awareness states get the checks presence metadata gets', () => {
  it('a state with a __proto__ key is dropped: not relayed, not in presence; one warn line', async () => {
    const { logger, watcher, observer, sender } = await setup('proto');
    const polluting = '{"__proto__":{"isAdmin":true},"user":{"name":"Eve"}}';
    const snapshot = await sendThenMarker(sender, watcher, 'proto', 7, 1, [polluting], 1);
    expect(snapshot.has(7)).toBe(false);
    expectNothingForbiddenDelivered(watcher, observer, sender);
    expect(shownAwareness(watcher, 'sender')).toEqual([{ marker: 1 }]);
    expect(observer.states()).toContainEqual({ marker: 1 });
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    const warnings = logger.lines.filter((line) => line.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.fields).toMatchObject({ userId: 'sender', clientId: 7 });
    expect(String(warnings[0]!.fields.reason)).toContain('__proto__');
    expect(logger.lines.filter((line) => line.level === 'error')).toEqual([]);
  });

  it('a nested constructor or prototype key is dropped too', async () => {
    const { watcher, observer, sender } = await setup('ctor');
    const states = [
      '{"user":{"name":"Eve","extra":{"constructor":{"prototype":{"x":1}}}}}',
      '{"cursor":[{"anchor":{"prototype":1}}]}',
    ];
    const snapshot = await sendThenMarker(sender, watcher, 'ctor', 7, 1, states, 1);
    expect(snapshot.has(7)).toBe(false);
    expectNothingForbiddenDelivered(watcher, observer, sender);
    expect(shownAwareness(watcher, 'sender')).toEqual([{ marker: 1 }]);
  });

  it('nesting past limits.maxDepth is dropped (45 levels); as deep as presence allows passes', async () => {
    const { server, watcher, observer, sender } = await setup('deep');
    const snapshot = await sendThenMarker(sender, watcher, 'deep', 7, 1, [nestedJson(45)], 1);
    expect(snapshot.has(7)).toBe(false);
    for (const state of [...shownAwareness(watcher, 'sender'), ...observer.states()]) {
      expect(depthOf(state)).toBeLessThan(45);
    }

    // The deepest state a `presence:update` could carry as `metadata.awareness` goes through...
    sender.send(awarenessFrame([[7, 10, nestedJson(MAX_STATE_DEPTH)]]));
    await nextPresence(
      watcher,
      (list) => depthOf(awarenessOf(findUser(list, 'sender'))) === MAX_STATE_DEPTH,
      'deep',
    );
    expect(observer.states()).toContainEqual(JSON.parse(nestedJson(MAX_STATE_DEPTH)));
    // ...one level deeper does not, as it would not from a Roomkit client.
    const before = observer.frames.length;
    sender.send(awarenessFrame([[7, 11, nestedJson(MAX_STATE_DEPTH + 1)]]));
    expect((await sender.query()).get(7)).toEqual(JSON.parse(nestedJson(MAX_STATE_DEPTH)));
    expect(observer.frames.slice(before).flatMap((frame) => awarenessEntries(frame))).toEqual([]);

    const roomkit = await join(server, 'deep', 'roomkit');
    const fits = JSON.parse(`{"awareness":${nestedJson(MAX_STATE_DEPTH)}}`) as unknown;
    const deeper = JSON.parse(`{"awareness":${nestedJson(MAX_STATE_DEPTH + 1)}}`) as unknown;
    expect((await roomkit.request({ type: 'presence:update', metadata: fits })).type).not.toBe(
      'error',
    );
    expect(await roomkit.request({ type: 'presence:update', metadata: deeper })).toMatchObject({
      type: 'error',
      code: 'too_deep',
    });
  });

  it.each([
    ['the depth check', 64 * 1024],
    ['the size check, at the default limit', undefined],
  ])(
    '6,000-level states, many of them: %s refuses them, one log line, no error',
    async (_, maxBytes) => {
      const room = `abyss-${maxBytes ?? 'default'}`;
      const { logger, watcher, observer, sender } = await setup(room, {
        rateLimit: { messagesPerSecond: 10_000, burst: 10_000 },
        limits: maxBytes === undefined ? {} : { maxPresenceMetadataBytes: maxBytes },
      });
      const from = logger.lines.length;
      const abyss = nestedJson(6000);
      const frames = Array.from({ length: 200 }, () => abyss);
      const snapshot = await sendThenMarker(sender, watcher, room, 7, 1, frames, 1);
      // The same from another of the peer's client ids, and arrays rather than objects.
      const arrays = `${'['.repeat(6000)}${']'.repeat(6000)}`;
      for (let clock = 1; clock <= 50; clock++) sender.send(awarenessFrame([[8, clock, arrays]]));
      expect((await sender.query()).has(8)).toBe(false);
      expect(snapshot.has(7)).toBe(false);
      const lines = logger.lines.slice(from);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 'warn' });
      expect(lines[0]!.fields.err).toBeUndefined();
      expect(JSON.stringify(lines[0]!.fields)).not.toContain(' at ');
      expect(String(lines[0]!.fields.reason)).toMatch(
        maxBytes === undefined ? /bytes; the limit is/ : /deeper than 30 levels/,
      );
      // The connection and the room go on.
      expect(sender.socket.readyState).toBe(WebSocket.OPEN);
      expect(observer.states()).toEqual([{ marker: 1 }]);
      sender.send(awarenessFrame([[7, 300, JSON.stringify({ marker: 2 })]]));
      await nextPresence(watcher, (users) => marker(findUser(users, 'sender')) === 2, room);
    },
  );

  it('a second connection with a refused state gets its own one warn line', async () => {
    const { server, logger, watcher, sender } = await setup('two');
    const other = await RawPeer.open(server, 'two', 'other');
    for (let clock = 1; clock <= 5; clock++) {
      sender.send(awarenessFrame([[7, clock, '{"constructor":1}']]));
      other.send(awarenessFrame([[9, clock, '{"prototype":1}']]));
    }
    await Promise.all([sender.query(), other.query()]);
    const warnings = logger.lines.filter((line) => line.level === 'warn');
    expect(warnings.map((line) => line.fields.userId).sort()).toEqual(['other', 'sender']);
    await sendThenMarker(sender, watcher, 'two', 7, 10, [], 1);
  });

  it('a state over maxPresenceMetadataBytes (as metadata.awareness, in UTF-8 bytes) is dropped', async () => {
    const { watcher, observer, sender } = await setup('size');
    // `{"awareness":` + `{"s":"…"}` + `}`: the wrapper is 14 bytes, the state's own 8.
    const fill = (bytes: number, char: string) =>
      JSON.stringify({ s: char.repeat(bytes / Buffer.byteLength(char)) });
    const exact = fill(MAX_METADATA_BYTES - 14 - 8, 'x');
    const overByOne = fill(MAX_METADATA_BYTES - 14 - 8 + 1, 'x');
    // Fewer characters than the limit, but more bytes: é is 2 bytes.
    const multibyte = fill(MAX_METADATA_BYTES - 14 - 8 + 2, 'é');
    expect(multibyte.length).toBeLessThan(MAX_METADATA_BYTES);
    const huge = fill(200_000, 'x');
    const snapshot = await sendThenMarker(
      sender,
      watcher,
      'size',
      7,
      1,
      [overByOne, multibyte, huge],
      1,
    );
    expect(snapshot.has(7)).toBe(false);
    expect(observer.states()).toEqual([{ marker: 1 }]);
    expect(shownAwareness(watcher, 'sender')).toEqual([{ marker: 1 }]);

    // Exactly at the limit passes, and the Roomkit limit agrees.
    sender.send(awarenessFrame([[7, 10, exact]]));
    const users = await nextPresence(
      watcher,
      (list) => typeof (awarenessOf(findUser(list, 'sender')) as { s?: string })?.s === 'string',
      'size',
    );
    const metadata = findUser(users, 'sender')!.metadata;
    expect(Buffer.byteLength(JSON.stringify(metadata))).toBe(MAX_METADATA_BYTES);
  });

  it('follows a configured limits.maxPresenceMetadataBytes and limits.maxDepth', async () => {
    const { watcher, observer, sender } = await setup('configured', {
      limits: { maxPresenceMetadataBytes: 200, maxDepth: 8 },
    });
    const snapshot = await sendThenMarker(
      sender,
      watcher,
      'configured',
      7,
      1,
      [JSON.stringify({ s: 'x'.repeat(200) }), nestedJson(7)],
      1,
    );
    expect(snapshot.has(7)).toBe(false);
    sender.send(awarenessFrame([[7, 10, nestedJson(6)]]));
    await waitUntil(
      () => observer.states().some((state) => depthOf(state) === 6),
      3000,
      'a state 6 deep relayed',
    );
  });

  it('one refused entry in an update drops that entry only; the others are relayed and shown', async () => {
    const { watcher, observer, sender } = await setup('mixed');
    sender.send(
      awarenessFrame([
        [7, 1, '{"user":{"name":"Good"}}'],
        [8, 1, '{"user":{"name":"Bad","__proto__":{"x":1}}}'],
        [9, 1, nestedJson(100)],
      ]),
    );
    const snapshot = await sender.query();
    expect(snapshot.get(7)).toEqual({ user: { name: 'Good' } });
    expect(snapshot.has(8)).toBe(false);
    expect(snapshot.has(9)).toBe(false);
    await nextPresence(
      watcher,
      (users) => field(awarenessOf(findUser(users, 'sender')), 'user', 'name') === 'Good',
      'mixed',
    );
    await waitUntil(() => observer.states().length > 0, 3000, 'the relayed entry');
    expect(observer.states()).toEqual([{ user: { name: 'Good' } }]);
  });

  it("a stock provider's state still reaches Roomkit members, and its peers", async () => {
    const { server, watcher } = await setup('stock');
    const provide = (userId: string) => {
      const provider = new WebsocketProvider(wsUrl(server, '/yjs'), 'stock', new Y.Doc(), {
        WebSocketPolyfill,
        params: { userId },
        disableBc: true,
      });
      providers.add(provider);
      return provider;
    };
    const yuki = provide('yuki');
    const other = provide('other');
    await waitUntil(() => yuki.synced && other.synced, 3000, 'providers synced');
    yuki.awareness.setLocalStateField('user', { name: 'Yuki', color: '#ff8800' });
    yuki.awareness.setLocalStateField('cursor', { anchor: { type: { client: 1, clock: 2 } } });
    const users = await nextPresence(
      watcher,
      (list) => field(awarenessOf(findUser(list, 'yuki')), 'user', 'name') === 'Yuki',
      'stock',
    );
    expect(awarenessOf(findUser(users, 'yuki'))).toEqual({
      user: { name: 'Yuki', color: '#ff8800' },
      cursor: { anchor: { type: { client: 1, clock: 2 } } },
    });
    await waitUntil(
      () => field(other.awareness.getStates().get(yuki.doc.clientID), 'user', 'name') === 'Yuki',
      3000,
      'yuki at the other provider',
    );
  });
});

/** A field of an untrusted value, or undefined. */
function field(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

describe('y-websocket awareness states: property', () => {
  const key = fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom(...FORBIDDEN) },
    { weight: 1, arbitrary: fc.constantFrom('user', 'name', 'cursor', 'toString', '__proto') },
    { weight: 3, arbitrary: fc.string({ maxLength: 6 }) },
  );
  /** Random JSON states: objects with keys that are sometimes forbidden, some deep, some big. */
  const state = fc.oneof(
    fc.jsonValue({ maxDepth: 4 }),
    fc.object({ key, maxDepth: 4, values: [fc.jsonValue({ maxDepth: 1 })] }),
    fc
      .tuple(fc.integer({ min: 1, max: 80 }), fc.object({ key, maxDepth: 2 }))
      .map(([levels, leaf]) => {
        let value: unknown = leaf;
        for (let i = 0; i < levels; i++) value = { n: value };
        return value;
      }),
    fc.string({ minLength: 3000, maxLength: 5000 }).map((s) => ({ big: s })),
  );

  it('never crash the server nor deliver a forbidden key, too deep or too big a state', async () => {
    const { server, logger, watcher, observer, sender } = await setup('property');
    let clock = 0;
    let mark = 0;
    await fc.assert(
      fc.asyncProperty(state, async (value) => {
        const json = JSON.stringify(value);
        const normal = JSON.parse(json) as unknown;
        const fits =
          forbiddenKeyIn(normal) === undefined &&
          depthOf(normal) <= MAX_STATE_DEPTH &&
          Buffer.byteLength(json) + 14 <= MAX_METADATA_BYTES;
        sender.send(awarenessFrame([[7, ++clock, json]]));
        const snapshot = await sender.query();
        if (normal === null) expect(snapshot.has(7)).toBe(false);
        else if (fits) expect(snapshot.get(7)).toEqual(normal);
        else expect(snapshot.get(7)).not.toEqual(normal);
        // A marker from a second client id: the watcher has seen this turn's presence.
        mark++;
        sender.send(awarenessFrame([[8, mark, JSON.stringify({ marker: mark })]]));
        await waitUntil(
          () => observer.states().some((s) => field(s, 'marker') === mark),
          3000,
          `marker ${mark}`,
        );
      }),
      { numRuns: 150 },
    );
    await sender.query();
    for (const message of watcher.all('presence')) {
      expect(forbiddenKeyIn(message)).toBeUndefined();
      const shown = awarenessOf(findUser(usersOf(message), 'sender'));
      expect(depthOf(shown)).toBeLessThanOrEqual(MAX_STATE_DEPTH);
      if (shown !== undefined) {
        expect(Buffer.byteLength(JSON.stringify({ awareness: shown }))).toBeLessThanOrEqual(
          MAX_METADATA_BYTES,
        );
      }
    }
    for (const peerState of [...observer.allStates(), ...sender.allStates()]) {
      expect(forbiddenKeyIn(peerState)).toBeUndefined();
      expect(depthOf(peerState)).toBeLessThanOrEqual(MAX_STATE_DEPTH);
    }
    expect(logger.lines.filter((line) => line.level === 'error')).toEqual([]);
    expect(logger.lines.filter((line) => line.level === 'warn').length).toBeLessThanOrEqual(1);
    expect(server.getRoomManager().get('property')?.size).toBe(3);
  });
});
