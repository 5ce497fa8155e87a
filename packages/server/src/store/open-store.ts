import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';
import { SqlStore } from './sql-store.js';
import type { Store } from './store.js';

export interface OpenStoreOptions {
  /** Run migrations before returning (default true). */
  migrate?: boolean;
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
}

/** True for `postgres://` and `postgresql://` URLs; anything else names a SQLite file. */
export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//i.test(target);
}

/**
 * Opens the built-in store: PostgreSQL for a `postgres://` URL, otherwise SQLite at the given
 * file path (its directory is created) or `:memory:`. Migrations run unless told not to.
 */
export async function openStore(target: string, options: OpenStoreOptions = {}): Promise<Store> {
  const store = isPostgresUrl(target)
    ? openPostgres(target, options.poolSize ?? 10)
    : openSqlite(target);
  if (options.migrate !== false) {
    try {
      await store.migrate();
    } catch (error) {
      await store.close();
      throw error;
    }
  }
  return store;
}

function openSqlite(file: string): Store {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const database = new BetterSqlite3(file);
  // WAL lets readers run beside the writer; FULL syncs each commit, so an acknowledged update
  // survives a power cut too, not only a killed process. Writes are batched, so it is cheap.
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  // better-sqlite3 waits synchronously: a lock held by another process must not freeze the
  // event loop for long. A write that times out fails and is retried with backoff.
  database.pragma('busy_timeout = 1000');
  database.pragma('foreign_keys = ON');
  return new SqlStore('sqlite', new Kysely<Database>({ dialect: new SqliteDialect({ database }) }));
}

function openPostgres(url: string, poolSize: number): Store {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  return new SqlStore('postgres', new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }));
}
