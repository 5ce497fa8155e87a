import { randomUUID } from 'node:crypto';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { SpacesError } from './errors.js';
import {
  checkId,
  checkJsonObject,
  checkMaxParticipants,
  checkMessageType,
  checkText,
  checkUserId,
  type MessagePage,
  type MessageType,
  type ParticipantRow,
  type RoomRow,
  type SpaceMessage,
  type SpaceParticipant,
  type SpaceRoom,
  type SpaceRoomSummary,
  toMessage,
  toParticipant,
  toRoom,
} from './model.js';
import { generateRoomCode, normalizeRoomCode } from './room-codes.js';

export interface SpacesServiceOptions {
  /** Active rooms one user may host at once (default 5). */
  maxActiveRoomsPerUser?: number;
  /** `maxParticipants` of a room created without one (default 10). */
  defaultMaxParticipants?: number;
  /** `currentMode` of a new room (default 'default'). */
  defaultMode?: string;
  /** Clock, milliseconds since the epoch (tests). */
  now?: () => number;
  /** Room code source (tests); default: `generateRoomCode`, cryptographic. */
  generateCode?: () => string;
}

export interface CleanupOptions {
  /** How often to run (default hourly). */
  intervalMs?: number;
  /** Rooms without activity for this long are deleted (default 24 h). */
  inactiveAfterMs?: number;
  /** Called with a failed run's error; the timer keeps going. */
  onError?: (error: unknown) => void;
}

export const DEFAULT_INACTIVE_AFTER_MS = 24 * 60 * 60 * 1000;
const CODE_ATTEMPTS = 10;
const MAX_NAME = 100;
const MAX_DISPLAY_NAME = 64;
const MAX_CONTENT = 4000;
const MAX_METADATA_BYTES = 8 * 1024;
const MAX_STATE_BYTES = 16 * 1024;
const MAX_PAGE = 100;
const USER_TYPES: readonly MessageType[] = ['user_text', 'user_voice'];
const SERVER_TYPES: readonly MessageType[] = ['system', 'ai_response'];

type Db = Kysely<Database> | Transaction<Database>;

/** A unique violation on `rooms.room_code`, as SQLite or PostgreSQL reports it. */
function isCodeCollision(error: unknown): boolean {
  const e = error as { code?: unknown; constraint?: unknown; message?: unknown };
  if (e.code === '23505') return e.constraint === 'rooms_room_code_key';
  return (
    typeof e.code === 'string' &&
    e.code.startsWith('SQLITE_CONSTRAINT') &&
    String(e.message).includes('rooms.room_code')
  );
}

/**
 * The Spaces rooms (the spec's `RoomManager`) over the store's tables, on SQLite or PostgreSQL.
 * Every method takes the acting user and enforces the spec's row-level security rules: only the
 * host and participants see a room, its participants and its messages (anyone signed in may look
 * a room up by code); only participants post; only the host changes state, kicks or deletes.
 *
 * Capacity and the per-user room limit are checked in the same statement as the insert (one
 * statement is atomic on SQLite, whose writers are serialized; on PostgreSQL the statement runs
 * in a transaction that first locks the room row / the host's advisory lock).
 */
export class SpacesService {
  private readonly db: Kysely<Database>;
  private readonly postgres: boolean;
  private readonly maxActiveRooms: number;
  private readonly defaultMax: number;
  private readonly defaultMode: string;
  private readonly now: () => number;
  private readonly generateCode: () => string;

  constructor(store: Pick<Store, 'db' | 'kind'>, options: SpacesServiceOptions = {}) {
    this.db = store.db;
    this.postgres = store.kind === 'postgres';
    this.maxActiveRooms = options.maxActiveRoomsPerUser ?? 5;
    this.defaultMax = checkMaxParticipants(options.defaultMaxParticipants ?? 10);
    this.defaultMode = options.defaultMode ?? 'default';
    this.now = options.now ?? Date.now;
    this.generateCode = options.generateCode ?? generateRoomCode;
  }

