/**
 * A seeded random-network test in the style of Yjs's own test helper (yjs tests/testHelper.js):
 * several replicas edit a Y.Map, a Y.Array and a Y.Text (with nested types) at random while their
 * messages are delivered in random order and batches, and they disconnect and reconnect at
 * random. At the end every replica, the server's document and the document the store persisted
 * must be identical.
 *
 * Each replica keeps one Y.Doc for its whole life (its client id continues across reconnects, as
 * a y-websocket provider's does). A DocClient is only its transport for one socket: local edits
 * are queued and sent later in shuffled order (so the server gets updates before the ones they
 * depend on), and remote updates land in an inbox applied to the replica in shuffled order too.
 * A disconnect terminates the socket and may lose what was in flight either way; a reconnect
 * opens a new socket and re-syncs by state vector, which must recover everything lost.
 *
 * The seed fixes the sequence of operations and choices; socket timing is the real network's.
 * A failure names its seed in the test name.
 */
import { base64ToBytes, decodeStorageFrame, StorageFrameKind } from '@roomkit/protocol';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { openStore, type RoomServer, type ServerConfig, type Store } from '../src/index.js';
import { join, nodesOf, type Received, startServer, waitUntil } from './helpers.js';
import { contentOf, DocClient, type Encoding, roomsOf, serverDocs } from './storage-helpers.js';
import { afterThisTest, sqliteFile } from './test-databases.js';

// ---- a tiny seeded PRNG ----

/** mulberry32: a small, fast, well-distributed 32-bit PRNG. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  bool(probability = 0.5): boolean {
    return this.next() < probability;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  word(): string {
    // Multi-byte UTF-8 but one UTF-16 unit each: positions inside a surrogate pair (an emoji)
    // would let Yjs replace split halves with U+FFFD differently on each replica.
    const letters = 'abcdefghijklmnopqrstuvwxyzÄ€中 ';
    const chars = [...letters];
    let out = '';
    for (let i = 1 + this.int(6); i > 0; i--) out += this.pick(chars);
    return out;
  }
  /** Removes and returns a random selection of `items`, in random order. */
  takeSome<T>(items: T[], all = false): T[] {
    const count = all ? items.length : this.int(items.length + 1);
    const taken: T[] = [];
    for (let i = 0; i < count; i++) taken.push(items.splice(this.int(items.length), 1)[0]!);
    return taken;
  }
}

// ---- random operations (after yjs tests/y-*.tests.js "random tests") ----

const MAP_KEYS = ['a', 'b', 'c', 'd', 'e'];

function randomValue(rng: Rng): unknown {
  switch (rng.int(5)) {
    case 0:
      return rng.int(1000);
    case 1:
      return rng.word();
    case 2:
      return { n: rng.int(10), s: rng.word(), list: [rng.int(5), rng.word()] };
    case 3:
      return null;
    default:
      return rng.bool();
  }
}

/** A primitive, or a new nested shared type with some content. */
function randomContent(rng: Rng): unknown {
  switch (rng.int(6)) {
    case 0: {
      const map = new Y.Map<unknown>();
      map.set(rng.pick(MAP_KEYS), randomValue(rng));
      return map;
    }
    case 1: {
      const array = new Y.Array<unknown>();
      array.push([randomValue(rng), randomValue(rng)]);
      return array;
    }
    case 2:
      return new Y.Text(rng.word());
    default:
      return randomValue(rng);
  }
}

function editText(rng: Rng, text: Y.Text): void {
  const length = text.length;
  const choice = rng.int(10);
  if (choice < 5 || length === 0) {
    const attributes = rng.bool(0.2) ? { bold: true } : undefined;
    text.insert(rng.int(length + 1), rng.word(), attributes);
  } else if (choice < 8) {
    const at = rng.int(length);
    text.delete(at, 1 + rng.int(Math.min(5, length - at)));
  } else {
    const at = rng.int(length);
    text.format(at, 1 + rng.int(length - at), { italic: rng.bool() ? true : null });
  }
}

