import {
  ErrorCode,
  encodeServerMessage,
  MAX_SPACES_DISPLAY_NAME_LENGTH,
  type RoomJoinMessage,
  type SpacesServerMessage,
} from '@roomkit/protocol';
import type { Bus } from '../bus/bus.js';
import type { Delivery, MemberRecord, SpacesBusMessage } from '../bus/messages.js';
import { type HandlerReply, ProtocolError } from '../features/feature.js';
import type { Logger } from '../observability/logger.js';
import type { ClientSession, Membership } from '../rooms/connection.js';
import type { JoinPath } from '../rooms/join-path.js';
import type { Room } from '../rooms/room.js';
import type { RoomManager } from '../rooms/room-manager.js';
import { SpacesError, type SpacesErrorCode } from './errors.js';
import { messageJson, participantJson, roomJson, roomStateJson } from './json.js';
import type { SpaceMessage, SpaceParticipant, SpaceRoom, SpacesActor } from './model.js';
import { runResponder } from './run-responder.js';
import type { ResolvedSpacesConfig } from './spaces-config.js';
import type { SpacesService } from './spaces-service.js';

/** How often the seats of connected users are touched (well inside `ONLINE_STALE_MS`). */
export const SEAT_TOUCH_MS = 60_000;
/** Responder runs the server lets run at once; messages past it go unanswered (logged). */
export const MAX_RESPONDER_RUNS = 32;

/** Spaces room ids are UUIDs: only such ids are looked up in the store. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `roomId` may be a Spaces room (other ids need no store lookup). */
export function mayBeSpacesRoomId(roomId: string): boolean {
  return UUID.test(roomId);
}

/** Why a participant left, as `room:participant-left` says. */
export type LeaveReason = 'left' | 'disconnected' | 'kicked' | 'banned';
/** Why the server takes a user out of a room (their seat is gone already). */
export type RemovalReason = Exclude<LeaveReason, 'disconnected'>;

const ERROR_CODES: Readonly<Record<SpacesErrorCode, ErrorCode>> = {
  invalid_input: ErrorCode.InvalidInput,
  not_found: ErrorCode.NotFound,
  forbidden: ErrorCode.Forbidden,
  room_full: ErrorCode.RoomFull,
  banned: ErrorCode.Banned,
  room_limit: ErrorCode.RoomLimit,
};

/** A Spaces refusal as the WebSocket side answers it: `room:error` with the same code. */
export function spacesRefusal(error: unknown): unknown {
  if (error instanceof SpacesError) {
    return new ProtocolError(ERROR_CODES[error.code], error.message, 'room:error');
  }
  if (error instanceof ProtocolError && error.replyType !== 'room:error') {
    return new ProtocolError(error.code, error.message, 'room:error');
  }
  return error;
}

/** The signed-in user of a connection, or null (query-string identities are not signed in). */
export function spacesUserOf(session: ClientSession): SpacesActor | null {
  const { identity } = session;
  return identity.verified ? { id: identity.userId, displayName: identity.displayName } : null;
}

/**
 * The live side of Spaces: joining a Spaces room through the core join path, telling the room
 * who came and went (events plus `system` messages), delivering messages after they are stored,
 * and taking people out of a room when the host or the REST API says so. A Spaces room's members
 * may be on any node: events go to the whole socket room, removals are ordered on the Bus
 * (`SpacesBusMessage`), and "is the user still here" is asked of the cluster's directory.
 */
export class SpacesLive {
  /**
   * Memberships that joined as Spaces members (the others in the same room are not seated), with
   * the seat's name in the room (which may differ from the token's).
   */
  private readonly seats = new WeakMap<Membership, string>();
  /** Touches the seats of connected users (their heartbeat), so presence and cleanup see them. */
  private touchTimer: NodeJS.Timeout | null = null;
  /**
   * Memberships the server is ending whose seat and announcement are taken care of elsewhere (a
   * kick, a REST leave, a deletion, half a join): their leave changes no seat and tells no one.
   */
  private readonly quiet = new WeakSet<Membership>();
  /** Store work started by leaves (sync hooks), awaited by `stop()`. */
  private readonly pending = new Set<Promise<unknown>>();
  private readonly stopping = new AbortController();
  /** Responder runs in flight (capped at `MAX_RESPONDER_RUNS`). */
  private responding = 0;

  constructor(
    private readonly service: SpacesService,
    private readonly config: ResolvedSpacesConfig,
    private readonly rooms: RoomManager,
    private readonly membership: () => JoinPath,
    private readonly bus: Bus,
    private readonly logger: Logger,
    /** Deletes a deleted room's document, so its id does not give its contents to anyone. */
    private readonly forgetRoom: (roomId: string) => Promise<void> = async () => {},
  ) {}

