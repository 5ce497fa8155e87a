import { ErrorCode, type InitialPresence } from '@roomkit/protocol';
import { TIMED_OUT, withDeadline } from '../auth/deadline.js';
import type { RoomDescription } from '../bus/messages.js';
import type { MaybePromise } from '../bus/room-directory.js';
import type { RoomAccess } from '../config.js';
import { type Feature, type FeatureContext, ProtocolError } from '../features/feature.js';
import { runHook } from '../hooks.js';
import { guarded } from '../observability/guard.js';
import { passwordDigest } from './admission.js';
import { type ClientSession, type Identity, Membership } from './connection.js';
import type { Room } from './room.js';
import { andThen } from './room-manager.js';
import { checkMetadataSize, type RoomSettings } from './room-settings.js';

/**
 * What a join brings besides the room id: the password it presents (which becomes the room's if
 * this join creates it), the settings of a room it creates, and read-only access.
 */
export interface JoinOptions extends RoomSettings {
  /** From `authorizeRoom`: adds to the identity's own read-only flag, never lifts it. */
  readOnly?: boolean;
  /** The member's presence from the start. */
  presence?: InitialPresence;
  /** The seat the upgrade already claimed (its answer): the join does not claim again. */
  seat?: RoomDescription;
}

/**
 * The one join path and the one leave path, used by the upgrade (path room) and by
 * `room:join` / `room:leave`. Runs the connection flow of docs/protocol.md §4 in order.
 */