function editArray(rng: Rng, array: Y.Array<unknown>): void {
  const length = array.length;
  if (rng.int(3) < 2 || length === 0) {
    const content = Array.from({ length: 1 + rng.int(3) }, () => randomContent(rng));
    array.insert(rng.int(length + 1), content);
  } else {
    const at = rng.int(length);
    array.delete(at, 1 + rng.int(Math.min(3, length - at)));
  }
}

function editMap(rng: Rng, map: Y.Map<unknown>): void {
  const key = rng.pick(MAP_KEYS);
  const current = map.get(key);
  const choice = rng.int(10);
  if (choice < 3 && current instanceof Y.AbstractType) {
    editNested(rng, current);
  } else if (choice < 8) {
    map.set(key, randomContent(rng));
  } else {
    map.delete(key);
  }
}

function editNested(rng: Rng, type: Y.AbstractType<unknown>): void {
  if (type instanceof Y.Text) editText(rng, type);
  else if (type instanceof Y.Array) editArray(rng, type);
  else if (type instanceof Y.Map) editMap(rng, type);
}

/** One random edit, or (sometimes) several in one transaction. */
function randomEdit(rng: Rng, doc: Y.Doc): void {
  const one = () => {
    const choice = rng.int(10);
    if (choice < 3) editText(rng, doc.getText('text'));
    else if (choice < 6) editArray(rng, doc.getArray('array'));
    else if (choice < 9) editMap(rng, doc.getMap('map'));
    else {
      // Edit something nested inside the array, if there is one.
      const nested = doc
        .getArray('array')
        .toArray()
        .filter((item): item is Y.AbstractType<unknown> => item instanceof Y.AbstractType);
      if (nested.length > 0) editNested(rng, rng.pick(nested));
      else editMap(rng, doc.getMap('map'));
    }
  };
  if (rng.bool(0.2)) doc.transact(() => Array.from({ length: 2 + rng.int(3) }, one));
  else one();
}

/** JSON with object keys sorted, so equal content compares equal whatever the insertion order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(
          Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : inner,
  );
}

/**
 * Everything compared between replicas: content (with text formatting), state vector and delete
 * set. Replicas holding the same updates have the same delete set, so it also catches a deletion
 * some replica lacks that the content does not show (a redundant formatting mark, removed by one
 * replica's formatting cleanup, splits no run of the delta).
 */
function fullContentOf(doc: Y.Doc): unknown {
  const byClient = (a: [number, unknown], b: [number, unknown]) => a[0] - b[0];
  const stateVector = [...Y.decodeStateVector(Y.encodeStateVector(doc)).entries()].sort(byClient);
  const deleted = [...Y.decodeUpdate(Y.encodeStateAsUpdate(doc)).ds.clients.entries()]
    .map(([client, items]): [number, number[][]] => [
      client,
      items.map((item) => [item.clock, item.len]),
    ])
    .sort(byClient);
  return {
    ...(contentOf(doc) as object),
    delta: doc.getText('text').toDelta(),
    stateVector,
    deleted,
  };
}

// ---- replicas over an unreliable, reordering network ----

/** The Yjs update a binary frame from the server carries (sync step 2 or update), if any. */
function updateInFrame(data: Buffer, room: string): Uint8Array | null {
  const decoded = decodeStorageFrame(new Uint8Array(data));
  if (!decoded.ok) throw new Error(`bad frame from the server: ${decoded.message}`);
  const { frame } = decoded;
  if (frame.room !== room || frame.kind === StorageFrameKind.SyncStep1) return null;
  return frame.payload.slice();
}

/** Origin of updates a replica got from the server (not queued for sending back). */
const REMOTE = Symbol('remote');
/** Origin of what a replica copies into its transport's document (not sent by DocClient). */
const MIRROR = Symbol('mirror');

class Replica {
  readonly doc = new Y.Doc();
  /** Local updates not yet sent, in the order they were made. */
  outbox: Uint8Array[] = [];
  /** Updates received from the server, not yet applied. */
  inbox: Uint8Array[] = [];
  link: DocClient | null = null;
  /** Updates sent and not yet acknowledged (or refused). */
  inFlight = 0;
  readonly errors: unknown[] = [];