  isSeated(connection: Membership): boolean {
    return this.seats.has(connection);
  }

  /**
   * `room:join` of a Spaces room: a seat (capacity, bans), then the core join, then `room:joined`
   * with the room, its participants, state and latest messages. The user's first connection in
   * the room is announced (`room:participant-joined` and a `system` message).
   */
  async join(session: ClientSession, message: RoomJoinMessage): Promise<HandlerReply> {
    const roomId = message.room;
    const user = spacesUserOf(session);
    if (!user) {
      throw new ProtocolError(
        ErrorCode.Unauthorized,
        'Spaces rooms need a signed-in user: connect with a token or send room:authenticate first',
        'room:error',
      );
    }
    // A signed-in name may be longer than a seat's (an auth handler allows 128 characters).
    const displayName =
      message.displayName ?? user.displayName.slice(0, MAX_SPACES_DISPLAY_NAME_LENGTH);
    const hadSeat = await this.service.seats.hasSeat(user.id, roomId);
    const participant = await this.service.joinRoom(user.id, roomId, displayName);
    // Another tab of the user in the room, on any node, announces (or announced) the user.
    const wasOnline = await this.isConnected(roomId, user.id);
    try {
      if (session.isClosing) throw new ProtocolError(ErrorCode.NotInRoom, 'connection closed');
      await this.membership().authorizeAndJoin(session, roomId, {});
    } catch (error) {
      // The core join refused (connection or room limits, authorizeRoom): a seat this join took
      // goes back, an existing one goes offline again unless another tab is in the room.
      if (!hadSeat) this.track(this.service.leaveRoom(user.id, roomId));
      else this.track(this.offlineUnlessConnected(roomId, user.id));
      throw error;
    }
    const connection = session.memberships.get(roomId);
    if (!connection) throw new ProtocolError(ErrorCode.NotInRoom, 'connection closed');
    try {
      return await this.completeJoin(session, connection, participant, wasOnline);
    } catch (error) {
      // Half a join is no join: out of the live room too (a kick or ban that landed meanwhile),
      // without touching the seat or telling anyone.
      this.quiet.add(connection);
      this.membership().leave(session, roomId);
      throw error;
    }
  }

  /** After the core join: the seat is checked again, then announced and described. */
  private async completeJoin(
    session: ClientSession,
    connection: Membership,
    participant: SpaceParticipant,
    wasOnline: boolean,
  ): Promise<HandlerReply> {
    const roomId = connection.room.id;
    const userId = participant.userId;
    // A kick, ban or deletion between taking the seat and entering the room took the seat away.
    if (!(await this.service.seats.hasSeat(userId, roomId))) {
      await this.service.seats.checkJoin(userId, roomId);
      throw new SpacesError('forbidden', 'your seat was taken away while you were joining');
    }
    if (session.memberships.get(roomId) !== connection) {
      throw new ProtocolError(ErrorCode.NotInRoom, 'connection closed');
    }
    const announce = !this.seats.has(connection) && !wasOnline;
    this.seats.set(connection, participant.displayName);
    const { room, participants } = await this.service.seats.snapshot(roomId);
    if (announce) {
      this.publish(
        roomId,
        {
          type: 'room:participant-joined',
          room: roomId,
          participant: participantJson(participant, room),
        },
        connection.id,
      );
      await this.systemMessage(
        roomId,
        `${participant.displayName} joined the room`,
        { event: 'joined', userId },
        connection.id,
      );
    }
    const history = await this.service.getRoomMessages(userId, roomId, {
      limit: this.config.historyLimit,
    });
    return {
      type: 'room:joined',
      room: roomId,
      space: roomJson(room, this.config.joinLinkBase),
      participants: participants.map((p) => participantJson(p, room)),
      state: roomStateJson(room),
      history: { messages: history.messages.map(messageJson), nextBefore: history.nextBefore },
    };
  }

  /**
   * A membership of a Spaces room ended by its member (`room:leave`, a disconnect) or by the
   * application removing the socket room. When it was the user's last connection in the room on
   * any node, the seat goes offline (a disconnect) or is given up (a leave), and the room hears
   * `room:participant-left` and a `system` message. Removals the server orders are quiet.
   */
  onLeave(roomId: string, connection: Membership): void {
    const displayName = this.seats.get(connection);
    if (displayName === undefined) return;
    this.seats.delete(connection);
    if (this.quiet.has(connection)) return;
    const { session } = connection;
    const { userId } = session.identity;
    // A room the application removed (`RoomManager.remove`) is not the member's leave: seat kept.
    const removed = this.rooms.get(roomId) !== connection.room;
    const reason = session.isClosing || removed ? 'disconnected' : 'left';
    // The user's tabs on this node leave one by one when a room is removed: the last one tells.
    if (this.hasOtherConnection(connection.room, userId, session)) return;
    this.track(
      (async () => {
        // This membership is out of the directory already: any connection left is another tab.
        if (await this.isConnected(roomId, userId)) return;
        // A disconnect keeps the seat (offline); leaving on purpose gives it up.
        if (reason === 'disconnected') await this.service.markOffline(userId, roomId);
        else await this.service.leaveRoom(userId, roomId);
        await this.announceLeft(roomId, userId, displayName, reason);
      })(),
    );
  }

