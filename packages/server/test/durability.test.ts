import { existsSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { buildCompiled, runCli, type Served, serveCli } from './cli-process.js';
import { openUrl, waitUntil } from './helpers.js';
import { DocClient, updateFrom } from './storage-helpers.js';
import {
  describePostgres,
  postgresSchema,
  runPostgres,
  scratchDir,
  sqliteFile,
} from './test-databases.js';

/**
 * `kill -9` of the real CLI process: every update it acknowledged is there after a restart, on a
 * SQLite file and on PostgreSQL (a schema of its own). Also `roomkit migrate` and `--db none`.
 */

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

beforeAll(async () => {
  // The CLI runs compiled code: build the server so it is the code under test.
  await buildCompiled('packages/server');
}, 120_000);

/** A scratch directory (the CLI's working directory too), removed after the test. */
const scratch = () => scratchDir('roomkit-durability-');

const postgresDb = async () => (await postgresSchema()).url;

/** Runs the CLI in `cwd` to completion (killed after 10 s) and returns its exit and output. */
function run(argv: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  return runCli(argv, { script: cli, cwd, env, timeoutMs: 10_000, track: true });
}

/** Starts `roomkit serve --port 0` in `cwd` and waits for the JSON log line with its port. */
function serve(cwd: string, args: string[]): Promise<Served> {
  return serveCli(args, { script: cli, cwd, timeoutMs: 10_000 });
}

async function openDoc(server: Served, room: string, userId: string): Promise<DocClient> {
  const client = await openUrl(`ws://127.0.0.1:${server.port}/rooms/${room}?userId=${userId}`);
  const doc = new DocClient(client, room);
  await doc.sync();
  return doc;
}

/** `count` updates, each appending `<i>` to the text of one writer's document, in order. */
function typing(count: number): { updates: Uint8Array[]; textAfter: (n: number) => string } {
  const source = new Y.Doc();
  const updates: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const update = updateFrom(source, (doc) =>
      doc.getText('text').insert(doc.getText('text').length, `<${i}>`),
    );
    Y.applyUpdate(source, update);
    updates.push(update);
  }
  const textAfter = (n: number) => Array.from({ length: n }, (_, i) => `<${i}>`).join('');
  return { updates, textAfter };
}

/**
 * Sends the updates in order, keeping at most `window` unacknowledged (1: each waits for the
 * previous ack), and SIGKILLs the server the moment the `killAt`-th ack arrives (synchronously, in
 * the ack's handler). Resolves with the indexes acknowledged by then.
 */
async function typeAndKill(server: Served, updates: Uint8Array[], window: number, killAt: number) {
  const writer = await openDoc(server, 'killed', 'writer');
  const acked: number[] = [];
  let sent = 0;
  await new Promise<void>((resolve) => {
    const send = () => {
      const i = sent++;
      writer.push(updates[i]!).then(
        () => {
          if (acked.length >= killAt) return;
          acked.push(i);
          if (acked.length === killAt) {
            process.kill(server.child.pid!, 'SIGKILL');
            resolve();
          } else if (sent < updates.length) send();
        },
        () => {},
      );
    };
    while (sent < Math.min(window, updates.length)) send();
  });
  expect(await server.exited).toEqual({ code: null, signal: 'SIGKILL' });
  return acked;
}

function durabilitySuite(database: () => Promise<string>) {
  it('every acknowledged update survives kill -9 right after the last ack', async () => {
    const cwd = scratch();
    const db = await database();
    const { updates, textAfter } = typing(200);
    // Each update waits for the previous ack; a short debounce keeps 200 round trips quick.
    const first = await serve(cwd, ['--db', db, '--flush-debounce', '2']);
    const acked = await typeAndKill(first, updates, 1, updates.length);
    expect(acked).toHaveLength(200);

    const second = await serve(cwd, ['--db', db]);
    const reader = await openDoc(second, 'killed', 'reader');
    expect(reader.text()).toBe(textAfter(200));
  });

  it('killed mid-stream: what was acknowledged is there; the rest is a clean prefix', async () => {
    const cwd = scratch();
    const db = await database();
    const { updates, textAfter } = typing(200);
    // Eight in flight and no debounce: batches are landing all the time when the kill comes.
    const first = await serve(cwd, ['--db', db, '--flush-debounce', '0']);
    const acked = await typeAndKill(first, updates, 8, 100);

    const second = await serve(cwd, ['--db', db]);
    const restored = (await openDoc(second, 'killed', 'reader')).text();
    const lastAcked = Math.max(...acked);
    expect(restored.startsWith(textAfter(lastAcked + 1))).toBe(true);
    // Updates land in order, so what survived is exactly the first n of them.
    const n = restored.match(/<\d+>/g)?.length ?? 0;
    expect(restored).toBe(textAfter(n));
  });
}

