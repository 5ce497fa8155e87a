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
  /** Spaces: persistent rooms with a join code and a host (`spaces/`). */
  rooms: {
    id: string;
    /** Six characters of `ROOM_CODE_ALPHABET`; unique. */
    room_code: string;
    host_user_id: string;
    name: string;
    /** 1 to 50. */
    max_participants: number;
    /** 0 or 1. */
    is_active: number;
    current_mode: string;
    /** A JSON object. */
    state: string;
    /** Milliseconds since the epoch (PostgreSQL hands `bigint` back as a string). */
    created_at: number;
    last_activity: number;
  };
  /** One row per (room, user) who joined and did not leave; a banned user's row stays. */
  room_participants: {
    id: string;
    room_id: string;
    user_id: string;
    display_name: string;
    /** 0 or 1. */
    is_online: number;
    /** 0 or 1; a banned row is no participant and holds no seat. */
    banned: number;
    joined_at: number;
    last_seen: number;
  };
  room_messages: {
    id: Generated<number>;
    room_id: string;
    /** Null for messages the server writes. */
    user_id: string | null;
    message_type: 'user_text' | 'user_voice' | 'ai_response' | 'system';
    content: string;
    /** A JSON object. */
    metadata: string;
    created_at: number;
  };
}
