import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  ErrorCode,
  type Logger,
  openStore,
  type RoomServer,
  type ServerConfig,
  type Store,
  type StoredDocument,
} from '../src/index.js';
import { join, type Received, startServer, waitUntil } from './helpers.js';
import { contentOf, DocClient, updateFrom } from './storage-helpers.js';
import { describePostgres, postgresSchema, sqliteFile } from './test-databases.js';

/**
 * The built-in store against real databases: a SQLite file and the PostgreSQL of
 * TEST_DATABASE_URL (each PostgreSQL test in a schema of its own). Store failures are made by the
 * database itself refusing writes (a trigger / a failing CHECK added from another connection).
 */

/** Storage timings that keep the suite fast; a test overrides what it is about. */
const FAST = {
  flushDebounceMs: 5,
  flushMaxWaitMs: 50,
  retryInitialDelayMs: 10,
  retryMaxDelayMs: 40,
  stopTimeoutMs: 3000,
};
const WRITE_FAILED = 'store write failed; will retry';

/** A database for one test: where to open the store, and a way to make it refuse writes. */
interface Backend {
  target: string;
  /** From another connection: make inserts into both tables fail (or succeed again). */
  block(): Promise<void>;
  unblock(): Promise<void>;
  /** Only PostgreSQL: hold an exclusive lock on document_updates, so its queries hang. */
  hold?(): Promise<() => Promise<void>>;
  /** Only PostgreSQL: how many of this database's queries wait for a lock. */
  lockWaits?(): Promise<number>;
  /** Closes its connections and drops a PostgreSQL schema (a SQLite file goes after the test). */
  dispose(): Promise<void>;
}

function sqliteBackend(): Promise<Backend> {
  const target = sqliteFile('roomkit-store-');
  let side: BetterSqlite3.Database | null = null;
  const other = () => {
    side ??= new BetterSqlite3(target, { timeout: 5000 });
    return side;
  };
  return Promise.resolve({
    target,
    async block() {
      other().exec(`
        CREATE TRIGGER block_updates BEFORE INSERT ON document_updates BEGIN SELECT RAISE(ABORT, 'blocked'); END;
        CREATE TRIGGER block_documents BEFORE INSERT ON documents BEGIN SELECT RAISE(ABORT, 'blocked'); END;
        CREATE TRIGGER block_snapshots BEFORE UPDATE ON documents BEGIN SELECT RAISE(ABORT, 'blocked'); END;`);
    },
    async unblock() {
      other().exec(`
        DROP TRIGGER IF EXISTS block_updates;
        DROP TRIGGER IF EXISTS block_documents;
        DROP TRIGGER IF EXISTS block_snapshots;`);
    },
    async dispose() {
      side?.close();
    },
  });
}

async function postgresBackend(): Promise<Backend> {
  const schema = await postgresSchema();
  // The schema names the connections too, so lock waits are counted for this test only.
  const target = `${schema.url}&application_name=${schema.name}`;
  const side = new pg.Client({ connectionString: target });
  await side.connect();
  return {
    target,
    async block() {
      await side.query(`
        ALTER TABLE document_updates ADD CONSTRAINT blocked CHECK (false) NOT VALID;
        ALTER TABLE documents ADD CONSTRAINT blocked CHECK (false) NOT VALID;`);
    },
    async unblock() {
      await side.query(`
        ALTER TABLE document_updates DROP CONSTRAINT IF EXISTS blocked;
        ALTER TABLE documents DROP CONSTRAINT IF EXISTS blocked;`);
    },
    async hold() {
      const locker = new pg.Client({ connectionString: target });
      await locker.connect();
      await locker.query('BEGIN; LOCK TABLE document_updates IN ACCESS EXCLUSIVE MODE');
      return async () => {
        await locker.query('ROLLBACK');
        await locker.end();
      };
    },
    async lockWaits() {
      const { rows } = await schema.admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name = $1",
        [schema.name],
      );
      return rows[0]!.n;
    },
    async dispose() {
      await side.end();
      await schema.drop();
    },
  };
}

