import type { Bus } from '../bus/bus.js';
import type { StateLimits } from '../features/live-state-store.js';
import { guarded } from '../observability/guard.js';
import type { Logger } from '../observability/logger.js';
import { Room } from './room.js';

export type RoomUnloadListener = (room: Room) => void;

/**
 * Holds the live rooms and their cleanup timers, and answers membership queries
 * (the union of the lively `RoomManager` and the philjs membership `RoomManager`).
 */
export class RoomManager {
  private readonly rooms = new Map<string, Room>();
  private readonly cleanupTimers = new Map<string, NodeJS.Timeout>();
  private readonly unloadListeners: RoomUnloadListener[] = [];
  /** Seats promised to upgrades in flight, so concurrent joins cannot overfill a room. */
  private readonly reserved = new Map<string, number>();

  constructor(
    private readonly bus: Bus,
    private readonly logger: Logger,
    private readonly stateLimits: StateLimits = { maxKeys: 1000, maxBytes: 1024 * 1024 },
  ) {
    bus.attach((message) => {
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

  /** Runs when a room is removed (cleanup expiry, `remove`, or server stop). */
  onUnload(listener: RoomUnloadListener): void {
    this.unloadListeners.push(listener);
  }

  /** The room, created if needed. Cancels a pending cleanup, so a rejoin keeps the room's state. */
  getOrCreate(roomId: string): Room {
    this.cancelCleanup(roomId);
    let room = this.rooms.get(roomId);
    if (!room) {
      room = new Room(roomId, this.bus, this.stateLimits);
      this.rooms.set(roomId, room);
    }
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

  /** Removes the room after `timeoutMs` unless someone joins first (then `getOrCreate` cancels it). */
  scheduleCleanup(roomId: string, timeoutMs: number): void {
    this.cancelCleanup(roomId);
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
    return (this.rooms.get(roomId)?.size ?? 0) + (this.reserved.get(roomId) ?? 0);
  }

  reserve(roomId: string): void {
    this.reserved.set(roomId, (this.reserved.get(roomId) ?? 0) + 1);
  }

  release(roomId: string): void {
    const count = (this.reserved.get(roomId) ?? 1) - 1;
    if (count <= 0) this.reserved.delete(roomId);
    else this.reserved.set(roomId, count);
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
    if (!room) return [];
    return [...new Set(Array.from(room.connections.values(), (c) => c.user.userId))];
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
    const room = this.rooms.get(roomId);
    if (!room) return false;
    for (const connection of room.connections.values()) {
      if (connection.user.userId === userId) return true;
    }
    return false;
  }

  getRoomCount(): number {
    return this.rooms.size;
  }

  /** Distinct users in the room (a user with three tabs counts once). */
  getUserCount(roomId: string): number {
    return this.getUsers(roomId).length;
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
