import type { Kysely, Transaction } from 'kysely';
import { EMPTY_UPDATE, mergeUpdates } from '../storage/merge-updates.js';
import { type MigrationOutcome, migrateToLatest } from './migrations.js';
import type { Database } from './schema.js';
import type { DocumentWrite, Store, StoredDocument, StoreKind } from './store.js';

/** Rows per INSERT statement (3 parameters each), ids per DELETE: both databases cap parameters. */
const CHUNK = 500;

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
    // In room order: compactions lock their room's row, and two nodes' transactions taking the
    // same rooms' locks in different orders would deadlock.
    const ordered = [...writes].sort((x, y) =>
      x.roomId < y.roomId ? -1 : x.roomId > y.roomId ? 1 : 0,
    );
    await this.db.transaction().execute(async (trx) => {
      for (const write of ordered) {
        if (write.snapshot !== undefined) await compact(trx, write.roomId, write.snapshot, now);
        else await appendUpdates(trx, write.roomId, write.updates, now);
      }
    });
  }

  async deleteDocument(roomId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      // The snapshot's row first, in the order a compaction locks rows: the two cannot deadlock.
      await trx.deleteFrom('documents').where('room_id', '=', roomId).execute();
      await trx.deleteFrom('document_updates').where('room_id', '=', roomId).execute();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.destroy();
  }
}

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

async function appendUpdates(
  trx: Transaction<Database>,
  roomId: string,
  updates: readonly Uint8Array[],
  now: number,
): Promise<void> {
  for (const chunk of chunks(updates)) {
    await trx
      .insertInto('document_updates')
      .values(chunk.map((data) => ({ room_id: roomId, data, created_at: now })))
      .execute();
  }
}

/**
 * Replaces the room's snapshot and appended updates with one snapshot. Several nodes may write
 * the same room: another node's update may be in the store but not yet in `snapshot` (its
 * delivery to this node still on the way), and another node's compaction may have folded into
 * the stored snapshot updates this node lacks. So the new snapshot is `snapshot` merged with
 * the stored one and with every update read, and only the updates read are deleted: one
 * appended meanwhile stays for the next compaction.
 */
async function compact(
  trx: Transaction<Database>,
  roomId: string,
  snapshot: Uint8Array,
  now: number,
): Promise<void> {
  // A write first, so compactions of one room run one after another: it locks the room's row
  // (PostgreSQL; created empty if there is none) or the database (SQLite) until commit, and the
  // reads below see what the compaction before committed.
  await trx
    .insertInto('documents')
    .values({ room_id: roomId, snapshot: EMPTY_UPDATE, updated_at: now })
    .onConflict((conflict) => conflict.column('room_id').doUpdateSet({ updated_at: now }))
    .execute();
  const stored = await trx
    .selectFrom('documents')
    .select('snapshot')
    .where('room_id', '=', roomId)
    .executeTakeFirstOrThrow();
  const appended = await trx
    .selectFrom('document_updates')
    .select(['id', 'data'])
    .where('room_id', '=', roomId)
    .orderBy('id')
    .execute();
  const merged = mergeUpdates([
    snapshot,
    bytes(stored.snapshot),
    ...appended.map((row) => bytes(row.data)),
  ]);
  await trx
    .updateTable('documents')
    .set({ snapshot: merged, updated_at: now })
    .where('room_id', '=', roomId)
    .execute();
  // By id, not "up to the last id read": a PostgreSQL sequence hands out ids before commit, so an
  // update committed after the read may have a smaller id than the last one read.
  for (const ids of chunks(appended.map((row) => row.id))) {
    await trx.deleteFrom('document_updates').where('id', 'in', ids).execute();
  }
}
