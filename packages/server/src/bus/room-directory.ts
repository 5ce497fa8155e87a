import {
  admit,
  newRoomRecord,
  type RoomRecord,
  releaseSeat,
  type SeatAnswer,
  type SeatRequest,
} from '../rooms/admission.js';
import type { RoomDescription } from './messages.js';

/** A value now (an in-process directory) or later (one behind a network). */
export type MaybePromise<T> = T | Promise<T>;

/**
 * The cluster's authoritative record of every room: its settings and its seats. Every node asks
 * it before admitting a connection, so passwords, `maxUsers` and capacity hold across nodes; an
 * implementation runs `admit` atomically (one process: a plain call; Redis: a transaction).
 */
export interface RoomDirectory {
  /** Admits the connection (taking its seat) or says why not; creates the room if it is new. */
  claim(request: SeatRequest): MaybePromise<SeatAnswer>;
  /** Gives a seat back. Answers the seats left in the room (0 also when there is no such room). */
  release(roomId: string, connectionId: string): MaybePromise<number>;
  /** Creates a room ahead of its members; false if one of that id exists. */
  create(
    roomId: string,
    settings: { maxUsers: number | null; metadata: Record<string, unknown>; pinned: boolean },
    passwordDigest: string | null,
    now: number,
  ): MaybePromise<RoomDescription | null>;
  /** The room's settings, or null if there is no such room. */
  describe(roomId: string): MaybePromise<RoomDescription | null>;
  /** Replaces the room's metadata; the new description, or null if there is no such room. */
  setMetadata(
    roomId: string,
    metadata: Record<string, unknown>,
  ): MaybePromise<RoomDescription | null>;
  /** Forgets the room, seats and all. */
  remove(roomId: string): MaybePromise<void>;
  /** Forgets the room if it is this incarnation, has no seats and is not pinned. */
  removeIfEmpty(roomId: string, incarnation: string): MaybePromise<boolean>;
  /** Gives back every seat a node held (it left or died). */
  releaseNode(nodeId: string): MaybePromise<void>;
  /** Distinct users holding a seat in the room, on every node. */
  users(roomId: string): MaybePromise<string[]>;
  /** Ids of the rooms where the user holds a seat, on every node. */
  roomsOf(userId: string): MaybePromise<string[]>;
  /** How many rooms exist in the cluster. */
  roomCount(): MaybePromise<number>;
}

/** The directory of one process: every call completes synchronously, so it is trivially atomic. */
export class MemoryRoomDirectory implements RoomDirectory {
  private readonly records = new Map<string, RoomRecord>();

  claim(request: SeatRequest): SeatAnswer {
    const { answer, record } = admit(this.records.get(request.room), request, this.records.size);
    if (record) this.records.set(request.room, record);
    return answer;
  }

  release(roomId: string, connectionId: string): number {
    const record = this.records.get(roomId);
    if (!record) return 0;
    releaseSeat(record, connectionId);
    return record.seats.size;
  }

  create(
    roomId: string,
    settings: { maxUsers: number | null; metadata: Record<string, unknown>; pinned: boolean },
    passwordDigest: string | null,
    now: number,
  ): RoomDescription | null {
    if (this.records.has(roomId)) return null;
    const record = newRoomRecord(settings, passwordDigest, now);
    this.records.set(roomId, record);
    return record.description;
  }

  describe(roomId: string): RoomDescription | null {
    return this.records.get(roomId)?.description ?? null;
  }

  setMetadata(roomId: string, metadata: Record<string, unknown>): RoomDescription | null {
    const record = this.records.get(roomId);
    if (!record) return null;
    record.description = { ...record.description, metadata };
    return record.description;
  }

  remove(roomId: string): void {
    this.records.delete(roomId);
  }

  removeIfEmpty(roomId: string, incarnation: string): boolean {
    const record = this.records.get(roomId);
    if (
      !record ||
      record.description.incarnation !== incarnation ||
      record.description.pinned ||
      record.seats.size > 0
    ) {
      return false;
    }
    this.records.delete(roomId);
    return true;
  }

  releaseNode(nodeId: string): void {
    for (const record of this.records.values()) {
      for (const [connectionId, seat] of record.seats) {
        if (seat.nodeId === nodeId) releaseSeat(record, connectionId);
      }
    }
  }

  users(roomId: string): string[] {
    return [...(this.records.get(roomId)?.users.keys() ?? [])];
  }

  roomsOf(userId: string): string[] {
    const rooms: string[] = [];
    for (const [roomId, record] of this.records) if (record.users.has(userId)) rooms.push(roomId);
    return rooms;
  }

  roomCount(): number {
    return this.records.size;
  }
}