/** A logger that keeps what the server said, to wait for "a write failed" without sleeping. */
function recorder() {
  const entries: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, message = '') => {
      entries.push({ level, message, fields });
    };
  const logger: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
  return {
    logger,
    entries,
    count: (message: string) => entries.filter((entry) => entry.message === message).length,
  };
}

/** Applies an edit to the client's document and sends it; resolves with the server's answer. */
function edit(client: DocClient, change: (doc: Y.Doc) => void): Promise<Received> {
  const update = updateFrom(client.doc, change);
  Y.applyUpdate(client.doc, update, client);
  return client.push(update);
}

function append(client: DocClient, text: string): Promise<Received> {
  return edit(client, (doc) => doc.getText('text').insert(doc.getText('text').length, text));
}

/** The document the store holds for a room, rebuilt from its snapshot and tail. */
function rebuild(stored: StoredDocument): Y.Doc {
  const doc = new Y.Doc();
  if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
  for (const update of stored.updates) Y.applyUpdate(doc, update);
  return doc;
}

async function storedText(store: Store, roomId: string): Promise<string> {
  return rebuild(await store.loadDocument(roomId))
    .getText('text')
    .toString();
}

async function rowCounts(store: Store, roomId: string) {
  const updates = await store.db
    .selectFrom('document_updates')
    .select('id')
    .where('room_id', '=', roomId)
    .execute();
  const snapshots = await store.db
    .selectFrom('documents')
    .select('room_id')
    .where('room_id', '=', roomId)
    .execute();
  return { updates: updates.length, snapshots: snapshots.length };
}

