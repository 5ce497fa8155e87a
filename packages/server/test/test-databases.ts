import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import pg from 'pg';
import { afterEach, describe } from 'vitest';

/**
 * Throwaway databases and directories for tests: a scratch directory, a SQLite file in one, a
 * PostgreSQL schema of the TEST_DATABASE_URL database. Each is removed after the test.
 */

/** The PostgreSQL database the tests may use; each test works in a schema of its own. */
export const postgresUrl = process.env.TEST_DATABASE_URL;
/** PostgreSQL tests run when TEST_DATABASE_URL is set; with CI=true they run (and fail) without. */
export const runPostgres = postgresUrl !== undefined || process.env.CI === 'true';

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Runs `cleanup` after the current test, the last registered first: whatever was set up on a
 * scratch directory or schema (a store, a server, a process) goes before the directory or schema.
 */
export function afterThisTest(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup);
}

/** A new empty directory under the system's temp directory, removed after the test. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(joinPath(tmpdir(), prefix));
  afterThisTest(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The path of a SQLite file (not created yet) in a new scratch directory. */
export function sqliteFile(prefix: string): string {
  return joinPath(scratchDir(prefix), 'rooms.db');
}

export interface PostgresSchema {
  /** `roomkit_test_<uuid without dashes>`. */
  name: string;
  /** TEST_DATABASE_URL with `options=-c search_path=<name>`: connections work in the schema. */
  url: string;
  /** A connection to the database (default search path), open until the schema is dropped. */
  admin: pg.Client;
  /** Drops the schema and closes `admin` (once; it happens after the test anyway). */
  drop(): Promise<void>;
}

/** Creates a new schema in the TEST_DATABASE_URL database; dropped (CASCADE) after the test. */
export async function postgresSchema(): Promise<PostgresSchema> {
  if (postgresUrl === undefined) throw new Error('CI=true: TEST_DATABASE_URL must be set');
  const name = `roomkit_test_${randomUUID().replaceAll('-', '')}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${name}`);
  let dropped: Promise<void> | undefined;
  const drop = (): Promise<void> => {
    dropped ??= (async () => {
      await admin.query(`DROP SCHEMA ${name} CASCADE`);
      await admin.end();
    })();
    return dropped;
  };
  afterThisTest(drop);
  const separator = postgresUrl.includes('?') ? '&' : '?';
  const url = `${postgresUrl}${separator}options=${encodeURIComponent(`-c search_path=${name}`)}`;
  return { name, url, admin, drop };
}

/**
 * A describe block that needs PostgreSQL: skipped (and its name says why) unless `runPostgres`.
 */
export function describePostgres(name: string, body: () => void): void {
  describe.skipIf(!runPostgres)(
    runPostgres ? name : `${name} (skipped: TEST_DATABASE_URL is not set)`,
    body,
  );
}