  constructor(
    readonly name: string,
    readonly encoding: Encoding,
    clientId: number,
  ) {
    // A seeded client id, so a failing seed names the same clients on every run.
    this.doc.clientID = clientId;
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== REMOTE) this.outbox.push(update);
    });
  }

  get online(): boolean {
    return this.link !== null;
  }

  /** Opens a new socket and re-syncs by state vector: the server sends what this lacks and vice versa. */
  async connect(server: RoomServer, room: string): Promise<void> {
    const client = await join(server, room, this.name);
    const link = new DocClient(client, room, this.encoding);
    // The DocClient is a transport only: local edits reach it through `flushOut`, not its own
    // listener, and what the server sends is taken off the socket as is (not from the link's
    // document, which runs its own Y.Text formatting cleanups and so is not a faithful relay).
    link.online = false;
    Y.applyUpdate(link.doc, Y.encodeStateAsUpdate(this.doc), MIRROR);
    client.ws.on('message', (data: Buffer, isBinary: boolean) => {
      const update = isBinary ? updateInFrame(data, room) : this.updateInMessage(data, room);
      if (update !== null) this.inbox.push(update);
    });
    this.link = link;
    await link.sync();
  }

  /** The Yjs update a JSON message carries (`storage:ops`, `storage:init`); records errors. */
  private updateInMessage(data: Buffer, room: string): Uint8Array | null {
    const message = JSON.parse(data.toString()) as Received;
    if (message.type === 'error') this.errors.push(message);
    const carries = message.type === 'storage:ops' || message.type === 'storage:init';
    if (!carries || message.room !== room || typeof message.update !== 'string') return null;
    return base64ToBytes(message.update);
  }

  /** Terminates the socket; what was in flight either way may be lost. */
  disconnect(rng: Rng): void {
    const link = this.link;
    if (link === null) return;
    this.link = null;
    link.client.terminate();
    link.doc.destroy();
    if (rng.bool()) this.outbox = [];
    if (rng.bool()) this.inbox = [];
  }

  /** Sends some (or all) queued local updates, in random order. */
  flushOut(rng: Rng, all = false): void {
    const link = this.link;
    if (link === null) return;
    for (const update of rng.takeSome(this.outbox, all)) {
      Y.applyUpdate(link.doc, update, MIRROR);
      this.inFlight++;
      link
        .push(update)
        .catch((error: unknown) => this.errors.push(error))
        .finally(() => this.inFlight--);
    }
  }

  /** Applies some (or all) received updates, in random order. */
  flushIn(rng: Rng, all = false): void {
    for (const update of rng.takeSome(this.inbox, all)) Y.applyUpdate(this.doc, update, REMOTE);
  }

  destroy(): void {
    this.link?.client.terminate();
    this.link?.doc.destroy();
    this.doc.destroy();
  }
}

// ---- the test ----

/** Yields to the event loop so sockets deliver what is in flight (no fixed delay). */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Stops every node of the server's cluster (each flushes its documents). */
async function stopAll(server: RoomServer): Promise<void> {
  for (const node of nodesOf(server)) await node.stop();
}

const ENCODINGS: Encoding[] = ['binary', 'base64', 'binary', 'base64', 'binary'];
const ROUNDS = 160;

/** Generous rate limits: the test sends hundreds of updates per second per socket. */
function serverConfig(store: Store): ServerConfig {
  return {
    store,
    rateLimit: { messagesPerSecond: 1_000_000, burst: 1_000_000 },
    // Unload as soon as everyone left, so the test also reloads the document from the store.
    roomConfig: { cleanupTimeoutMs: 0 },
    storage: { flushDebounceMs: 5, flushMaxWaitMs: 20, compactAfterUpdates: 40 },
  };
}

