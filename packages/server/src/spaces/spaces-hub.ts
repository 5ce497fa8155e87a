import type { SpacesMessage, SpacesParticipant, SpacesRoom } from '@roomkit/protocol';
import type { Logger } from '../observability/logger.js';
import { SpacesError } from './errors.js';
import { messageJson, participantJson, roomJson } from './json.js';
import type { SpaceRoom, SpacesActor } from './model.js';
import type { ResolvedSpacesConfig } from './spaces-config.js';
import type { SpacesLive } from './spaces-live.js';
import type { SpacesService } from './spaces-service.js';

/**
 * What the REST API and the WebSocket handlers call: the service's operations for an acting
 * user, answered in the JSON shapes both carry, with their effects on the live rooms on every
 * node (a state change is broadcast, a deleted room empties, a kicked user is taken out). Throws
 * `SpacesError`.
 */
export class SpacesHub {
  private cleanupTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly service: SpacesService,
    readonly live: SpacesLive,
    private readonly config: ResolvedSpacesConfig,
    private readonly logger: Logger,
  ) {}

  async createRoom(
    user: SpacesActor,
    body: { name: string; maxParticipants?: number },
  ): Promise<SpacesRoom> {
    const room = await this.service.createRoom(user.id, body.name, body.maxParticipants);
    return this.json(room);
  }

  /** Anyone signed in: the code is the capability to join, so it shows who is there. */
  async getRoomByCode(user: SpacesActor, code: string): Promise<SpacesRoom> {
    const { id } = await this.service.getRoomByCode(user.id, code);
    const { room, participants } = await this.service.seats.snapshot(id);
    return roomJson(room, this.config.joinLinkBase, participants);
  }

  async getRoom(user: SpacesActor, roomId: string): Promise<SpacesRoom> {
    await this.service.getRoomById(user.id, roomId);
    const { room, participants } = await this.service.seats.snapshot(roomId);
    return roomJson(room, this.config.joinLinkBase, participants);
  }

  /** `POST /join`: whether the user may take a seat now; takes none (the WebSocket join does). */
  async checkJoin(user: SpacesActor, roomId: string): Promise<SpacesRoom> {
    return this.json(await this.service.seats.checkJoin(user.id, roomId));
  }

  /** Gives the user's seat up for good; the user's connections leave and the room is told. */
  async leave(user: SpacesActor, roomId: string): Promise<void> {
    // Unknown room: not_found; someone else's room: forbidden; the host without a seat: no seat.
    const seat = (await this.service.getParticipants(user.id, roomId)).find(
      (p) => p.userId === user.id,
    );
    if (!seat || !(await this.service.leaveRoom(user.id, roomId))) {
      throw new SpacesError('not_found', 'you have no seat in this room');
    }
    this.live.removeUser(roomId, user.id, 'left');
    await this.live.announceLeft(roomId, user.id, seat.displayName, 'left');
  }

  async participants(user: SpacesActor, roomId: string): Promise<SpacesParticipant[]> {
    const { hostUserId } = await this.service.getRoomById(user.id, roomId);
    const list = await this.service.getParticipants(user.id, roomId);
    return list.map((p) => participantJson(p, { hostUserId }));
  }

  async messages(
    user: SpacesActor,
    roomId: string,
    page: { limit?: number; before?: number },
  ): Promise<{ messages: SpacesMessage[]; nextBefore: number | null }> {
    const result = await this.service.getRoomMessages(user.id, roomId, page);
    return { messages: result.messages.map(messageJson), nextBefore: result.nextBefore };
  }

  /** The host only; every member hears `room:state-updated`. */
  async updateState(
    user: SpacesActor,
    roomId: string,
    body: { currentMode?: string; state?: Record<string, unknown> },
  ): Promise<SpacesRoom> {
    const room = await this.service.updateRoomState(user.id, roomId, body);
    this.live.stateUpdated(room, user.id);
    return this.json(room);
  }

  /** The host only; members are taken out (`room:left`, reason `room removed`). */
  async deleteRoom(user: SpacesActor, roomId: string): Promise<void> {
    await this.service.deleteRoom(user.id, roomId);
    await this.live.removeRoom(roomId);
  }

  /** The host only: the user loses the seat (and with `ban`, may not come back). */
  async kick(
    user: SpacesActor,
    roomId: string,
    targetUserId: string,
    ban: boolean,
  ): Promise<{ removed: boolean }> {
    await this.service.getRoomById(user.id, roomId);
    const seat = (await this.service.seats.snapshot(roomId)).participants.find(
      (p) => p.userId === targetUserId,
    );
    const removed = await this.service.kickParticipant(user.id, roomId, targetUserId, { ban });
    const reason = ban ? 'banned' : 'kicked';
    // Connections without a seat cannot be in the room, but a ban must keep out any there is.
    this.live.removeUser(roomId, targetUserId, reason);
    if (seat) await this.live.announceLeft(roomId, targetUserId, seat.displayName, reason);
    return { removed: seat !== undefined && removed };
  }

  async unban(
    user: SpacesActor,
    roomId: string,
    targetUserId: string,
  ): Promise<{ unbanned: boolean }> {
    return { unbanned: await this.service.unbanParticipant(user.id, roomId, targetUserId) };
  }

  /** Rooms the user hosts or has a seat in, most recently active first. */
  async listRooms(user: SpacesActor): Promise<SpacesRoom[]> {
    const rooms = await this.service.listUserRooms(user.id);
    return rooms.map((room) => this.json(room));
  }

  /**
   * Posts a `system` or `ai_response` message from server code: stored, then sent to every
   * member as `room:message-received`. Throws `not_found` for an unknown room.
   */
  async postServerMessage(
    roomId: string,
    content: string,
    options: { messageType?: 'system' | 'ai_response'; metadata?: Record<string, unknown> } = {},
  ): Promise<SpacesMessage> {
    const type = options.messageType ?? 'system';
    const message = await this.service.insertServerMessage(roomId, type, content, options.metadata);
    this.live.deliver(roomId, message);
    return messageJson(message);
  }

  /**
   * Starts the periodic cleanup (`spaces.cleanup`; deleted rooms' live members are taken out)
   * and the seat heartbeat of connected users.
   */
  startCleanup(): void {
    this.live.start();
    const { cleanup } = this.config;
    if (!cleanup || this.cleanupTimer) return;
    this.cleanupTimer = setInterval(() => void this.cleanupNow(), cleanup.intervalMs);
    this.cleanupTimer.unref();
  }

  /** One cleanup run: deletes inactive rooms; returns their ids. Failures are logged. */
  async cleanupNow(): Promise<string[]> {
    const inactiveAfterMs = this.config.cleanup?.inactiveAfterMs;
    try {
      const ids = await this.service.deleteInactiveRooms(inactiveAfterMs);
      for (const id of ids) await this.live.removeRoom(id);
      if (ids.length > 0) this.logger.info({ rooms: ids.length }, 'Spaces: inactive rooms deleted');
      return ids;
    } catch (error) {
      this.logger.error({ err: error }, 'Spaces: cleanup failed');
      return [];
    }
  }

  async stop(): Promise<void> {
    if (this.cleanupTimer) clearInterval(this.cleanupTimer);
    this.cleanupTimer = null;
    await this.live.stop();
  }

  private json(room: SpaceRoom): SpacesRoom {
    return roomJson(room, this.config.joinLinkBase);
  }
}
