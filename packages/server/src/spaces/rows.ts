import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import { SpacesError } from './errors.js';
import {
  checkId,
  checkUserId,
  type ParticipantRow,
  type RoomRow,
  type SpaceParticipant,
  type SpaceRoomSummary,
  toParticipant,
  toRoom,
} from './model.js';

export type Db = Kysely<Database> | Transaction<Database>;

/**
 * The Spaces tables read row by row, and the access rules every service method starts with: who
 * may see a room (its host and participants) and who may change it (its host). Kept apart from
 * `SpacesService` so the rules are in one place.
 */
export class SpacesRows {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly postgres: boolean,
  ) {}

  /** Runs `work` so that it is alone on the room: PostgreSQL locks the room row first. */
  withRoomLock<T>(roomId: string, work: (db: Db) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(async (trx) => {
      if (this.postgres) {
        await trx.selectFrom('rooms').select('id').where('id', '=', roomId).forUpdate().execute();
      }
      return work(trx);
    });
  }
  /**
   * Changes a room's state alone on the room (read, `change`, write back with `last_activity`
   * now and `columns`), so concurrent changes are not lost. `change` returns the state to store,
   * encoded (it may refuse with a `SpacesError`). `not_found` if the room is gone.
   */
  modifyState(
    roomId: string,
    now: number,
    change: (state: Record<string, unknown>) => string,
    columns: { current_mode?: string } = {},
  ): Promise<void> {
    return this.withRoomLock(roomId, async (db) => {
      const row = await db
        .selectFrom('rooms')
        .select('state')
        .where('id', '=', roomId)
        .executeTakeFirst();
      if (!row) throw new SpacesError('not_found', 'room not found');
      const state = change(JSON.parse(row.state) as Record<string, unknown>);
      await db
        .updateTable('rooms')
        .set({ state, last_activity: now, ...columns })
        .where('id', '=', roomId)
        .execute();
    });
  }

  /** Takes the user's seat away (a ban is not a seat). False when there was none. */
  async deleteSeat(roomId: string, userId: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('room_participants')
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .where('banned', '=', 0)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async touchRoom(roomId: string, now: number, db: Db = this.db): Promise<void> {
    await db.updateTable('rooms').set({ last_activity: now }).where('id', '=', roomId).execute();
  }
  async requireRoom(roomId: string): Promise<RoomRow> {
    const row = await this.db
      .selectFrom('rooms')
      .selectAll()
      .where('id', '=', checkId(roomId, 'roomId'))
      .executeTakeFirst();
    if (!row) throw new SpacesError('not_found', 'room not found');
    return row;
  }
  /** The room, if `userId` is its host or has a seat in it; else `not_found` / `forbidden`. */
  async requireViewer(userId: string, roomId: string): Promise<{ room: RoomRow }> {
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
  async requireHost(userId: string, roomId: string): Promise<RoomRow> {
    const user = checkUserId(userId);
    const room = await this.requireRoom(roomId);
    if (room.host_user_id !== user) {
      throw new SpacesError('forbidden', 'only the host may do this');
    }
    return room;
  }
  async roomRow(roomId: string): Promise<RoomRow> {
    return this.db
      .selectFrom('rooms')
      .selectAll()
      .where('id', '=', roomId)
      .executeTakeFirstOrThrow();
  }
  async participantRow(roomId: string, userId: string): Promise<ParticipantRow> {
    return this.db
      .selectFrom('room_participants')
      .selectAll()
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
  }
  async participantsOf(roomId: string): Promise<SpaceParticipant[]> {
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
  async summary(row: RoomRow): Promise<SpaceRoomSummary> {
    const { count } = await this.db
      .selectFrom('room_participants')
      .select((eb) => eb.fn.countAll().as('count'))
      .where('room_id', '=', row.id)
      .where('banned', '=', 0)
      .executeTakeFirstOrThrow();
    return { ...toRoom(row), participantCount: Number(count) };
  }
}