  /** Creates a room hosted by `userId` (who still joins it like anyone else). */
  async createRoom(
    userId: string,
    name: string,
    maxParticipants: number = this.defaultMax,
  ): Promise<SpaceRoom> {
    const host = checkUserId(userId);
    const roomName = checkText(name, 'name', MAX_NAME);
    const max = checkMaxParticipants(maxParticipants);
    for (let attempt = 1; ; attempt++) {
      const id = randomUUID();
      const now = this.now();
      const insert = (db: Db) =>
        sql`insert into rooms (id, room_code, host_user_id, name, max_participants, is_active,
              current_mode, state, created_at, last_activity)
            select ${id}, ${this.generateCode()}, ${host}, ${roomName}, cast(${max} as integer), 1,
              ${this.defaultMode}, '{}', cast(${now} as bigint), cast(${now} as bigint)
            where (select count(*) from rooms where host_user_id = ${host} and is_active = 1)
              < cast(${this.maxActiveRooms} as integer)`.execute(db);
      try {
        const result = this.postgres
          ? await this.db.transaction().execute(async (trx) => {
              await sql`select pg_advisory_xact_lock(hashtext(${`roomkit.spaces.host:${host}`}))`.execute(
                trx,
              );
              return insert(trx);
            })
          : await insert(this.db);
        if (Number(result.numAffectedRows ?? 0) === 0) {
          throw new SpacesError(
            'room_limit',
            `a user may host at most ${this.maxActiveRooms} active rooms`,
          );
        }
        return toRoom(await this.roomRow(id));
      } catch (error) {
        if (!isCodeCollision(error) || attempt >= CODE_ATTEMPTS) throw error;
      }
    }
  }

  /** Any signed-in user: a code is the capability to join. Without the participant list. */
  async getRoomByCode(userId: string, roomCode: string): Promise<SpaceRoomSummary> {
    checkUserId(userId);
    const code = normalizeRoomCode(roomCode);
    if (code === null) throw new SpacesError('invalid_input', 'not a room code');
    const row = await this.db
      .selectFrom('rooms')
      .selectAll()
      .where('room_code', '=', code)
      .executeTakeFirst();
    if (!row) throw new SpacesError('not_found', 'no room has this code');
    return this.summary(row);
  }

  /** The host and participants only. */
  async getRoomById(userId: string, roomId: string): Promise<SpaceRoomSummary> {
    const { room } = await this.requireViewer(userId, roomId);
    return this.summary(room);
  }

  /**
   * Takes a seat, or comes back online on the seat the user already has. Fails with `room_full`
   * when every seat is taken (racing joins for the last seat: exactly one wins) and `banned` for
   * a user the host banned.
   */
  async joinRoom(userId: string, roomId: string, displayName: string): Promise<SpaceParticipant> {
    const user = checkUserId(userId);
    const room = checkId(roomId, 'roomId');
    const name = checkText(displayName, 'displayName', MAX_DISPLAY_NAME);
    const rejoined = await this.rejoin(user, room, name);
    if (rejoined) return rejoined;
    const exists = await this.db
      .selectFrom('rooms')
      .select('id')
      .where('id', '=', room)
      .where('is_active', '=', 1)
      .executeTakeFirst();
    if (!exists) throw new SpacesError('not_found', 'room not found');
    const now = this.now();
    const insert = (db: Db) =>
      sql`insert into room_participants (id, room_id, user_id, display_name, is_online, banned,
            joined_at, last_seen)
          select ${randomUUID()}, r.id, ${user}, ${name}, 1, 0, cast(${now} as bigint),
            cast(${now} as bigint)
          from rooms r
          where r.id = ${room} and r.is_active = 1
            and (select count(*) from room_participants p where p.room_id = r.id and p.banned = 0)
              < r.max_participants
          on conflict (room_id, user_id) do nothing`.execute(db);
    // One statement is atomic on SQLite (it takes the write lock before it counts); outside a
    // transaction it holds no lock across an await, which a second connection would wait on.
    const result = this.postgres ? await this.withRoomLock(room, insert) : await insert(this.db);
    if (Number(result.numAffectedRows ?? 0) === 1) {
      await this.touchRoom(room, now);
      return toParticipant(await this.participantRow(room, user));
    }
    // Nothing inserted: the seat went to someone else, or this user's row appeared meanwhile.
    const raced = await this.rejoin(user, room, name);
    if (raced) return raced;
    throw new SpacesError('room_full', 'the room is full');
  }

