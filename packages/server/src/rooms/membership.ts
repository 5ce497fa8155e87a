import { ErrorCode } from '@roomkit/protocol';
import { TIMED_OUT, withDeadline } from '../auth/deadline.js';
import type { RoomAccess } from '../config.js';
import { type Feature, type FeatureContext, ProtocolError } from '../features/feature.js';
import { runHook } from '../hooks.js';
import { guarded } from '../observability/guard.js';
import { type ClientSession, type Identity, RoomConnection } from './connection.js';
import { checkRoomAccess, type RoomSettings } from './room-settings.js';

/**
 * What a join brings besides the room id: the password it presents (which becomes the room's if
 * this join creates it), the settings of a room it creates, and read-only access.
 */
export interface JoinOptions extends RoomSettings {
  /** From `authorizeRoom`: adds to the identity's own read-only flag, never lifts it. */
  readOnly?: boolean;
}

/**
 * The one join path and the one leave path, used by the upgrade (path room) and by
 * `room:join` / `room:leave`. Runs the spec's connection flow in order.
 */
export class Membership {
  constructor(
    private readonly ctx: FeatureContext,
    private readonly features: readonly Feature[],
  ) {}

  /**
   * `join` behind `auth.authorizeRoom` when one is configured (then asynchronous). Rejects with
   * `forbidden` when it says no or throws.
   */
  authorizeAndJoin(
    session: ClientSession,
    roomId: string,
    settings: RoomSettings = {},
  ): RoomConnection | Promise<RoomConnection> {
    const authorize = this.ctx.config.auth?.authorizeRoom;
    if (!authorize || session.memberships.has(roomId)) return this.join(session, roomId, settings);
    return this.authorizeIdentity(session.identity, roomId).then((access) => {
      if (access === false) {
        throw new ProtocolError(ErrorCode.Forbidden, `not allowed to join room "${roomId}"`);
      }
      if (session.isClosing) throw new ProtocolError(ErrorCode.NotInRoom, 'connection closed');
      return this.join(session, roomId, { ...settings, readOnly: access === 'read-only' });
    });
  }

  /**
   * Asks `auth.authorizeRoom`, within `limits.authTimeoutMs`; a throw, a timeout or an answer
   * other than `true` or `'read-only'` is a refusal (logged).
   */
  async authorizeIdentity(identity: Identity, roomId: string): Promise<RoomAccess> {
    const auth = this.ctx.config.auth;
    if (!auth?.authorizeRoom) return true;
    try {
      const answer = await withDeadline(
        Promise.resolve(auth.authorizeRoom(roomId, identity)),
        this.ctx.config.limits.authTimeoutMs,
      );
      if (answer === TIMED_OUT) this.ctx.logger.warn({ roomId }, 'authorizeRoom timed out');
      return answer === true || answer === 'read-only' ? answer : false;
    } catch (error) {
      this.ctx.logger.warn({ err: error, roomId }, 'authorizeRoom failed');
      return false;
    }
  }

  /**
   * Throws `ProtocolError` when the join is refused, checking in this order: `too_many_rooms`,
   * `room_full` (connections), `room_limit`, `wrong_password`, `room_full` (`maxUsers`),
   * `metadata_too_large`. Already a member: a no-op, nothing checked.
   */
  join(session: ClientSession, roomId: string, options: JoinOptions = {}): RoomConnection {
    const existing = session.memberships.get(roomId);
    if (existing) return existing;
    const { limits, maxConnectionsPerRoom, hooks } = this.ctx.config;
    if (session.memberships.size >= limits.maxRoomsPerConnection) {
      throw new ProtocolError(
        ErrorCode.TooManyRooms,
        `a connection may be in at most ${limits.maxRoomsPerConnection} rooms`,
      );
    }
    if (this.ctx.rooms.occupancy(roomId) >= maxConnectionsPerRoom) {
      throw new ProtocolError(ErrorCode.RoomFull, `room "${roomId}" is full`);
    }
    const current = this.ctx.rooms.get(roomId);
    if (!current && this.ctx.rooms.roomCount >= limits.maxRooms) {
      throw new ProtocolError(
        ErrorCode.RoomLimit,
        `the server is at its limit of ${limits.maxRooms} rooms`,
      );
    }
    checkRoomAccess(this.ctx, roomId, session.identity.userId, options);
    // A room this join creates gets its settings; an existing one keeps its own.
    const room = this.ctx.rooms.getOrCreate(roomId, current ? undefined : options);
    const connection = new RoomConnection(
      session,
      room,
      Date.now(),
      options.readOnly === true || session.identity.readOnly === true,
    );
    room.add(connection);
    session.memberships.set(roomId, connection);
    try {
      for (const feature of this.features) feature.onJoin?.(room, connection);
    } catch (error) {
      // Half a join is no join: take it back (unannounced) so an error means nothing was applied.
      this.leave(session, roomId);
      throw error;
    }
    // The session may have been closed meanwhile (e.g. too slow to take its snapshot): then there
    // is no membership to announce, and onLeave must not be followed by onJoin.
    if (session.isClosing || session.memberships.get(roomId) !== connection) return connection;
    connection.announced = true;
    for (const feature of this.features) {
      const announce = feature.onAnnounce?.bind(feature);
      // The join is done: a failing announcement is logged, not turned into a refusal.
      if (announce)
        guarded(this.ctx.logger, `${feature.name} announce`, () => announce(room, connection));
    }
    if (hooks.onJoin) {
      const onJoin = hooks.onJoin;
      const user = { ...connection.user };
      runHook(this.ctx.logger, 'onJoin', () => onJoin(roomId, user));
    }
    return connection;
  }

  /** Returns false if the session was not in the room. `onLeave` fires only after an `onJoin`. */
  leave(session: ClientSession, roomId: string): boolean {
    const connection = session.memberships.get(roomId);
    if (!connection) return false;
    session.memberships.delete(roomId);
    const { room } = connection;
    room.remove(connection.id);
    const { hooks, cleanupTimeoutMs } = this.ctx.config;
    if (hooks.onLeave && connection.announced) {
      const onLeave = hooks.onLeave;
      const user = { ...connection.user };
      runHook(this.ctx.logger, 'onLeave', () => onLeave(roomId, user));
    }
    if (room.size === 0 && this.ctx.rooms.get(roomId) === room) {
      this.ctx.rooms.scheduleCleanup(roomId, cleanupTimeoutMs);
    }
    for (const feature of this.features) feature.onLeave?.(room, connection);
    if (session.defaultRoom === roomId) session.defaultRoom = null;
    return true;
  }

  leaveAll(session: ClientSession): void {
    for (const roomId of [...session.memberships.keys()]) this.leave(session, roomId);
  }
}
