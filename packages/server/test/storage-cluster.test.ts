/**
 * Room documents on two nodes of an `InProcessCluster` (explicitly, whatever ROOMKIT_TEST_NODES
 * says): a node loading a document merges what the other node holds in memory, keeps the other
 * node's updates that arrive while it loads, seeds a room only when no node and no store has
 * anything, and both nodes compacting one room into one store lose no acknowledged edit. The
 * suites run on two nodes (see vitest.config.ts) cover the rest: sync, bad input, the random
 * network, y-websocket.
 */
import { ErrorCode } from '@roomkit/protocol';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  InProcessCluster,
  openStore,
  type RoomServer,
  type ServerConfig,
  type Store,
} from '../src/index.js';
import { join, type Received, startServer, waitUntil } from './helpers.js';
import { contentOf, DocClient, serverDocs } from './storage-helpers.js';
import { afterThisTest, sqliteFile } from './test-databases.js';

/** Two nodes of one cluster with the same configuration. */
async function twoNodes(config: ServerConfig = {}): Promise<[RoomServer, RoomServer]> {
  const cluster = new InProcessCluster();
  const a = await startServer({ ...config, bus: cluster.bus('a') });
  const b = await startServer({ ...config, bus: cluster.bus('b') });
  return [a, b];
}

/** A SQLite store for the test, closed after the nodes that use it stopped (and flushed). */
async function sharedStore(nodes: () => RoomServer[]): Promise<{ store: Store; file: string }> {
  const file = sqliteFile('roomkit-cluster-');
  const store = await openStore(file);
  afterThisTest(async () => {
    for (const node of nodes()) await node.stop();
    await store.close();
  });
  return { store, file };
}

function textOf(server: RoomServer, room: string): string {
  return serverDocs(server, room)[0]!.getText('text').toString();
}

