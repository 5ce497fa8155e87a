import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { openUrl, waitUntil } from './helpers.js';
import { DocClient, updateFrom } from './storage-helpers.js';

/**
 * `kill -9` of the real CLI process: every update it acknowledged is there after a restart, on a
 * SQLite file and on PostgreSQL (a schema of its own). Also `roomkit migrate` and `--db none`.
 */

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const postgresUrl = process.env.TEST_DATABASE_URL;
const runPostgres = postgresUrl !== undefined || process.env.CI === 'true';

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Served {
  child: ChildProcess;
  port: number;
  logs: Array<Record<string, unknown>>;
  exited: Promise<Exit>;
}

const children = new Set<ChildProcess>();
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  const exits = [...children].map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  );
  await Promise.all(exits);
  children.clear();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

beforeAll(async () => {
  // The CLI runs compiled code: build the server so it is the code under test.
  await promisify(execFile)(process.execPath, [tsc, '-b', 'packages/server'], { cwd: root });
}, 120_000);

/** A scratch directory (the CLI's working directory too), removed after the test. */
function scratch(): string {
  const dir = mkdtempSync(joinPath(tmpdir(), 'roomkit-durability-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function postgresDb(): Promise<string> {
  if (postgresUrl === undefined) throw new Error('CI=true: TEST_DATABASE_URL must be set');
  const schema = `roomkit_test_${randomUUID().replaceAll('-', '')}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  cleanups.push(async () => {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  });
  const separator = postgresUrl.includes('?') ? '&' : '?';
  return `${postgresUrl}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

/** The environment without the test machine's Roomkit or database settings. */
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('ROOMKIT_') && key !== 'PORT' && key !== 'DATABASE_URL') env[key] = value;
  }
  return { ...env, ...extra };
}

function launch(argv: string[], cwd: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [cli, ...argv], {
    cwd,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, exited };
}

/** Runs the CLI to completion (killed after 10 s) and returns its exit and output. */
async function run(argv: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const { child, exited } = launch(argv, cwd, env);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const exit = await exited;
  clearTimeout(timer);
  return { ...exit, stdout, stderr };
}

/** Starts `roomkit serve --port 0` and waits for the JSON log line that carries its port. */
async function serve(cwd: string, args: string[]): Promise<Served> {
  const argv = ['serve', '--port', '0', '--host', '127.0.0.1', '--log-level', 'info', ...args];
  const { child, exited } = launch(argv, cwd, {});
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no port log line; stderr: ${stderr}`)),
      10_000,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        logs.push(parsed);
        if (typeof parsed.port === 'number') {
          clearTimeout(timer);
          resolve(parsed.port);
        }
      } catch {
        // not a log line
      }
    });
    void exited.then((exit) => {
      clearTimeout(timer);
      reject(new Error(`roomkit exited early (${JSON.stringify(exit)}); stderr: ${stderr}`));
    });
  });
  return { child, port, logs, exited };
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
  durabilitySuite(async () => joinPath(scratch(), 'rooms.db'));
});

describe.skipIf(!runPostgres)(
  runPostgres
    ? 'kill -9 on PostgreSQL'
    : 'kill -9 on PostgreSQL (skipped: TEST_DATABASE_URL is not set)',
  () => durabilitySuite(postgresDb),
);

describe('roomkit migrate', () => {
  it('applies the migrations, then finds the schema up to date (SQLite)', async () => {
    const cwd = scratch();
    const file = joinPath(cwd, 'nested', 'rooms.db');
    const first = await run(['migrate', '--db', file], cwd);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toBe(`sqlite ${file}: applied 0001_documents\n`);
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
      expect(first.stdout).toMatch(/^postgres postgres:\/\/.*: applied 0001_documents\n$/);
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
    const applied = results.filter((result) => result.stdout.includes('applied 0001_documents'));
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