async function runSeed(seed: number): Promise<void> {
  const rng = new Rng(seed);
  const file = sqliteFile('roomkit-random-');
  const store = await openStore(file);
  let storeOpen = true;
  afterThisTest(async () => {
    if (storeOpen) await store.close();
  });
  const server = await startServer(serverConfig(store));
  // Stopped (flushed) before its store closes, also when the test fails half-way.
  afterThisTest(() => stopAll(server));
  const room = `random-${seed}`;

  const replicas = ENCODINGS.map(
    (encoding, i) => new Replica(`r${i}-${encoding}`, encoding, 1000 * (i + 1) + rng.int(1000)),
  );
  afterThisTest(() => {
    for (const replica of replicas) replica.destroy();
  });
  for (const replica of replicas) await replica.connect(server, room);

  for (let round = 0; round < ROUNDS; round++) {
    for (const replica of replicas) {
      for (let i = rng.int(3); i > 0; i--) randomEdit(rng, replica.doc);
      if (rng.bool(0.6)) replica.flushOut(rng);
      if (rng.bool(0.6)) replica.flushIn(rng);
      if (replica.online && rng.bool(0.03)) replica.disconnect(rng);
      else if (!replica.online && rng.bool(0.25)) await replica.connect(server, room);
    }
    // Halfway, everyone goes: the room unloads (its document flushed to the store and
    // destroyed) while edits continue offline; the next connection reloads it from the store.
    if (round === ROUNDS / 2) {
      for (const replica of replicas) replica.disconnect(rng);
      await waitUntil(() => roomsOf(server, room).length === 0, 5000, 'room unload');
      for (const replica of replicas) randomEdit(rng, replica.doc);
    }
    if (rng.bool(0.5)) await tick();
  }

  // Everyone reconnects, sends and applies everything, and waits for the acknowledgements.
  for (const replica of replicas) if (!replica.online) await replica.connect(server, room);
  for (const replica of replicas) replica.flushOut(rng, true);
  await Promise.all(replicas.map((replica) => replica.link!.settled()));
  // The first node's copy; every node's must be the same (checked below).
  const expected = () => fullContentOf(serverDocs(server, room)[0]!);
  // Applying the others' updates can change a replica's own document: after a remote change to
  // formatted Y.Text, Yjs deletes redundant formatting marks in a transaction of its own, which
  // lands in the outbox like a local edit (a provider sends it like one). The room has it only
  // once it is sent, so converging means nothing left to apply, to send or awaiting its ack.
  const converged = () => {
    let busy = false;
    for (const replica of replicas) {
      replica.flushIn(rng, true);
      if (replica.outbox.length > 0 || replica.inFlight > 0) busy = true;
      replica.flushOut(rng, true);
    }
    if (busy) return false;
    const want = canonical(expected());
    const copies = [...replicas.map((replica) => replica.doc), ...serverDocs(server, room)];
    return copies.every((doc) => canonical(fullContentOf(doc)) === want);
  };
  // Not converging in time fails below, with a diff of what differs.
  await waitUntil(converged, 5000, 'every replica equals the server document').catch(() => {});

  for (const replica of replicas) {
    expect(replica.errors, replica.name).toEqual([]);
    expect(replica.outbox, replica.name).toEqual([]);
    expect(fullContentOf(replica.doc), replica.name).toEqual(expected());
    expect(replica.doc.store.pendingStructs, replica.name).toBeNull();
    expect(replica.doc.store.pendingDs, replica.name).toBeNull();
  }
  const finalContent = expected();
  for (const final of serverDocs(server, room)) {
    expect(fullContentOf(final)).toEqual(finalContent);
    expect(final.store.pendingStructs).toBeNull();
    expect(final.store.pendingDs).toBeNull();
    // Something was actually edited (the run is not trivially equal).
    expect(final.getText('text').length + final.getArray('array').length).toBeGreaterThan(0);
  }

  // The persisted document: stop (flushes), reopen the store, and sync a fresh client.
  await stopAll(server);
  await store.close();
  storeOpen = false;
  const reopened = await openStore(file);
  afterThisTest(() => reopened.close());
  const restarted = await startServer(serverConfig(reopened));
  afterThisTest(() => stopAll(restarted));
  const fresh = await DocClient.open(restarted, room, 'fresh', rng.pick(['binary', 'base64']));
  afterThisTest(() => fresh.doc.destroy());
  expect(fullContentOf(fresh.doc)).toEqual(finalContent);
  for (const doc of serverDocs(restarted, room)) expect(fullContentOf(doc)).toEqual(finalContent);
}

describe('storage over a random network (seeded)', () => {
  for (const seed of [1, 0x5eed, 20261122, 987654321]) {
    it(`seed ${seed}: random edits, delivery order and disconnects converge, in memory and in the store`, async () => {
      await runSeed(seed);
    }, 20_000);
  }
});