export class JoinPath {
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
    settings: JoinOptions = {},
  ): Membership | Promise<Membership> {
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
   * Admission, the one place every join is decided (the path upgrade's and `room:join`'s), in
   * this order: `too_many_rooms` (this connection's rooms), `metadata_too_large` (the initial
   * presence the join brings), then the cluster's directory (`admit`): `room_limit` (rooms in the
   * cluster, for a new room), `room_full` (connections), `wrong_password`, `room_full` (`maxUsers`),
   * `metadata_too_large` (the settings of a room the join creates). Takes the seat; answers the
   * room's settings. Throws (or rejects with) a `ProtocolError`.
   */
  claimSeat(
    connectionId: string,
    identity: Identity,
    roomsHeld: number,
    roomId: string,
    options: JoinOptions,
  ): MaybePromise<RoomDescription> {
    const { limits, maxConnectionsPerRoom } = this.ctx.config;
    if (roomsHeld >= limits.maxRoomsPerConnection) {
      throw new ProtocolError(
        ErrorCode.TooManyRooms,
        `a connection may be in at most ${limits.maxRoomsPerConnection} rooms`,
      );
    }
    if (options.presence?.metadata !== undefined) {
      checkMetadataSize(
        'room:join presence',
        options.presence.metadata,
        limits.maxPresenceMetadataBytes,
      );
    }
    const answer = this.ctx.rooms.directory.claim({
      room: roomId,
      connectionId,
      userId: identity.userId,
      nodeId: this.ctx.rooms.nodeId,
      passwordDigest: passwordDigest(options.password),
      maxConnections: maxConnectionsPerRoom,
      maxRooms: limits.maxRooms,
      create: { maxUsers: options.maxUsers ?? null, metadata: options.metadata ?? {} },
      metadataBytes:
        options.metadata === undefined ? 0 : Buffer.byteLength(JSON.stringify(options.metadata)),
      maxMetadataBytes: limits.maxRoomMetadataBytes,
      now: Date.now(),
    });
    return andThen(answer, (seat) => {
      if (!seat.ok) throw new ProtocolError(seat.code, seat.message);
      return seat.description;
    });
  }

  /** Gives back a seat `claimSeat` took for a connection that never joined. */
  releaseSeat(roomId: string, connectionId: string): void {
    this.ctx.rooms.record(this.ctx.rooms.directory.release(roomId, connectionId));
  }

  /**
   * Admits the connection (`claimSeat`, unless the upgrade did it: `options.seat`), opens the room
   * on this node, and joins it: every node learns of the member with its initial presence at once.
   * Already a member: a no-op, nothing checked. Synchronous on a bus and directory that answer at
   * once (one node, `InProcessCluster`).
   */
  join(
    session: ClientSession,
    roomId: string,
    options: JoinOptions = {},
  ): Membership | Promise<Membership> {
    const existing = session.memberships.get(roomId);
    if (existing) return existing;
    const seat =
      options.seat ??
      this.claimSeat(session.id, session.identity, session.memberships.size, roomId, options);
    return andThen(seat, (description) => {
      const opened = this.ctx.rooms.open(roomId, description);
      return andThen(opened, (room) => {
        if (session.isClosing || session.memberships.has(roomId)) {
          // Closed (or joined by a concurrent request) while the room was opening.
          if (!session.memberships.has(roomId)) this.releaseSeat(roomId, session.id);
          const joined = session.memberships.get(roomId);
          if (joined) return joined;
          throw new ProtocolError(ErrorCode.NotInRoom, 'connection closed');
        }
        return this.enter(session, room, options);
      });
    });
  }

  /** The admitted connection becomes a member: here, on every node, then the features and hooks. */
  private enter(session: ClientSession, room: Room, options: JoinOptions): Membership {
    const roomId = room.id;
    const connection = new Membership(
      session,
      room,
      Date.now(),
      options.readOnly === true || session.identity.readOnly === true,
    );
    if (options.presence) this.withInitialPresence(session, connection, options.presence);
    room.connections.set(connection.id, connection);
    session.memberships.set(roomId, connection);
    this.ctx.rooms.applyLocal(room, {
      kind: 'member-joined',
      room: roomId,
      member: { connectionId: connection.id, nodeId: this.ctx.rooms.nodeId, user: connection.user },
    });
    const member = { room, connection };
    try {
      for (const feature of this.features) feature.onJoin?.(member);
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
      if (announce) guarded(this.ctx.logger, `${feature.name} announce`, () => announce(member));
    }
    const { hooks } = this.ctx.config;
    if (hooks.onJoin) {
      const onJoin = hooks.onJoin;
      const user = { ...connection.user };
      runHook(this.ctx.logger, 'onJoin', () => onJoin(roomId, user));
    }
    return connection;
  }

  /** The presence a join brings, laid on the new member's record before anyone sees it. */
  private withInitialPresence(
    session: ClientSession,
    connection: Membership,
    presence: InitialPresence,
  ): void {
    const { user } = connection;
    if (presence.onlineStatus !== undefined) {
      session.chosenStatus = presence.onlineStatus;
      if (!session.offline) user.onlineStatus = presence.onlineStatus;
    }
    if (presence.isIdle !== undefined) user.isIdle = presence.isIdle;
    if (presence.location !== undefined) user.location = presence.location;
    if (presence.metadata !== undefined) {
      const fromAuth = session.identity.metadata;
      user.metadata = fromAuth ? { ...presence.metadata, ...fromAuth } : presence.metadata;
    }
    if (presence.avatarUrl !== undefined && session.identity.avatarUrl === undefined) {
      user.avatarUrl = presence.avatarUrl;
    }
  }

  /** Returns false if the session was not in the room. `onLeave` fires only after an `onJoin`. */
  leave(session: ClientSession, roomId: string): boolean {
    const connection = session.memberships.get(roomId);
    if (!connection) return false;
    session.memberships.delete(roomId);
    const { room } = connection;
    room.connections.delete(connection.id);
    this.ctx.rooms.applyLocal(room, {
      kind: 'member-left',
      room: roomId,
      connectionId: connection.id,
    });
    this.releaseSeat(roomId, connection.id);
    const { hooks, cleanupTimeoutMs } = this.ctx.config;
    if (hooks.onLeave && connection.announced) {
      const onLeave = hooks.onLeave;
      const user = { ...connection.user };
      runHook(this.ctx.logger, 'onLeave', () => onLeave(roomId, user));
    }
    if (room.localSize === 0 && this.ctx.rooms.get(roomId) === room) {
      this.ctx.rooms.scheduleCleanup(roomId, cleanupTimeoutMs);
    }
    const member = { room, connection };
    for (const feature of this.features) feature.onLeave?.(member);
    if (session.defaultRoom === roomId) session.defaultRoom = null;
    return true;
  }

  leaveAll(session: ClientSession): void {
    for (const roomId of [...session.memberships.keys()]) this.leave(session, roomId);
  }
}
