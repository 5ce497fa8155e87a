import type { Generated } from 'kysely';

/**
 * The tables Roomkit keeps, as Kysely sees them. One definition for SQLite and PostgreSQL; the
 * migrations in `migrations.ts` create them.
 */
export interface Database {
  /** A room's compacted Yjs document: one row per room that has one. */
  documents: {
    room_id: string;
    /** Yjs state update (v1) of the whole document as of the last compaction. */
    snapshot: Uint8Array;
    /** Milliseconds since the epoch. */
    updated_at: number;
  };
  /** Yjs updates appended since the room's last compaction, in arrival order (`id`). */
  document_updates: {
    id: Generated<number>;
    room_id: string;
    data: Uint8Array;
    created_at: number;
  };
}