  /**
   * Members another node took with it (it crashed or left): each of their users with no
   * connection left in the room, on any node, goes offline and the room hears it as a disconnect.
   * Every node holding the room runs this; the store's conditional update (`takeOffline`) picks
   * the one that tells the room, so it is told once.
   */
  membersLost(room: Room, lost: readonly MemberRecord[]): void {
    if (!mayBeSpacesRoomId(room.id)) return;
    const users = new Set(lost.map((member) => member.user.userId));
    this.track(this.disconnectLost(room.id, users));
  }

  private async disconnectLost(roomId: string, users: ReadonlySet<string>): Promise<void> {
    // The directory gave the dead node's seats back before this runs: who is left is live.
    const present = new Set(await this.rooms.directory.users(roomId));
    for (const userId of users) {
      if (present.has(userId)) continue;
      const displayName = await this.service.seats.takeOffline(userId, roomId);
      // Null: another node took it offline first (and tells the room), or it was not online.
      if (displayName === null) continue;
      await this.announceLeft(roomId, userId, displayName, 'disconnected');
    }
  }

  /** The membership's seat name (the connection's display name if it has none). */
  seatName(connection: Membership): string {
    return this.seats.get(connection) ?? connection.session.identity.displayName;
  }

  /** Tells the room a participant is gone (also for one who was not connected). */
  async announceLeft(
    roomId: string,
    userId: string,
    displayName: string,
    reason: LeaveReason,
  ): Promise<void> {
    this.publish(roomId, {
      type: 'room:participant-left',
      room: roomId,
      userId,
      displayName,
      reason,
    });
    const verb = {
      left: 'left',
      disconnected: 'disconnected',
      kicked: 'was removed',
      banned: 'was banned',
    };
    await this.systemMessage(roomId, `${displayName} ${verb[reason]}`, { event: reason, userId });
  }

  /**
   * Takes `userId`'s connections out of the room on every node (`room:left` with the reason),
   * once the store took the seat. Quiet: the caller tells the room (`announceLeft`), once.
   */
  removeUser(roomId: string, userId: string, reason: RemovalReason): void {
    const room = this.rooms.get(roomId);
    if (room) this.takeOut(room, userId, reason);
    this.send({ kind: 'spaces-user-removed', room: roomId, userId, reason });
  }

  /**
   * A deleted room, on every node: its members are taken out (`room:left`, reason `room
   * removed`), unannounced, and its document is deleted.
   */
  async removeRoom(roomId: string): Promise<void> {
    // Sent before this node removes the socket room: a node holding it hears this first, so its
    // members' leaves are quiet whichever of the two removes its copy.
    this.send({ kind: 'spaces-room-deleted', room: roomId });
    await this.dropRoom(this.rooms.get(roomId), roomId);
  }

  /** Another node's order about a Spaces room this node holds (see `SpacesBusMessage`). */
  receive(room: Room, message: SpacesBusMessage): void {
    switch (message.kind) {
      case 'spaces-user-removed':
        this.takeOut(room, message.userId, message.reason);
        break;
      case 'spaces-room-deleted':
        // This node's copy of the document goes too: flushed later, it would bring it back.
        this.track(this.dropRoom(room, room.id));
        break;
    }
  }

  /** This node's connections of the user leave the room, quietly, each told `room:left`. */
  private takeOut(room: Room, userId: string, reason: RemovalReason): void {
    const mine = [...room.connections.values()].filter((c) => c.session.identity.userId === userId);
    for (const connection of mine) {
      this.quiet.add(connection);
      this.membership().leave(connection.session, room.id);
      connection.session.send(encodeServerMessage({ type: 'room:left', room: room.id, reason }));
    }
  }

  /**
   * Removes the socket room (its members get `room:left`, reason `room removed`, on every node
   * that holds it; the directory forgets it even where no copy is held) and the document.
   */
  private async dropRoom(room: Room | undefined, roomId: string): Promise<void> {
    for (const connection of room?.connections.values() ?? []) this.quiet.add(connection);
    this.rooms.remove(roomId);
    try {
      await this.forgetRoom(roomId);
    } catch (error) {
      this.logger.error(
        { err: error, roomId },
        "Spaces: deleting a deleted room's document failed",
      );
    }
  }