describe('kill -9 on SQLite', () => {
  durabilitySuite(async () => sqliteFile('roomkit-durability-'));
});

describePostgres('kill -9 on PostgreSQL', () => durabilitySuite(postgresDb));

describe('roomkit migrate', () => {
  it('applies the migrations, then finds the schema up to date (SQLite)', async () => {
    const cwd = scratch();
    const file = joinPath(cwd, 'nested', 'rooms.db');
    const first = await run(['migrate', '--db', file], cwd);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toBe(`sqlite ${file}: applied 0001_documents, 0002_spaces\n`);
    const second = await run(['migrate', '--db', file], cwd);
    expect(second).toMatchObject({ code: 0, stdout: `sqlite ${file}: schema is up to date\n` });
  });

  it.runIf(runPostgres)(
    'applies the migrations, then finds the schema up to date (PostgreSQL, also via DATABASE_URL)',
    async () => {
      const cwd = scratch();
      const url = await postgresDb();
      const first = await run(['migrate', '--db', url], cwd);
      expect(first).toMatchObject({ code: 0, stderr: '' });
      expect(first.stdout).toMatch(
        /^postgres postgres:\/\/.*: applied 0001_documents, 0002_spaces\n$/,
      );
      const second = await run(['migrate'], cwd, { DATABASE_URL: url });
      expect(second.code).toBe(0);
      expect(second.stdout).toMatch(/: schema is up to date\n$/);
    },
  );

  it('several processes migrating one new SQLite file at once: each migration applied once', async () => {
    const cwd = scratch();
    const file = joinPath(cwd, 'shared.db');
    const results = await Promise.all([1, 2, 3, 4].map(() => run(['migrate', '--db', file], cwd)));
    expect(results.map((result) => result.code)).toEqual([0, 0, 0, 0]);
    const applied = results.filter((result) =>
      result.stdout.includes('applied 0001_documents, 0002_spaces'),
    );
    expect(applied).toHaveLength(1);
  });

  it('--db none has nothing to migrate: exit 2 with the reason', async () => {
    const result = await run(['migrate', '--db', 'none'], scratch());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('migrate needs a store');
  });
});

describe('roomkit serve --db', () => {
  it('none: documents live in memory only, nothing is written, a restart starts empty', async () => {
    const cwd = scratch();
    const first = await serve(cwd, ['--db', 'none']);
    await waitUntil(
      () => first.logs.some((l) => String(l.msg).includes('kept in memory only (--db none)')),
      3000,
      'the log line saying where documents are kept',
    );
    const writer = await openDoc(first, 'mem', 'w');
    writer.doc.getText('text').insert(0, 'ephemeral');
    await writer.settled();
    expect(writer.errors).toEqual([]);
    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(joinPath(cwd, 'data'))).toBe(false);

    const second = await serve(cwd, ['--db', 'none']);
    expect((await openDoc(second, 'mem', 'r')).text()).toBe('');
  });

  it('without --db: a SQLite file under ./data, kept across a restart', async () => {
    const cwd = scratch();
    const first = await serve(cwd, []);
    const writer = await openDoc(first, 'default', 'w');
    writer.doc.getText('text').insert(0, 'on disk');
    await writer.settled();
    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(joinPath(cwd, 'data', 'roomkit.db'))).toBe(true);
    const second = await serve(cwd, []);
    expect((await openDoc(second, 'default', 'r')).text()).toBe('on disk');
  });
});
