import { type Kysely, sql } from 'kysely';
import type { StoreKind } from '../store/store.js';

/**
 * Migration `0002_spaces`: the Spaces tables. Released, so append-only like every migration in
 * `store/migrations.ts`: never edit this; change the schema with a new migration.
 *
 * Portable across SQLite and PostgreSQL: times are milliseconds since the epoch in `bigint`
 * columns (as the documents tables keep them), flags are `integer` 0/1 with a CHECK (SQLite has
 * no boolean and better-sqlite3 cannot bind one), JSON (room state, message metadata) is `text`.
 */
export async function createSpacesTables(db: Kysely<unknown>, kind: StoreKind): Promise<void> {
  const flag = (name: string) => sql`${sql.ref(name)} in (0, 1)`;
  await db.schema
    .createTable('rooms')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('room_code', 'text', (col) => col.notNull())
    .addColumn('host_user_id', 'text', (col) => col.notNull())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('max_participants', 'integer', (col) => col.notNull().defaultTo(10))
    .addColumn('is_active', 'integer', (col) => col.notNull().defaultTo(1))
    .addColumn('current_mode', 'text', (col) => col.notNull())
    .addColumn('state', 'text', (col) => col.notNull().defaultTo('{}'))
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addColumn('last_activity', 'bigint', (col) => col.notNull())
    .addUniqueConstraint('rooms_room_code_key', ['room_code'])
    .addCheckConstraint(
      'rooms_max_participants_check',
      sql`max_participants >= 1 and max_participants <= 50`,
    )
    .addCheckConstraint('rooms_is_active_check', flag('is_active'))
    .execute();
  for (const column of ['host_user_id', 'is_active', 'last_activity']) {
    await db.schema.createIndex(`rooms_${column}_idx`).on('rooms').column(column).execute();
  }

  await db.schema
    .createTable('room_participants')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('room_id', 'text', (col) => col.notNull().references('rooms.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (col) => col.notNull())
    .addColumn('display_name', 'text', (col) => col.notNull())
    .addColumn('is_online', 'integer', (col) => col.notNull().defaultTo(1))
    .addColumn('banned', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('joined_at', 'bigint', (col) => col.notNull())
    .addColumn('last_seen', 'bigint', (col) => col.notNull())
    .addUniqueConstraint('room_participants_room_user_key', ['room_id', 'user_id'])
    .addCheckConstraint('room_participants_is_online_check', flag('is_online'))
    .addCheckConstraint('room_participants_banned_check', flag('banned'))
    .execute();
  // (room_id, user_id) is indexed by its unique constraint, which also serves room_id alone.
  for (const column of ['user_id', 'is_online']) {
    await db.schema
      .createIndex(`room_participants_${column}_idx`)
      .on('room_participants')
      .column(column)
      .execute();
  }

  let messages = db.schema.createTable('room_messages');
  messages =
    kind === 'postgres'
      ? messages.addColumn('id', 'bigserial', (col) => col.primaryKey())
      : messages.addColumn('id', 'integer', (col) => col.primaryKey().autoIncrement());
  await messages
    .addColumn('room_id', 'text', (col) => col.notNull().references('rooms.id').onDelete('cascade'))
    // Null for messages the server writes (`system`, `ai_response`).
    .addColumn('user_id', 'text')
    .addColumn('message_type', 'text', (col) => col.notNull())
    .addColumn('content', 'text', (col) => col.notNull())
    .addColumn('metadata', 'text', (col) => col.notNull().defaultTo('{}'))
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addCheckConstraint(
      'room_messages_message_type_check',
      sql`message_type in ('user_text', 'user_voice', 'ai_response', 'system')`,
    )
    .execute();
  // History pages walk (room_id, id) backwards; the others serve the lookups by code, owner and participant.
  await db.schema
    .createIndex('room_messages_room_id_idx')
    .on('room_messages')
    .columns(['room_id', 'id'])
    .execute();
  for (const column of ['created_at', 'message_type']) {
    await db.schema
      .createIndex(`room_messages_${column}_idx`)
      .on('room_messages')
      .column(column)
      .execute();
  }
}

export async function dropSpacesTables(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('room_messages').ifExists().execute();
  await db.schema.dropTable('room_participants').ifExists().execute();
  await db.schema.dropTable('rooms').ifExists().execute();
}