  /** Gives up the user's seat. False when the user had none. */
  async leaveRoom(userId: string, roomId: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('room_participants')
      .where('room_id', '=', checkId(roomId, 'roomId'))
      .where('user_id', '=', checkUserId(userId))
      .where('banned', '=', 0)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** The host and participants only; oldest seat first. */
  async getParticipants(userId: string, roomId: string): Promise<SpaceParticipant[]> {
    await this.requireViewer(userId, roomId);
    return this.participantsOf(roomId);
  }

  /**
   * The host only. `state` is merged into the room's state (a key set to null is removed).
   */
  async updateRoomState(
    userId: string,
    roomId: string,
    updates: { currentMode?: string; state?: Record<string, unknown> },
  ): Promise<SpaceRoom> {
    await this.requireHost(userId, roomId);
    const mode =
      updates.currentMode === undefined
        ? undefined
        : checkText(updates.currentMode, 'currentMode', MAX_NAME);
    const patch =
      updates.state === undefined
        ? undefined
        : (JSON.parse(checkJsonObject(updates.state, 'state', MAX_STATE_BYTES)) as Record<
            string,
            unknown
          >);
    if (mode === undefined && patch === undefined) {
      throw new SpacesError('invalid_input', 'nothing to update');
    }
    const now = this.now();
    await this.withRoomLock(roomId, async (db) => {
      const row = await db
        .selectFrom('rooms')
        .select('state')
        .where('id', '=', roomId)
        .executeTakeFirstOrThrow();
      const state = JSON.parse(row.state) as Record<string, unknown>;
      for (const [key, value] of Object.entries(patch ?? {})) {
        if (value === null) delete state[key];
        else state[key] = value;
      }
      const json = checkJsonObject(state, 'state', MAX_STATE_BYTES);
      await db
        .updateTable('rooms')
        .set({
          state: json,
          last_activity: now,
          ...(mode === undefined ? {} : { current_mode: mode }),
        })
        .where('id', '=', roomId)
        .execute();
    });
    return toRoom(await this.roomRow(roomId));
  }

  /** A participant's `user_text` or `user_voice` message; updates the room's `last_activity`. */
  async insertMessage(
    userId: string,
    roomId: string,
    messageType: MessageType,
    content: string,
    metadata: Record<string, unknown> = {},
  ): Promise<SpaceMessage> {
    const user = checkUserId(userId);
    const room = checkId(roomId, 'roomId');
    if (SERVER_TYPES.includes(messageType)) {
      throw new SpacesError('forbidden', `only the server writes ${messageType} messages`);
    }
    const type = checkMessageType(messageType, USER_TYPES);
    const message = await this.writeMessage(room, user, type, content, metadata);
    if (message) return message;
    await this.requireRoom(room);
    throw new SpacesError('forbidden', 'only participants post in a room');
  }

  /** A message from the server itself (`system`, `ai_response`): no acting user, no checks. */
  async insertServerMessage(
    roomId: string,
    messageType: 'system' | 'ai_response',
    content: string,
    metadata: Record<string, unknown> = {},
  ): Promise<SpaceMessage> {
    const type = checkMessageType(messageType, SERVER_TYPES);
    const message = await this.writeMessage(
      checkId(roomId, 'roomId'),
      null,
      type,
      content,
      metadata,
    );
    if (!message) throw new SpacesError('not_found', 'room not found');
    return message;
  }

  /**
   * The host and participants only. The newest `limit` (default 50, at most 100) messages older
   * than message id `before` (default: the newest), oldest first.
   */
  async getRoomMessages(
    userId: string,
    roomId: string,
    options: { limit?: number; before?: number } = {},
  ): Promise<MessagePage> {
    const limit = options.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      throw new SpacesError('invalid_input', `limit must be an integer from 1 to ${MAX_PAGE}`);
    }
    const { before } = options;
    if (before !== undefined && (!Number.isSafeInteger(before) || before < 1)) {
      throw new SpacesError('invalid_input', 'before must be a message id');
    }
    await this.requireViewer(userId, roomId);
    let query = this.db.selectFrom('room_messages').selectAll().where('room_id', '=', roomId);
    if (before !== undefined) query = query.where('id', '<', before);
    const rows = await query
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    const messages = rows.slice(0, limit).reverse().map(toMessage);
    return {
      messages,
      nextBefore: rows.length > limit && messages.length > 0 ? messages[0]!.id : null,
    };
  }

  /** The host only; participants and messages go with the room. */
  async deleteRoom(userId: string, roomId: string): Promise<void> {
    await this.requireHost(userId, roomId);
    await this.db.deleteFrom('rooms').where('id', '=', roomId).execute();
  }

