import type { Kysely } from 'kysely';
import type { MigrationOutcome } from './migrations.js';
import type { Database } from './schema.js';

export type StoreKind = 'sqlite' | 'postgres';

/** What the store holds for one room's document. */
export interface StoredDocument {
  /** The compacted document, or null if the room was never compacted. */
  snapshot: Uint8Array | null;
  /** Updates appended since the snapshot, oldest first. */
  updates: Uint8Array[];
}

/** One room's part of a write batch. */
export interface DocumentWrite {
  roomId: string;
  /** Updates to append, in order. */
  updates: readonly Uint8Array[];
  /**
   * When set, the room is compacted in the same transaction: this (the writer's whole document,
   * so it contains `updates`) merged with the stored snapshot and appended updates becomes the
   * room's snapshot, and the appended updates it merged are dropped. Merging keeps what other
   * nodes wrote for the room and this document does not have yet.
   */
  snapshot?: Uint8Array;
}

/**
 * Roomkit's durable store. One implementation (`SqlStore`) over Kysely serves SQLite and
 * PostgreSQL with the same queries and migrations; `db` is there for later features' tables.
 */
export interface Store {
  readonly kind: StoreKind;
  readonly db: Kysely<Database>;
  /** Applies pending migrations. `openStore` runs it; `roomkit migrate` runs it alone. */
  migrate(): Promise<MigrationOutcome>;
  loadDocument(roomId: string): Promise<StoredDocument>;
  /** Writes every room's part in one transaction: all of it is durable, or none of it. */
  writeDocuments(writes: readonly DocumentWrite[]): Promise<void>;
  deleteDocument(roomId: string): Promise<void>;
  close(): Promise<void>;
}
