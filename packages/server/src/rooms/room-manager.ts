import { isValidRoomId } from '@roomkit/protocol';
import type { Bus, LiveEventBusMessage } from '../bus/bus.js';
import type { StateLimits } from '../features/live-state-store.js';
import { guarded } from '../observability/guard.js';
import type { Logger } from '../observability/logger.js';
import { Room } from './room.js';
import { checkSettings, type RoomSettings } from './room-settings.js';

export type RoomUnloadListener = (room: Room) => void;

/**
 * Holds the live rooms and their cleanup timers, and answers membership queries
 * (the union of the lively `RoomManager` and the philjs membership `RoomManager`).
 */
export class RoomManager {
  private readonly rooms = new Map<string, Room>();
  private readonly cleanupTimers = new Map<string, NodeJS.Timeout>();
  private readonly unloadListeners: RoomUnloadListener[] = [];
  /**
   * Seats promised to upgrades in flight, by room and user, so concurrent joins can overfill
   * neither `maxConnections` nor `maxUsers`.
   */
  private readonly reserved = new Map<string, Map<string, number>>();
  /** Where `live-event` bus messages go (the server's `RoomEventBus`): live rooms are not `Room`s. */
  private liveEvents: ((message: LiveEventBusMessage) => void) | null = null;

  constructor(
    private readonly bus: Bus,
    private readonly logger: Logger,
    private readonly stateLimits: StateLimits = { maxKeys: 1000, maxBytes: 1024 * 1024 },
  ) {
    bus.attach((message) => {
      if (message.kind === 'live-event') {
        this.liveEvents?.(message);
        return;
      }
      const room = this.rooms.get(message.room);
      if (!room) return;
      switch (message.kind) {
        case 'broadcast':
          room.deliver(message.data, message.exclude, message.lossy);
          break;
        case 'batch':
          room.deliverBatch(message.items);
          break;
        case 'storage':
          room.deliverStorage(message.update, message.clock, message.from, message.exclude);
          break;
        case 'awareness':
          room.deliverToYjsPeers(message.message);
          break;
      }
    });
  }

  /** Receives the live-component room events the bus delivers to this node. */
  onLiveEvent(handler: (message: LiveEventBusMessage) => void): void {
    this.liveEvents = handler;
  }

  /** Runs when a room is removed (cleanup expiry, `remove`, or server stop). */
  onUnload(listener: RoomUnloadListener): void {
    this.unloadListeners.push(listener);
  }

  /**
   * The room, created with `settings` if needed (an existing room keeps its own). Cancels a
   * pending cleanup, so a rejoin keeps the room's state.
   */
  getOrCreate(roomId: string, settings?: RoomSettings): Room {
    this.cancelCleanup(roomId);
    let room = this.rooms.get(roomId);
    if (!room) {
      room = new Room(roomId, this.bus, this.stateLimits, settings);
      this.rooms.set(roomId, room);
    }
    return room;
  }

  /**
   * Creates an empty room with `settings` ahead of its members (server API). The room is pinned:
   * it is not cleaned up while empty, so its password holds until the application calls `remove`.
   * It counts toward `limits.maxRooms` but is not refused by it. Throws a `TypeError` for an invalid
   * room id or setting, and an `Error` if the room already exists (a room in its empty grace period
   * too: `remove` it first to recreate it).
   */
  create(roomId: string, settings: RoomSettings = {}): Room {
    if (!isValidRoomId(roomId)) {
      throw new TypeError(`RoomManager.create: "${roomId}" is not a valid room id`);
    }
    const checked = checkSettings('RoomManager.create', settings);
    if (this.rooms.has(roomId)) {
      throw new Error(`RoomManager.create: room "${roomId}" already exists`);
    }
    const room = new Room(roomId, this.bus, this.stateLimits, checked, true);
    this.rooms.set(roomId, room);
    return room;
  }

  get(roomId: string): Room | undefined {
    return this.rooms.get(roomId);
  }