  async isHost(roomId: string, userId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('rooms')
      .select('id')
      .where('id', '=', roomId)
      .where('host_user_id', '=', userId)
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Deletes rooms marked inactive and rooms without activity for `olderThanMs` (default 24 h).
   * Returns how many went.
   */
  async cleanupInactiveRooms(olderThanMs: number = DEFAULT_INACTIVE_AFTER_MS): Promise<number> {
    const cutoff = this.now() - olderThanMs;
    const result = await this.db
      .deleteFrom('rooms')
      .where((eb) => eb.or([eb('is_active', '=', 0), eb('last_activity', '<', cutoff)]))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Runs `cleanupInactiveRooms` on a timer (hourly, 24 h by default); returns the stop. */
  startCleanup(options: CleanupOptions = {}): () => void {
    const timer = setInterval(
      () => {
        this.cleanupInactiveRooms(options.inactiveAfterMs).catch((error: unknown) =>
          options.onError?.(error),
        );
      },
      options.intervalMs ?? 60 * 60 * 1000,
    );
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Disconnect: the seat stays, marked offline. Without `roomId`, in every room. */
  async markOffline(userId: string, roomId?: string): Promise<number> {
    let query = this.db
      .updateTable('room_participants')
      .set({ is_online: 0, last_seen: this.now() })
      .where('user_id', '=', checkUserId(userId))
      .where('banned', '=', 0);
    if (roomId !== undefined) query = query.where('room_id', '=', roomId);
    return Number((await query.executeTakeFirst()).numUpdatedRows);
  }

  /** Heartbeat: online, `last_seen` now. False when the user has no seat in the room. */
  async touchLastSeen(userId: string, roomId: string): Promise<boolean> {
    const result = await this.db
      .updateTable('room_participants')
      .set({ is_online: 1, last_seen: this.now() })
      .where('user_id', '=', checkUserId(userId))
      .where('room_id', '=', checkId(roomId, 'roomId'))
      .where('banned', '=', 0)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * The host only: takes `targetUserId`'s seat. With `ban`, the user cannot join again (until
   * `unbanParticipant`); a user who never joined can be banned too. False when there was nothing
   * to do.
   */
  async kickParticipant(
    hostUserId: string,
    roomId: string,
    targetUserId: string,
    options: { ban?: boolean } = {},
  ): Promise<boolean> {
    await this.requireHost(hostUserId, roomId);
    const target = checkUserId(targetUserId);
    if (target === hostUserId)
      throw new SpacesError('invalid_input', 'the host cannot kick itself');
    if (!options.ban) {
      const result = await this.db
        .deleteFrom('room_participants')
        .where('room_id', '=', roomId)
        .where('user_id', '=', target)
        .where('banned', '=', 0)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    }
    const now = this.now();
    await this.db
      .insertInto('room_participants')
      .values({
        id: randomUUID(),
        room_id: roomId,
        user_id: target,
        display_name: '',
        is_online: 0,
        banned: 1,
        joined_at: now,
        last_seen: now,
      })
      .onConflict((conflict) =>
        conflict.columns(['room_id', 'user_id']).doUpdateSet({ banned: 1, is_online: 0 }),
      )
      .execute();
    return true;
  }

  /** The host only. False when the user was not banned. */
  async unbanParticipant(hostUserId: string, roomId: string, targetUserId: string) {
    await this.requireHost(hostUserId, roomId);
    const result = await this.db
      .deleteFrom('room_participants')
      .where('room_id', '=', roomId)
      .where('user_id', '=', checkUserId(targetUserId))
      .where('banned', '=', 1)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Rooms the user hosts or has a seat in, most recently active first. */
  async listUserRooms(userId: string): Promise<SpaceRoomSummary[]> {
    const user = checkUserId(userId);
    const rows = await this.db
      .selectFrom('rooms')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb('host_user_id', '=', user),
          eb(
            'id',
            'in',
            eb
              .selectFrom('room_participants')
              .select('room_id')
              .where('user_id', '=', user)
              .where('banned', '=', 0),
          ),
        ]),
      )
      .orderBy('last_activity', 'desc')
      .orderBy('id')
      .execute();
    return Promise.all(rows.map((row) => this.summary(row)));
  }

  /* ---- internals ---- */

  /** Runs `work` so that it is alone on the room: PostgreSQL locks the room row first. */
  private withRoomLock<T>(roomId: string, work: (db: Db) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(async (trx) => {
      if (this.postgres) {
        await trx.selectFrom('rooms').select('id').where('id', '=', roomId).forUpdate().execute();
      }
      return work(trx);
    });
  }

  /** The user's seat back online (renamed), if the user has one; `banned` if banned. */
  private async rejoin(
    userId: string,
    roomId: string,
    displayName: string,
  ): Promise<SpaceParticipant | null> {
    const row = await this.db
      .selectFrom('room_participants')
      .select('banned')
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!row) return null;
    if (Number(row.banned) === 1) throw new SpacesError('banned', 'the host banned you');
    const now = this.now();
    await this.db
      .updateTable('room_participants')
      .set({ is_online: 1, last_seen: now, display_name: displayName })
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .execute();
    return toParticipant(await this.participantRow(roomId, userId));
  }

