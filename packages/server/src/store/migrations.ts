import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
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
  };
}

export interface MigrationOutcome {
  /** Names of the migrations this run applied (empty when the schema was current). */
  applied: string[];
}

/** Brings the schema up to date. Safe to run concurrently from several processes on PostgreSQL. */
export async function migrateToLatest(
  db: Kysely<unknown>,
  kind: StoreKind,
): Promise<MigrationOutcome> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(kind) };
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'roomkit_migrations',
    migrationLockTableName: 'roomkit_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((result) => result.status === 'Error')?.migrationName;
    throw new Error(
      `database migration ${failed ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  return {
    applied: (results ?? [])
      .filter((result) => result.status === 'Success')
      .map((result) => result.migrationName),
  };
}