  /** Removes a room now and cancels its cleanup timer. Its members stay connected but roomless. */
  remove(roomId: string): void {
    this.cancelCleanup(roomId);
    const room = this.rooms.get(roomId);
    if (!room) return;
    this.rooms.delete(roomId);
    for (const listener of this.unloadListeners) listener(room);
  }

  /**
   * Removes the room after `timeoutMs` unless someone joins first (then `getOrCreate` cancels it).
   * A pinned room is kept.
   */
  scheduleCleanup(roomId: string, timeoutMs: number): void {
    this.cancelCleanup(roomId);
    if (this.rooms.get(roomId)?.pinned) return;
    const timer = setTimeout(() => {
      this.cleanupTimers.delete(roomId);
      const room = this.rooms.get(roomId);
      if (room && room.size === 0) guarded(this.logger, 'room cleanup', () => this.remove(roomId));
    }, timeoutMs);
    timer.unref();
    this.cleanupTimers.set(roomId, timer);
  }

  /** Members plus seats reserved by upgrades in flight. */
  occupancy(roomId: string): number {
    let seats = this.rooms.get(roomId)?.size ?? 0;
    for (const count of this.reserved.get(roomId)?.values() ?? []) seats += count;
    return seats;
  }

  /**
   * Whether `userId` fits a room that admits `maxUsers` distinct users (null: no limit): a user
   * already in the room, or with an upgrade in flight to it, always does (another tab); a new one
   * if the distinct users, counting those of upgrades in flight, are fewer than `maxUsers`.
   */
  admitsUser(roomId: string, userId: string, maxUsers: number | null): boolean {
    if (maxUsers === null) return true;
    const room = this.rooms.get(roomId);
    const pending = this.reserved.get(roomId);
    if ((room?.connectionsOf(userId) ?? 0) > 0 || pending?.has(userId)) return true;
    let users = room?.userCount ?? 0;
    for (const pendingUser of pending?.keys() ?? []) {
      if ((room?.connectionsOf(pendingUser) ?? 0) === 0) users++;
    }
    return users < maxUsers;
  }

  /** Holds a seat for an upgrade in flight until `release`. */
  reserve(roomId: string, userId: string): void {
    let users = this.reserved.get(roomId);
    if (!users) {
      users = new Map();
      this.reserved.set(roomId, users);
    }
    users.set(userId, (users.get(userId) ?? 0) + 1);
  }

  release(roomId: string, userId: string): void {
    const users = this.reserved.get(roomId);
    if (!users) return;
    const count = (users.get(userId) ?? 1) - 1;
    if (count > 0) users.set(userId, count);
    else users.delete(userId);
    if (users.size === 0) this.reserved.delete(roomId);
  }

  hasPendingCleanup(roomId: string): boolean {
    return this.cleanupTimers.has(roomId);
  }

  all(): IterableIterator<Room> {
    return this.rooms.values();
  }

  get roomCount(): number {
    return this.rooms.size;
  }

  // ---- membership queries ----

  /** Distinct user ids connected to the room. */
  getUsers(roomId: string): string[] {
    const room = this.rooms.get(roomId);
    return room ? [...room.userIds()] : [];
  }

  /** Ids of the rooms the user has at least one connection in. */
  getRooms(userId: string): string[] {
    const result: string[] = [];
    for (const room of this.rooms.values()) {
      if (this.isInRoom(room.id, userId)) result.push(room.id);
    }
    return result;
  }

  isInRoom(roomId: string, userId: string): boolean {
    return (this.rooms.get(roomId)?.connectionsOf(userId) ?? 0) > 0;
  }

  getRoomCount(): number {
    return this.rooms.size;
  }

  /** Distinct users in the room (a user with three tabs counts once). */
  getUserCount(roomId: string): number {
    return this.rooms.get(roomId)?.userCount ?? 0;
  }

  private cancelCleanup(roomId: string): void {
    const timer = this.cleanupTimers.get(roomId);
    if (timer) {
      clearTimeout(timer);
      this.cleanupTimers.delete(roomId);
    }
  }

  /** Removes every room (server stop). */
  clear(): void {
    for (const roomId of [...this.rooms.keys()]) this.remove(roomId);
  }
}