describe('room documents across nodes', () => {
  it('a node loading the document merges the copy another node holds in memory', async () => {
    let nodes: RoomServer[] = [];
    const { store } = await sharedStore(() => nodes);
    // Nothing reaches the store during the test: what the second node gets, it gets from the first.
    const storage = { flushDebounceMs: 60_000, flushMaxWaitMs: 60_000 };
    nodes = await twoNodes({ store, storage });
    const [a, b] = nodes as [RoomServer, RoomServer];
    const alice = await DocClient.open(a, 'memory', 'alice');
    alice.doc.getText('text').insert(0, 'not saved yet');
    await waitUntil(() => textOf(a, 'memory') === 'not saved yet', 3000, 'node a applied it');
    expect(await store.loadDocument('memory')).toEqual({ snapshot: null, updates: [] });

    const bob = await DocClient.open(b, 'memory', 'bob', 'base64');
    expect(bob.text()).toBe('not saved yet');
    expect(textOf(b, 'memory')).toBe('not saved yet');
    // From then on each node applies the other's updates to its copy.
    bob.doc.getText('text').insert(0, '> ');
    await waitUntil(() => alice.text() === '> not saved yet', 3000, "alice gets bob's edit");
    for (const node of [a, b]) expect(textOf(node, 'memory')).toBe('> not saved yet');
  });

  it("a node loading the document keeps the other node's updates that arrive meanwhile", async () => {
    let release: (seed: null) => void = () => {};
    const gate = new Promise<null>((resolve) => {
      release = resolve;
    });
    let calls = 0;
    // The first load (node b's) waits on the gate; node a's finds nothing and goes on.
    const [a, b] = await twoNodes({
      initialStorage: () => (++calls === 1 ? gate : Promise.resolve(null)),
    });
    const xavier = new DocClient(await join(b, 'late', 'xavier'), 'late');
    const synced = xavier.sync();
    await waitUntil(() => calls === 1, 3000, "node b's load to wait on initialStorage");

    const yara = await DocClient.open(a, 'late', 'yara');
    yara.doc.getText('text').insert(0, 'typed while b loads');
    // Acknowledged: applied on node a, and its delivery to node b (a microtask) is long done.
    await yara.settled();
    expect(calls).toBe(2);
    release(null);
    await synced;
    expect(xavier.text()).toBe('typed while b loads');
    expect(textOf(b, 'late')).toBe('typed while b loads');
  });

  it("more than a document's worth arriving during a load fails it (storage_unavailable); a retry has it all", async () => {
    let release: (seed: null) => void = () => {};
    const gate = new Promise<null>((resolve) => {
      release = resolve;
    });
    let calls = 0;
    const [a, b] = await twoNodes({
      storage: { maxUpdateBytes: 1000, maxDocumentBytes: 3000 },
      initialStorage: () => (++calls === 1 ? gate : Promise.resolve(null)),
    });
    const xavier = new DocClient(await join(b, 'flood', 'xavier'), 'flood', 'base64');
    const failed = xavier.sync().then(
      () => null,
      (error: { reply?: Received }) => error.reply ?? null,
    );
    await waitUntil(() => calls === 1, 3000, "node b's load to wait on initialStorage");
    const yara = await DocClient.open(a, 'flood', 'yara');
    // Typed and deleted again: a small document, but over 3000 bytes of updates for node b.
    for (let i = 0; i < 4; i++) {
      yara.doc.getText('text').insert(0, `${i}`.repeat(800));
      yara.doc.getText('text').delete(0, 800);
    }
    yara.doc.getText('text').insert(0, 'kept');
    await yara.settled();
    expect(yara.errors).toEqual([]);
    release(null);
    expect((await failed)?.code).toBe(ErrorCode.StorageUnavailable);
    await xavier.sync();
    expect(xavier.text()).toBe('kept');
    expect(textOf(b, 'flood')).toBe(yara.text());
  });

  it('initialStorage seeds a room no node and no store knows; a node loading it later does not', async () => {
    const seeds: string[] = [];
    const [a, b] = await twoNodes({
      initialStorage: async (roomId) => {
        seeds.push(roomId);
        // A fresh client id each call: a second seed would add a second "Hello".
        const seed = new Y.Doc();
        seed.getText('text').insert(0, 'Hello');
        return Y.encodeStateAsUpdate(seed);
      },
    });
    const first = await DocClient.open(a, 'seeded', 'first');
    expect(first.text()).toBe('Hello');
    const second = await DocClient.open(b, 'seeded', 'second');
    expect(second.text()).toBe('Hello');
    expect(seeds).toEqual(['seeded']);
  });

  it('members on both nodes typing while both nodes compact: the store has every edit', async () => {
    let nodes: RoomServer[] = [];
    const { store, file } = await sharedStore(() => nodes);
    // Every write batch compacts: the two nodes' compactions of the room interleave all along.
    const storage = { flushDebounceMs: 1, flushMaxWaitMs: 5, compactAfterUpdates: 1 };
    nodes = await twoNodes({ store, storage });
    const [a, b] = nodes as [RoomServer, RoomServer];
    const alice = await DocClient.open(a, 'both', 'alice');
    const bob = await DocClient.open(b, 'both', 'bob', 'base64');
    for (let i = 0; i < 40; i++) {
      alice.doc.getText('text').insert(0, `a${i} `);
      bob.doc.getArray('array').push([`b${i}`]);
      // Now and then a turn for the sockets: the nodes' write batches interleave with the edits.
      if (i % 8 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    // Every edit acknowledged: durable in the store.
    await Promise.all([alice.settled(), bob.settled()]);
    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
    await waitUntil(
      () => JSON.stringify(contentOf(alice.doc)) === JSON.stringify(contentOf(bob.doc)),
      3000,
      'alice and bob converge',
    );
    const expected = contentOf(alice.doc);
    const stored = new Y.Doc();
    const { snapshot, updates } = await store.loadDocument('both');
    for (const part of [snapshot, ...updates]) if (part !== null) Y.applyUpdate(stored, part);
    expect(contentOf(stored)).toEqual(expected);

    // And after both nodes stopped (flushing their copies), a new server loads the same.
    for (const node of nodes) await node.stop();
    await store.close();
    const reopened = await openStore(file);
    const again = await startServer({ store: reopened });
    afterThisTest(async () => {
      await again.stop();
      await reopened.close();
    });
    const carol = await DocClient.open(again, 'both', 'carol');
    expect(contentOf(carol.doc)).toEqual(expected);
  });
});
