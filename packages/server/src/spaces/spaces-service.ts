import { randomUUID } from 'node:crypto';
import { MAX_SPACES_DISPLAY_NAME_LENGTH } from '@roomkit/protocol';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { SpacesError } from './errors.js';
import { SpacesMessages } from './messages.js';
import {
  checkId,
  checkJsonObject,
  checkMaxParticipants,
  checkText,
  checkUserId,
  type MessagePage,
  type SpaceMessage,
  type SpaceParticipant,
  type SpaceRoom,
  type SpaceRoomSummary,
  toParticipant,
  toRoom,
} from './model.js';
import { generateRoomCode, normalizeRoomCode } from './room-codes.js';
import { type Db, SpacesRows } from './rows.js';
import { SpacesSeats } from './seats.js';

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
const MAX_STATE_BYTES = 16 * 1024;

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
 * The Spaces rooms over the store's tables, on SQLite or PostgreSQL.
 * Every method takes the acting user and enforces the Spaces access rules: only the
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
  private readonly rows: SpacesRows;
  private readonly messages: SpacesMessages;
  /** Online status, the join check, kicks and bans, unchecked reads for members. */
  readonly seats: SpacesSeats;

  constructor(store: Pick<Store, 'db' | 'kind'>, options: SpacesServiceOptions = {}) {
    this.db = store.db;
    this.postgres = store.kind === 'postgres';
    this.maxActiveRooms = options.maxActiveRoomsPerUser ?? 5;
    this.defaultMax = checkMaxParticipants(options.defaultMaxParticipants ?? 10);
    this.defaultMode = options.defaultMode ?? 'default';
    this.now = options.now ?? Date.now;
    this.generateCode = options.generateCode ?? generateRoomCode;
    this.rows = new SpacesRows(this.db, this.postgres);
    this.messages = new SpacesMessages(this.db, this.rows, this.now);
    this.seats = new SpacesSeats(this.db, this.rows, this.now);
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
        return toRoom(await this.rows.roomRow(id));
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
    return this.rows.summary(row);
  }

  /** The host and participants only. */
  async getRoomById(userId: string, roomId: string): Promise<SpaceRoomSummary> {
    const { room } = await this.rows.requireViewer(userId, roomId);
    return this.rows.summary(room);
  }

  /**
   * Takes a seat, or comes back online on the seat the user already has. Fails with `room_full`
   * when every seat is taken (racing joins for the last seat: exactly one wins) and `banned` for
   * a user the host banned. The host always gets a seat in its own room (a full room does not
   * lock its host out; the host can kick).
   */
  async joinRoom(userId: string, roomId: string, displayName: string): Promise<SpaceParticipant> {
    const user = checkUserId(userId);
    const room = checkId(roomId, 'roomId');
    const name = checkText(displayName, 'displayName', MAX_SPACES_DISPLAY_NAME_LENGTH);
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
            and (r.host_user_id = ${user}
              or (select count(*) from room_participants p where p.room_id = r.id and p.banned = 0)
                < r.max_participants)
          on conflict (room_id, user_id) do nothing`.execute(db);
    // One statement is atomic on SQLite (it takes the write lock before it counts); outside a
    // transaction it holds no lock across an await, which a second connection would wait on.
    const result = this.postgres
      ? await this.rows.withRoomLock(room, insert)
      : await insert(this.db);
    if (Number(result.numAffectedRows ?? 0) === 1) {
      await this.rows.touchRoom(room, now);
      return toParticipant(await this.rows.participantRow(room, user));
    }
    // Nothing inserted: the seat went to someone else, this user's row appeared meanwhile, or
    // the room was deleted.
    const raced = await this.rejoin(user, room, name);
    if (raced) return raced;
    await this.rows.requireRoom(room);
    throw new SpacesError('room_full', 'the room is full');
  }

  /** Gives up the user's seat. False when the user had none. */
  leaveRoom(userId: string, roomId: string): Promise<boolean> {
    return this.rows.deleteSeat(checkId(roomId, 'roomId'), checkUserId(userId));
  }

  /** The host and participants only; oldest seat first. */
  async getParticipants(userId: string, roomId: string): Promise<SpaceParticipant[]> {
    await this.rows.requireViewer(userId, roomId);
    return this.rows.participantsOf(roomId);
  }

  /**
   * The host only. `state` is merged into the room's state (a key set to null is removed).
   */
  async updateRoomState(
    userId: string,
    roomId: string,
    updates: { currentMode?: string; state?: Record<string, unknown> },
  ): Promise<SpaceRoom> {
    await this.rows.requireHost(userId, roomId);
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
    await this.rows.modifyState(
      roomId,
      this.now(),
      (state) => {
        for (const [key, value] of Object.entries(patch ?? {})) {
          if (value === null) delete state[key];
          else state[key] = value;
        }
        return checkJsonObject(state, 'state', MAX_STATE_BYTES);
      },
      mode === undefined ? {} : { current_mode: mode },
    );
    return toRoom(await this.rows.roomRow(roomId));
  }

  /** A participant's `user_text` or `user_voice` message; updates the room's `last_activity`. */
  insertMessage(...args: Parameters<SpacesMessages['insertMessage']>): Promise<SpaceMessage> {
    return this.messages.insertMessage(...args);
  }

  /** A message from the server itself (`system`, `ai_response`): no acting user, no checks. */
  insertServerMessage(
    ...args: Parameters<SpacesMessages['insertServerMessage']>
  ): Promise<SpaceMessage> {
    return this.messages.insertServerMessage(...args);
  }

  /** The host and participants only: a page of messages, oldest first (see `SpacesMessages`). */
  getRoomMessages(...args: Parameters<SpacesMessages['getRoomMessages']>): Promise<MessagePage> {
    return this.messages.getRoomMessages(...args);
  }

  /** The host only; participants and messages go with the room. */
  async deleteRoom(userId: string, roomId: string): Promise<void> {
    await this.rows.requireHost(userId, roomId);
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
   * Deletes rooms marked inactive and rooms without activity for `olderThanMs` (default 24 h):
   * no message or join since, and no participant online with a heartbeat since. Returns how many
   * went.
   */
  async cleanupInactiveRooms(olderThanMs: number = DEFAULT_INACTIVE_AFTER_MS): Promise<number> {
    return (await this.deleteInactiveRooms(olderThanMs)).length;
  }

  /** `cleanupInactiveRooms`, answering the deleted rooms' ids (the server clears their live rooms). */
  async deleteInactiveRooms(olderThanMs: number = DEFAULT_INACTIVE_AFTER_MS): Promise<string[]> {
    const cutoff = this.now() - olderThanMs;
    const rows = await this.db
      .deleteFrom('rooms')
      .where((eb) =>
        eb.or([
          eb('is_active', '=', 0),
          eb.and([
            eb('last_activity', '<', cutoff),
            eb.not(
              eb.exists(
                eb
                  .selectFrom('room_participants as p')
                  .select('p.id')
                  .whereRef('p.room_id', '=', 'rooms.id')
                  .where('p.is_online', '=', 1)
                  .where('p.last_seen', '>=', cutoff),
              ),
            ),
          ]),
        ]),
      )
      .returning('id')
      .execute();
    return rows.map((row) => row.id);
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
  markOffline(userId: string, roomId?: string): Promise<number> {
    return this.seats.markOffline(userId, roomId);
  }

  /** Heartbeat: online, `last_seen` now. False when the user has no seat in the room. */
  touchLastSeen(userId: string, roomId: string): Promise<boolean> {
    return this.seats.touchLastSeen(userId, roomId);
  }

  /** The host only: takes a seat, and with `ban` keeps the user out (see `SpacesSeats`). */
  kickParticipant(...args: Parameters<SpacesSeats['kickParticipant']>): Promise<boolean> {
    return this.seats.kickParticipant(...args);
  }

  /** The host only. False when the user was not banned. */
  unbanParticipant(...args: Parameters<SpacesSeats['unbanParticipant']>): Promise<boolean> {
    return this.seats.unbanParticipant(...args);
  }

  /** Rooms the user hosts or has a seat in, most recently active first (at most `limit`, 100). */
  async listUserRooms(userId: string, limit = 100): Promise<SpaceRoomSummary[]> {
    const user = checkUserId(userId);
    const rows = await this.db
      .selectFrom('rooms')
      .selectAll()
      .select((eb) =>
        eb
          .selectFrom('room_participants as p')
          .select((inner) => inner.fn.countAll().as('n'))
          .whereRef('p.room_id', '=', 'rooms.id')
          .where('p.banned', '=', 0)
          .as('participant_count'),
      )
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
      .limit(limit)
      .execute();
    return rows.map(({ participant_count, ...row }) => ({
      ...toRoom(row),
      participantCount: Number(participant_count ?? 0),
    }));
  }

  /* ---- internals ---- */

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
    return toParticipant(await this.rows.participantRow(roomId, userId));
  }
}
