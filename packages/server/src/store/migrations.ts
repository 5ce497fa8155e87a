import { type Kysely, type Migration, sql } from 'kysely';
import { createSpacesTables, dropSpacesTables } from '../spaces/migration.js';
import type { StoreKind } from './store.js';

/**
 * The schema's history, shared by SQLite and PostgreSQL. Migrations are append-only: a released
 * one is never edited; a change is a new entry. Where the two databases differ (auto-increment,
 * binary columns) the migration asks which one it runs on.
 */
function migrations(kind: StoreKind): Record<string, Migration> {
  const binary = kind === 'postgres' ? 'bytea' : 'blob';
  return {
    '0001_documents': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('documents')
          .ifNotExists()
          .addColumn('room_id', 'text', (col) => col.primaryKey())
          .addColumn('snapshot', binary, (col) => col.notNull())
          .addColumn('updated_at', 'bigint', (col) => col.notNull())
          .execute();
        let updates = db.schema.createTable('document_updates').ifNotExists();
        updates =
          kind === 'postgres'
            ? updates.addColumn('id', 'bigserial', (col) => col.primaryKey())
            : updates.addColumn('id', 'integer', (col) => col.primaryKey().autoIncrement());
        await updates
          .addColumn('room_id', 'text', (col) => col.notNull())
          .addColumn('data', binary, (col) => col.notNull())
          .addColumn('created_at', 'bigint', (col) => col.notNull())
          .execute();
        await db.schema
          .createIndex('document_updates_room_id')
          .ifNotExists()
          .on('document_updates')
          .columns(['room_id', 'id'])
          .execute();
      },
      async down(db: Kysely<unknown>) {
        await db.schema.dropTable('document_updates').ifExists().execute();
        await db.schema.dropTable('documents').ifExists().execute();
      },
    },
    '0002_spaces': {
      up: (db: Kysely<unknown>) => createSpacesTables(db, kind),
      down: dropSpacesTables,
    },
  };
}

export interface MigrationOutcome {
  /** Names of the migrations this run applied (empty when the schema was current). */
  applied: string[];
}

/** The history table: one row per applied migration (the layout Kysely's `Migrator` used). */
interface MigrationHistory {
  roomkit_migrations: { name: string; timestamp: string };
}

/**
 * Brings the schema up to date, in one transaction: the migrations not yet in
 * `roomkit_migrations`, in name order. Safe to run concurrently from several processes on
 * PostgreSQL (an advisory lock per schema serializes them) and on one SQLite file (`BEGIN IMMEDIATE`).
 *
 * Not Kysely's `Migrator`: it looks for its history table by reading the columns of every table
 * in every schema of the database. That takes a `roomkit_migrations` of another schema for ours
 * (so a second Roomkit schema in one database never got its own tables and failed), and fails
 * outright when any schema of the database is dropped meanwhile.
 */
export async function migrateToLatest(
  db: Kysely<unknown>,
  kind: StoreKind,
): Promise<MigrationOutcome> {
  const all = migrations(kind);
  /** The migration being applied, for the error message. */
  const progress = { name: '' };
  const run = async (trx: Kysely<MigrationHistory>): Promise<MigrationOutcome> => {
    await trx.schema
      .createTable('roomkit_migrations')
      .ifNotExists()
      .addColumn('name', 'varchar(255)', (col) => col.notNull().primaryKey())
      .addColumn('timestamp', 'varchar(255)', (col) => col.notNull())
      .execute();
    const rows = await trx.selectFrom('roomkit_migrations').select('name').execute();
    const done = new Set(rows.map((row) => row.name));
    const unknown = [...done].filter((name) => !(name in all));
    if (unknown.length > 0) {
      throw new Error(
        `the database has migrations this version does not know (${unknown.join(', ')}); is a newer Roomkit using it?`,
      );
    }
    const applied: string[] = [];
    for (const name of Object.keys(all).sort()) {
      if (done.has(name)) continue;
      progress.name = name;
      await all[name]!.up(trx);
      await trx
        .insertInto('roomkit_migrations')
        .values({ name, timestamp: new Date().toISOString() })
        .execute();
      applied.push(name);
    }
    return { applied };
  };
  const history = db as Kysely<MigrationHistory>;
  try {
    if (kind === 'sqlite') {
      // BEGIN IMMEDIATE takes the write lock before reading the history, so a second process
      // migrating the same new file waits (busy timeout) and then finds the work done.
      return await history.connection().execute(async (connection) => {
        await sql`begin immediate`.execute(connection);
        try {
          const outcome = await run(connection);
          await sql`commit`.execute(connection);
          return outcome;
        } catch (error) {
          await sql`rollback`.execute(connection);
          throw error;
        }
      });
    }
    return await history.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext(coalesce(current_schema(), '') || '.roomkit_migrations'))`.execute(
        trx,
      );
      return run(trx);
    });
  } catch (error) {
    const what =
      progress.name === '' ? 'database migration' : `database migration ${progress.name}`;
    throw new Error(`${what} failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}