  /** Inserts unless `userId` has no seat (or, for the server, the room is gone): then null. */
  private async writeMessage(
    roomId: string,
    userId: string | null,
    type: MessageType,
    content: string,
    metadata: Record<string, unknown>,
  ): Promise<SpaceMessage | null> {
    const text = checkText(content, 'content', MAX_CONTENT);
    const meta = checkJsonObject(metadata, 'metadata', MAX_METADATA_BYTES);
    const now = this.now();
    const allowed =
      userId === null
        ? sql`exists (select 1 from rooms where id = ${roomId})`
        : sql`exists (select 1 from room_participants
              where room_id = ${roomId} and user_id = ${userId} and banned = 0)`;
    const id = await this.db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ id: number }>`insert into room_messages
            (room_id, user_id, message_type, content, metadata, created_at)
          select ${roomId}, ${userId}, ${type}, ${text}, ${meta}, cast(${now} as bigint)
          where ${allowed}
          returning id`.execute(trx);
      if (rows.length === 0) return null;
      await this.touchRoom(roomId, now, trx);
      return Number(rows[0]!.id);
    });
    if (id === null) return null;
    const row = await this.db
      .selectFrom('room_messages')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    return toMessage(row);
  }

  private async touchRoom(roomId: string, now: number, db: Db = this.db): Promise<void> {
    await db.updateTable('rooms').set({ last_activity: now }).where('id', '=', roomId).execute();
  }

  private async requireRoom(roomId: string): Promise<RoomRow> {
    const row = await this.db
      .selectFrom('rooms')
      .selectAll()
      .where('id', '=', checkId(roomId, 'roomId'))
      .executeTakeFirst();
    if (!row) throw new SpacesError('not_found', 'room not found');
    return row;
  }

  /** The room, if `userId` is its host or has a seat in it; else `not_found` / `forbidden`. */
  private async requireViewer(userId: string, roomId: string): Promise<{ room: RoomRow }> {
    const user = checkUserId(userId);
    const room = await this.requireRoom(roomId);
    if (room.host_user_id === user) return { room };
    const seat = await this.db
      .selectFrom('room_participants')
      .select('id')
      .where('room_id', '=', room.id)
      .where('user_id', '=', user)
      .where('banned', '=', 0)
      .executeTakeFirst();
    if (!seat) throw new SpacesError('forbidden', 'only participants and the host see this room');
    return { room };
  }

  private async requireHost(userId: string, roomId: string): Promise<RoomRow> {
    const user = checkUserId(userId);
    const room = await this.requireRoom(roomId);
    if (room.host_user_id !== user) {
      throw new SpacesError('forbidden', 'only the host may do this');
    }
    return room;
  }

  private async roomRow(roomId: string): Promise<RoomRow> {
    return this.db
      .selectFrom('rooms')
      .selectAll()
      .where('id', '=', roomId)
      .executeTakeFirstOrThrow();
  }

  private async participantRow(roomId: string, userId: string): Promise<ParticipantRow> {
    return this.db
      .selectFrom('room_participants')
      .selectAll()
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
  }

  private async participantsOf(roomId: string): Promise<SpaceParticipant[]> {
    const rows = await this.db
      .selectFrom('room_participants')
      .selectAll()
      .where('room_id', '=', roomId)
      .where('banned', '=', 0)
      .orderBy('joined_at')
      .orderBy('id')
      .execute();
    return rows.map(toParticipant);
  }

  private async summary(row: RoomRow): Promise<SpaceRoomSummary> {
    const { count } = await this.db
      .selectFrom('room_participants')
      .select((eb) => eb.fn.countAll().as('count'))
      .where('room_id', '=', row.id)
      .where('banned', '=', 0)
      .executeTakeFirstOrThrow();
    return { ...toRoom(row), participantCount: Number(count) };
  }
}
