import type { Kysely } from 'kysely';
import { type MigrationOutcome, migrateToLatest } from './migrations.js';
import type { Database } from './schema.js';
import type { DocumentWrite, Store, StoredDocument, StoreKind } from './store.js';

/** Rows per INSERT statement (3 parameters each). */
const INSERT_CHUNK = 500;

/** Drivers return Buffers (a Uint8Array subclass); hand out plain views of the same bytes. */
function bytes(value: Uint8Array): Uint8Array {
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** The `Store` over Kysely: every query is built once here and runs on either database. */
export class SqlStore implements Store {
  private closed = false;

  constructor(
    readonly kind: StoreKind,
    readonly db: Kysely<Database>,
  ) {}

  migrate(): Promise<MigrationOutcome> {
    return migrateToLatest(this.db as unknown as Kysely<unknown>, this.kind);
  }

  async loadDocument(roomId: string): Promise<StoredDocument> {
    // One snapshot of the database for both reads: a compaction committing in between would
    // otherwise drop the tail between the two.
    const { snapshot, updates } = await this.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (trx) => ({
        snapshot: await trx
          .selectFrom('documents')
          .select('snapshot')
          .where('room_id', '=', roomId)
          .executeTakeFirst(),
        updates: await trx
          .selectFrom('document_updates')
          .select('data')
          .where('room_id', '=', roomId)
          .orderBy('id')
          .execute(),
      }));
    return {
      snapshot: snapshot ? bytes(snapshot.snapshot) : null,
      updates: updates.map((row) => bytes(row.data)),
    };
  }

  async writeDocuments(writes: readonly DocumentWrite[]): Promise<void> {
    if (writes.length === 0) return;
    const now = Date.now();
    await this.db.transaction().execute(async (trx) => {
      for (const write of writes) {
        if (write.snapshot !== undefined) {
          await trx
            .insertInto('documents')
            .values({ room_id: write.roomId, snapshot: write.snapshot, updated_at: now })
            .onConflict((conflict) =>
              conflict
                .column('room_id')
                .doUpdateSet({ snapshot: write.snapshot as Uint8Array, updated_at: now }),
            )
            .execute();
          await trx.deleteFrom('document_updates').where('room_id', '=', write.roomId).execute();
        } else {
          // Chunked: both databases cap the parameters of one statement.
          for (let i = 0; i < write.updates.length; i += INSERT_CHUNK) {
            await trx
              .insertInto('document_updates')
              .values(
                write.updates
                  .slice(i, i + INSERT_CHUNK)
                  .map((data) => ({ room_id: write.roomId, data, created_at: now })),
              )
              .execute();
          }
        }
      }
    });
  }

  async deleteDocument(roomId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('document_updates').where('room_id', '=', roomId).execute();
      await trx.deleteFrom('documents').where('room_id', '=', roomId).execute();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.destroy();
  }
}