  /**
   * Sends a stored message to every member (but `except`), then lets the responder answer a
   * participant's.
   */
  deliver(roomId: string, message: SpaceMessage, except?: string): void {
    this.publish(
      roomId,
      { type: 'room:message-received', room: roomId, message: messageJson(message) },
      except,
    );
    const { responder } = this.config;
    if (
      !responder ||
      (message.messageType !== 'user_text' && message.messageType !== 'user_voice')
    ) {
      return;
    }
    // Each run may wait on a slow service for its whole timeout: past the cap, messages go
    // unanswered (logged) rather than piling up.
    if (this.responding >= MAX_RESPONDER_RUNS) {
      this.logger.warn({ roomId, messageId: message.id }, 'Spaces responder busy: message skipped');
      return;
    }
    this.responding++;
    const run = runResponder(responder, message, {
      service: this.service,
      config: this.config,
      deliver: (reply) => this.deliver(roomId, reply),
      signal: this.stopping.signal,
      logger: this.logger,
    });
    this.track(run.finally(() => this.responding--));
  }

  /** Tells every member the room's state changed (the host's update, or voice on/off). */
  stateUpdated(room: SpaceRoom, userId: string): void {
    this.publish(room.id, {
      type: 'room:state-updated',
      room: room.id,
      state: roomStateJson(room),
      userId,
    });
  }

  /** Sends a Spaces event to every member of the room on every node (`except` one connection). */
  publish(roomId: string, event: SpacesServerMessage, except?: string): void {
    const data = encodeServerMessage(event);
    const exclude = except === undefined ? undefined : [except];
    const room = this.rooms.get(roomId);
    if (room) {
      room.broadcast(data, exclude);
      return;
    }
    // No member here: the other nodes' members still hear it.
    this.send({ kind: 'broadcast', room: roomId, data, exclude, lossy: false });
  }

  /** Publishes to the nodes holding the room; a failure is logged (this node did its part). */
  private send(message: SpacesBusMessage | Delivery): void {
    this.bus
      .publish(message)
      .catch((error: unknown) =>
        this.logger.error(
          { err: error, roomId: message.room, kind: message.kind },
          'Spaces: bus publish failed',
        ),
      );
  }

  /** Starts the seat heartbeat of connected users (every `SEAT_TOUCH_MS`). */
  start(): void {
    if (this.touchTimer) return;
    this.touchTimer = setInterval(() => this.touchSeats(), SEAT_TOUCH_MS);
    this.touchTimer.unref();
  }

  /** One seat heartbeat: for each Spaces room with members here, its connected users' seats. */
  touchSeats(): void {
    for (const room of this.rooms.all()) {
      const users = new Set<string>();
      for (const connection of room.connections.values()) {
        if (this.seats.has(connection)) users.add(connection.session.identity.userId);
      }
      if (users.size > 0) this.track(this.service.seats.touchSeats(room.id, [...users]));
    }
  }

  /** Waits for the store work leaves started; aborts responders. */
  async stop(): Promise<void> {
    if (this.touchTimer) clearInterval(this.touchTimer);
    this.touchTimer = null;
    this.stopping.abort();
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private async systemMessage(
    roomId: string,
    content: string,
    metadata: Record<string, unknown>,
    except?: string,
  ): Promise<void> {
    this.deliver(
      roomId,
      await this.service.insertServerMessage(roomId, 'system', content, metadata),
      except,
    );
  }

  /** Whether another seated connection of the user is in this node's copy of the room. */
  private hasOtherConnection(room: Room, userId: string, session: ClientSession): boolean {
    for (const connection of room.connections.values()) {
      const other = connection.session;
      if (other !== session && other.identity.userId === userId && this.seats.has(connection)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether the user has a connection in the room on any node. The cluster's directory decides,
   * as it does admission: it holds every node's connections (joining ones too) and takes a
   * leaving membership's out before `onLeave`, so of two tabs closing at once on two nodes, the
   * one asking last sees none left (each node's replica of the room could still show the other).
   */
  private async isConnected(roomId: string, userId: string): Promise<boolean> {
    return (await this.rooms.directory.users(roomId)).includes(userId);
  }

  /** After a failed join: the seat goes offline unless the user is still in the room somewhere. */
  private async offlineUnlessConnected(roomId: string, userId: string): Promise<void> {
    if (!(await this.isConnected(roomId, userId))) {
      await this.service.markOffline(userId, roomId);
    }
  }

  private track(work: Promise<unknown>): void {
    const tracked = work
      .catch((error: unknown) => {
        // A room deleted meanwhile has nobody left to tell.
        if (error instanceof SpacesError && error.code === 'not_found') return;
        this.logger.error({ err: error }, 'Spaces: updating a room failed');
      })
      .finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }
}
