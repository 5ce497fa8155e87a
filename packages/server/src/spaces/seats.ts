import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { SpacesError } from './errors.js';
import {
  checkId,
  checkUserId,
  type SpaceParticipant,
  type SpaceRoom,
  type SpaceRoomSummary,
  toRoom,
} from './model.js';
import type { SpacesRows } from './rows.js';

/**
 * Seats: who is online (disconnects and heartbeats), who may take a seat (the check behind
 * `POST /join`), the host's kicks and bans, and the unchecked reads the live side needs once a
 * user is in the room.
 */
export class SpacesSeats {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly rows: SpacesRows,
    private readonly now: () => number,
  ) {}

  /** Whether `roomId` is an active Spaces room (any caller: this decides the join path). */
  async isSpacesRoom(roomId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('rooms')
      .select('id')
      .where('id', '=', roomId)
      .where('is_active', '=', 1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Whether `userId` may take a seat now (takes none): the room exists and is active, the user is
   * not banned, and a seat is free or already theirs.
   */
  async checkJoin(userId: string, roomId: string): Promise<SpaceRoomSummary> {
    const user = checkUserId(userId);
    const room = await this.rows.requireRoom(roomId);
    if (Number(room.is_active) !== 1) throw new SpacesError('not_found', 'room not found');
    const seat = await this.db
      .selectFrom('room_participants')
      .select('banned')
      .where('room_id', '=', room.id)
      .where('user_id', '=', user)
      .executeTakeFirst();
    if (seat && Number(seat.banned) === 1) throw new SpacesError('banned', 'the host banned you');
    const summary = await this.rows.summary(room);
    const isHost = room.host_user_id === user;
    if (!seat && !isHost && summary.participantCount >= summary.maxParticipants) {
      throw new SpacesError('room_full', 'the room is full');
    }
    return summary;
  }

  /** Whether the user holds a seat (not a ban) in the room. */
  async hasSeat(userId: string, roomId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('room_participants')
      .select('id')
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .where('banned', '=', 0)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Heartbeat of `userIds`' seats in the room (online, `last_seen` now); how many there were. */
  async touchSeats(roomId: string, userIds: readonly string[]): Promise<number> {
    if (userIds.length === 0) return 0;
    const result = await this.db
      .updateTable('room_participants')
      .set({ is_online: 1, last_seen: this.now() })
      .where('room_id', '=', roomId)
      .where('user_id', 'in', userIds)
      .where('banned', '=', 0)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** The room and its participants, without an access check (for members already let in). */
  async snapshot(
    roomId: string,
  ): Promise<{ room: SpaceRoomSummary; participants: SpaceParticipant[] }> {
    const room = await this.rows.summary(await this.rows.requireRoom(checkId(roomId, 'roomId')));
    return { room, participants: await this.rows.participantsOf(room.id) };
  }

  /** Voice on or off: any participant; kept in the room's state as `conversationActive`. */
  async setConversationActive(userId: string, roomId: string, active: boolean): Promise<SpaceRoom> {
    const user = checkUserId(userId);
    await this.rows.requireViewer(user, roomId);
    await this.rows.modifyState(roomId, this.now(), (state) => {
      state.conversationActive = active;
      return JSON.stringify(state);
    });
    return toRoom(await this.rows.roomRow(roomId));
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

  /**
   * Takes the seat offline if it is online; its name when this call did, else null. One
   * conditional update, so of several nodes asking at once exactly one gets the name (and tells
   * the room).
   */
  async takeOffline(userId: string, roomId: string): Promise<string | null> {
    const result = await this.db
      .updateTable('room_participants')
      .set({ is_online: 0, last_seen: this.now() })
      .where('room_id', '=', roomId)
      .where('user_id', '=', checkUserId(userId))
      .where('banned', '=', 0)
      .where('is_online', '=', 1)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return null;
    // A seat kicked meanwhile was announced by its kick.
    const seat = await this.db
      .selectFrom('room_participants')
      .select('display_name')
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return seat?.display_name ?? null;
  }

  /** Heartbeat: online, `last_seen` now. False when the user has no seat in the room. */
  async touchLastSeen(userId: string, roomId: string): Promise<boolean> {
    return (await this.touchSeats(checkId(roomId, 'roomId'), [checkUserId(userId)])) > 0;
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
    await this.rows.requireHost(hostUserId, roomId);
    const target = checkUserId(targetUserId);
    if (target === hostUserId)
      throw new SpacesError('invalid_input', 'the host cannot kick itself');
    if (!options.ban) return this.rows.deleteSeat(roomId, target);
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
  async unbanParticipant(
    hostUserId: string,
    roomId: string,
    targetUserId: string,
  ): Promise<boolean> {
    await this.rows.requireHost(hostUserId, roomId);
    const result = await this.db
      .deleteFrom('room_participants')
      .where('room_id', '=', roomId)
      .where('user_id', '=', checkUserId(targetUserId))
      .where('banned', '=', 1)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