function suite(create: () => Promise<Backend>) {
  let backend: Backend | null = null;
  const stores: Store[] = [];
  const servers: RoomServer[] = [];
  const releases: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const release of releases.splice(0)) await release();
    await backend?.unblock().catch(() => {});
    await Promise.all(servers.splice(0).map((server) => server.stop()));
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await backend?.dispose();
    backend = null;
  });

  async function db(): Promise<Backend> {
    backend ??= await create();
    return backend;
  }

  async function open(): Promise<Store> {
    const store = await openStore((await db()).target);
    stores.push(store);
    return store;
  }

  async function serve(store: Store, config: ServerConfig = {}): Promise<RoomServer> {
    const storage = { ...FAST, ...(config.storage || {}) };
    const server = await startServer({ ...config, store, storage });
    servers.push(server);
    return server;
  }

  it('migrates on open; migrating again applies nothing', async () => {
    const { target } = await db();
    const bare = await openStore(target, { migrate: false });
    stores.push(bare);
    expect(await bare.migrate()).toEqual({ applied: ['0001_documents', '0002_spaces'] });
    expect(await bare.migrate()).toEqual({ applied: [] });
    const [first, second] = [await open(), await open()];
    expect(await first.migrate()).toEqual({ applied: [] });
    await first.writeDocuments([{ roomId: 'r', updates: [new Uint8Array([1, 2, 3])] }]);
    expect(await second.loadDocument('r')).toEqual({
      snapshot: null,
      updates: [new Uint8Array([1, 2, 3])],
    });
  });

  it.runIf(create === postgresBackend)(
    'several stores migrating one fresh database at once apply each migration once',
    async () => {
      const { target } = await db();
      const outcomes = await Promise.all(
        [1, 2, 3].map(async () => {
          const store = await openStore(target, { migrate: false });
          stores.push(store);
          return store.migrate();
        }),
      );
      expect(outcomes.flatMap((outcome) => outcome.applied)).toEqual([
        '0001_documents',
        '0002_spaces',
      ]);
    },
  );

  it.runIf(create === postgresBackend)(
    "migrates its own schema when another schema of the database already has Roomkit's tables",
    async () => {
      const neighbour = await postgresBackend();
      try {
        const theirs = await openStore(neighbour.target);
        await theirs.close();
        const ours = await open();
        await ours.writeDocuments([{ roomId: 'mine', updates: [new Uint8Array([7])] }]);
        expect((await ours.loadDocument('mine')).updates).toEqual([new Uint8Array([7])]);
        expect(await ours.migrate()).toEqual({ applied: [] });
      } finally {
        await neighbour.dispose();
      }
    },
  );

  it('a document survives a restart, on the same store and on a reopened one', async () => {
    const store = await open();
    const first = await serve(store);
    const alice = await DocClient.open(first, 'trip', 'alice');
    alice.doc.getText('text').insert(0, 'hello world');
    alice.doc.getMap('map').set('k', { nested: [1, 2] });
    alice.doc.getMap('map').set('n', 42);
    alice.doc.getArray('array').push(['a', 2, true]);
    alice.doc.getText('text').delete(0, 6);
    await alice.settled();
    const expected = contentOf(alice.doc);
    expect(expected).toMatchObject({ text: 'world', array: ['a', 2, true] });
    await first.stop();

    const second = await serve(store);
    expect(contentOf((await DocClient.open(second, 'trip', 'bob')).doc)).toEqual(expected);
    await second.stop();
    await store.close();

    const third = await serve(await open());
    expect(contentOf((await DocClient.open(third, 'trip', 'carol')).doc)).toEqual(expected);
  });

  it('an acknowledged update is already in the database', async () => {
    const server = await serve(await open(), { storage: { flushDebounceMs: 30 } });
    const reader = await open(); // a connection of its own, as another process would read
    const alice = await DocClient.open(server, 'acked', 'alice');
    for (let i = 0; i < 8; i++) {
      expect((await append(alice, `${i},`)).type).toBe('ack');
      expect(await storedText(reader, 'acked')).toBe(alice.text());
    }
    expect(await rowCounts(reader, 'acked')).toEqual({ updates: 8, snapshots: 0 });
  });

  it('stop() writes updates that were applied but not yet written', async () => {
    const store = await open();
    const server = await serve(store, {
      storage: { flushDebounceMs: 60_000, flushMaxWaitMs: 60_000 },
    });
    const alice = await DocClient.open(server, 'pending', 'alice');
    const bob = await DocClient.open(server, 'pending', 'bob');
    void append(alice, 'not yet written').catch(() => {});
    await waitUntil(() => bob.text() === 'not yet written', 3000, 'bob sees the edit');
    expect(await store.loadDocument('pending')).toEqual({ snapshot: null, updates: [] });
    await server.stop();
    expect(await storedText(store, 'pending')).toBe('not yet written');
  });

  it('compacts into a snapshot after compactAfterUpdates; a reload has everything', async () => {
    const store = await open();
    const server = await serve(store, { storage: { compactAfterUpdates: 5 } });
    const alice = await DocClient.open(server, 'compact', 'alice');
    for (let i = 1; i <= 12; i++) {
      await edit(alice, (doc) => {
        doc.getText('text').insert(doc.getText('text').length, `${i} `);
        doc.getMap('map').set(`k${i}`, i);
      });
      expect(await rowCounts(store, 'compact'), `after update ${i}`).toEqual({
        updates: i % 5,
        snapshots: i >= 5 ? 1 : 0,
      });
    }
    const stored = await store.loadDocument('compact');
    expect(contentOf(rebuild(stored))).toEqual(contentOf(alice.doc));
    await server.stop();
    const again = await serve(store);
    expect(contentOf((await DocClient.open(again, 'compact', 'bob')).doc)).toEqual(
      contentOf(alice.doc),
    );
  });

  /** A replica of a document (a node's copy), built from `updates`. */
  function replica(...updates: Uint8Array[]): Y.Doc {
    const doc = new Y.Doc();
    for (const update of updates) Y.applyUpdate(doc, update);
    return doc;
  }

  /** Appends `text` on `doc` (a member's edit taken by that node); returns the update. */
  function type(doc: Y.Doc, text: string): Uint8Array {
    const update = updateFrom(doc, (d) => d.getText('text').insert(d.getText('text').length, text));
    Y.applyUpdate(doc, update);
    return update;
  }

  it("compacting keeps another node's updates the snapshot lacks (two nodes writing one room)", async () => {
    // Two connections, as two nodes have. Both hold the room's document; each takes an edit
    // from its own member and stores it, and the other's has not reached it yet.
    const [nodeA, nodeB] = [await open(), await open()];
    const base = type(new Y.Doc(), 'base.');
    await nodeA.writeDocuments([{ roomId: 'race', updates: [base] }]);
    const [a, b] = [replica(base), replica(base)];
    const fromA = type(a, ' a1');
    const fromB = type(b, ' b1');
    await nodeB.writeDocuments([{ roomId: 'race', updates: [fromB] }]);
    // A compacts with its copy, which lacks b1: b1's row is merged in, not dropped.
    await nodeA.writeDocuments([
      { roomId: 'race', updates: [fromA], snapshot: Y.encodeStateAsUpdate(a) },
    ]);
    // Concurrent inserts at one place: Yjs orders them (by client id) the same everywhere.
    const both = replica(base, fromA, fromB);
    expect(await storedText(nodeB, 'race')).toBe(both.getText('text').toString());
    expect(await rowCounts(nodeB, 'race')).toEqual({ updates: 0, snapshots: 1 });
    // B compacts with its copy, which lacks a1 (folded into A's snapshot already): kept too.
    const later = type(b, ' b2');
    await nodeB.writeDocuments([
      { roomId: 'race', updates: [later], snapshot: Y.encodeStateAsUpdate(b) },
    ]);
    Y.applyUpdate(both, later);
    expect(await storedText(nodeA, 'race')).toBe(both.getText('text').toString());
    for (const word of ['base.', ' a1', ' b1', ' b2']) {
      expect(both.getText('text').toString()).toContain(word);
    }
    expect(await rowCounts(nodeA, 'race')).toEqual({ updates: 0, snapshots: 1 });
  });

  it.runIf(create === postgresBackend)(
    'compactions and appends of one room from several nodes at once lose nothing',
    async () => {
      const nodes = [await open(), await open(), await open()];
      const copies = nodes.map(() => new Y.Doc());
      const all = new Y.Doc();
      for (let round = 0; round < 8; round++) {
        // Each node takes an edit; the first two compact (each with a copy that lacks the
        // others' edits of this round), the third appends, all at once.
        const updates = copies.map((copy, i) => type(copy, ` n${i}r${round}`));
        for (const update of updates) Y.applyUpdate(all, update);
        await Promise.all(
          nodes.map((node, i) =>
            node.writeDocuments([
              i < 2
                ? {
                    roomId: 'busy',
                    updates: [updates[i]!],
                    snapshot: Y.encodeStateAsUpdate(copies[i]!),
                  }
                : { roomId: 'busy', updates: [updates[i]!] },
            ]),
          ),
        );
      }
      const stored = rebuild(await nodes[0]!.loadDocument('busy'))
        .getText('text')
        .toString();
      expect(stored.length).toBe(all.getText('text').length);
      for (let round = 0; round < 8; round++) {
        for (let i = 0; i < 3; i++) expect(stored).toContain(` n${i}r${round}`);
      }
    },
  );

  it('a room unloaded after its cleanup grace is compacted, saved and freed; a rejoin reloads it', async () => {
    const store = await open();
    const server = await serve(store, { roomConfig: { cleanupTimeoutMs: 20 } });
    const alice = await DocClient.open(server, 'gone', 'alice');
    for (const word of ['one ', 'two ', 'three']) await append(alice, word);
    alice.doc.getArray('array').push([1]);
    await alice.settled();
    expect(server.loadedDocuments).toBe(1);
    expect(await rowCounts(store, 'gone')).toEqual({ updates: 4, snapshots: 0 });

    await alice.client.close();
    await waitUntil(
      () => server.getRoomManager().get('gone') === undefined && server.loadedDocuments === 0,
      3000,
      'the room and its document to go',
    );
    expect(await rowCounts(store, 'gone')).toEqual({ updates: 0, snapshots: 1 });
    expect(contentOf(rebuild(await store.loadDocument('gone')))).toEqual(contentOf(alice.doc));

    const bob = await DocClient.open(server, 'gone', 'bob');
    expect(contentOf(bob.doc)).toEqual(contentOf(alice.doc));
    expect(server.loadedDocuments).toBe(1);
  });

  it('initialStorage seeds a room once: later loads come from the store, not a second seed', async () => {
    const store = await open();
    const seeds: string[] = [];
    const server = await serve(store, {
      roomConfig: { cleanupTimeoutMs: 0 },
      initialStorage: async (roomId) => {
        seeds.push(roomId);
        const seed = new Y.Doc();
        seed.getText('text').insert(0, 'Hello');
        return Y.encodeStateAsUpdate(seed);
      },
    });
    for (let round = 0; round < 3; round++) {
      const client = await DocClient.open(server, 'seeded', `c${round}`);
      expect(client.text()).toBe(`Hello${'!'.repeat(round)}`);
      await append(client, '!');
      client.client.terminate();
      await waitUntil(() => server.loadedDocuments === 0, 3000, 'the room unloads');
    }
    expect(seeds).toEqual(['seeded']);
  });

  it('an update re-sent during an outage (nothing new to the server) is acknowledged only once saved', async () => {
    const { block, unblock } = await db();
    const store = await open();
    const log = recorder();
    const server = await serve(store, { logger: log.logger });
    const alice = await DocClient.open(server, 'resend', 'alice');
    await append(alice, 'saved.');
    await block();
    const before = Y.encodeStateVector(alice.doc);
    const first = append(alice, ' pending');
    const update = Y.encodeStateAsUpdate(alice.doc, before);
    const failures = log.count(WRITE_FAILED);
    await waitUntil(() => log.count(WRITE_FAILED) > failures, 3000, 'a failed write');
    // The client, unsure whether the server got it, sends the same update again.
    let resentAcked = false;
    const resent = alice.push(update).then((reply) => {
      resentAcked = true;
      return reply;
    });
    await waitUntil(() => log.count(WRITE_FAILED) > failures + 1, 3000, 'another failed write');
    expect(resentAcked).toBe(false);
    await unblock();
    expect((await resent).type).toBe('ack');
    expect((await first).type).toBe('ack');
    expect(await storedText(store, 'resend')).toBe('saved. pending');
  });

  it('while the database refuses writes, edits still reach the room but are acknowledged only once saved', async () => {
    const { block, unblock } = await db();
    const store = await open();
    const log = recorder();
    const server = await serve(store, { logger: log.logger, storage: { compactAfterUpdates: 4 } });
    const alice = await DocClient.open(server, 'outage', 'alice');
    const bob = await DocClient.open(server, 'outage', 'bob');
    await append(alice, 'saved.');
    await block();

    const acked = [false, false, false];
    const answers = [' one', ' two', ' three'].map((word, i) =>
      append(alice, word).then((reply) => {
        acked[i] = true;
        return reply;
      }),
    );
    await waitUntil(() => bob.text() === 'saved. one two three', 1000, 'bob sees every edit');
    // Every edit is queued now; two more attempts fail before anything is acknowledged.
    const failures = log.count(WRITE_FAILED);
    await waitUntil(() => log.count(WRITE_FAILED) >= failures + 2, 3000, 'two failed writes');
    expect(acked).toEqual([false, false, false]);
    expect(await storedText(store, 'outage')).toBe('saved.');

    await unblock();
    const replies = await Promise.all(answers);
    expect(replies.map((reply) => reply.type)).toEqual(['ack', 'ack', 'ack']);
    expect(await storedText(store, 'outage')).toBe('saved. one two three');
    // 1 + 3 updates reached compactAfterUpdates: the retried batch was the snapshot write.
    expect(await rowCounts(store, 'outage')).toEqual({ updates: 0, snapshots: 1 });
    expect(log.count('store writes recovered')).toBe(1);
  });

  it('a room unloaded during an outage keeps its document until it is saved', async () => {
    const { block, unblock } = await db();
    const store = await open();
    const log = recorder();
    const server = await serve(store, { logger: log.logger, roomConfig: { cleanupTimeoutMs: 20 } });
    const rooms = server.getRoomManager();
    const alice = await DocClient.open(server, 'kept', 'alice');
    await append(alice, 'saved');
    await block();
    void append(alice, ' unsaved').catch(() => {});
    await waitUntil(() => log.count(WRITE_FAILED) >= 1, 3000, 'a failed write');
    await alice.client.close();
    await waitUntil(() => rooms.get('kept') === undefined, 3000, 'the room to unload');
    const failures = log.count(WRITE_FAILED);
    await waitUntil(() => log.count(WRITE_FAILED) >= failures + 2, 3000, 'more failed writes');
    expect(server.loadedDocuments).toBe(1);

    const carol = await DocClient.open(server, 'kept', 'carol');
    expect(carol.text()).toBe('saved unsaved');
    void append(carol, ' more').catch(() => {});
    await waitUntil(() => log.count(WRITE_FAILED) >= failures + 3, 3000, 'a failed write');
    await carol.client.close();
    await waitUntil(() => rooms.get('kept') === undefined, 3000, 'the room to unload again');
    expect(server.loadedDocuments).toBe(1);
    expect(await storedText(store, 'kept')).toBe('saved');

    await unblock();
    await waitUntil(() => server.loadedDocuments === 0, 3000, 'the document to be freed');
    expect(await storedText(store, 'kept')).toBe('saved unsaved more');
    expect(await rowCounts(store, 'kept')).toEqual({ updates: 0, snapshots: 1 });
    const dave = await DocClient.open(server, 'kept', 'dave');
    expect(dave.text()).toBe('saved unsaved more');
  });

  it('stop() gives up on a failing database after stopTimeoutMs; the sender gets no ack', async () => {
    const { block } = await db();
    const log = recorder();
    const server = await serve(await open(), {
      logger: log.logger,
      storage: { stopTimeoutMs: 300 },
    });
    const alice = await DocClient.open(server, 'doomed', 'alice');
    await append(alice, 'saved');
    await block();
    let outcome = 'pending';
    void append(alice, ' lost').then(
      () => {
        outcome = 'ack';
      },
      (error: Error & { reply?: Received }) => {
        outcome = String(error.reply?.code);
      },
    );
    await waitUntil(() => log.count(WRITE_FAILED) >= 1, 3000, 'a failed write');
    const started = Date.now();
    await server.stop();
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(2000);
    const closed = await alice.client.closed;
    expect(closed.code === 1001 || outcome === ErrorCode.StorageUnavailable).toBe(true);
    expect(outcome).not.toBe('ack');
    const gaveUp = log.entries.find((e) => e.message.startsWith('store unavailable at stop'));
    expect(gaveUp?.fields).toMatchObject({ rooms: 1, updates: 1 });
  });

  it.runIf(create === postgresBackend)(
    'stop() gives up after stopTimeoutMs on a write and a load that hang (a table locked by another client)',
    async () => {
      const backend = await db();
      const log = recorder();
      const server = await serve(await open(), {
        logger: log.logger,
        storage: { stopTimeoutMs: 300 },
      });
      const alice = await DocClient.open(server, 'hung', 'alice');
      await append(alice, 'saved');
      releases.push(await backend.hold!());
      let acked = false;
      void append(alice, ' stuck').then(
        () => {
          acked = true;
        },
        () => {},
      );
      // A loaded room keeps working: a joiner gets the edit the store cannot take.
      const bob = await DocClient.open(server, 'hung', 'bob');
      expect(bob.text()).toBe('saved stuck');
      // A room that is not loaded cannot be: its load waits on the lock too.
      const carol = new DocClient(await join(server, 'other', 'carol'), 'other');
      void carol.sync().catch(() => {});
      const seen = { waits: 0 };
      await waitUntilAsync(async () => {
        seen.waits = await backend.lockWaits!();
        return seen.waits >= 2;
      }, 'the write and the load to wait for the lock');

      const started = Date.now();
      await server.stop();
      expect(Date.now() - started).toBeLessThan(2000);
      expect(acked).toBe(false);
      const gaveUp = log.entries.find((e) => e.message.startsWith('store unavailable at stop'));
      expect(gaveUp?.fields).toMatchObject({ rooms: 1, updates: 1 });
    },
  );
}

/** Polls an async condition until it holds; rejects after `timeoutMs`. */
async function waitUntilAsync(
  condition: () => Promise<boolean>,
  what: string,
  timeoutMs = 3000,
): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('store on SQLite', () => suite(sqliteBackend));

describePostgres('store on PostgreSQL', () => suite(postgresBackend));
