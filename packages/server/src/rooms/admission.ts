import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { ErrorCode } from '@roomkit/protocol';

type RefusalCode =
  | typeof ErrorCode.RoomLimit
  | typeof ErrorCode.RoomFull
  | typeof ErrorCode.WrongPassword
  | typeof ErrorCode.MetadataTooLarge;

import type { RoomDescription } from '../bus/messages.js';

/**
 * Admission to a room, decided against the room's authoritative record (the cluster's directory
 * holds it): the one place where capacity, the password and `maxUsers` are checked, so every join
 * on every node obeys the same rules, and a directory that runs it atomically admits no more
 * than a limit, whatever the race.
 */

/** A room's authoritative record: its settings and who holds a seat, on which node. */
export interface RoomRecord {
  description: RoomDescription;
  /** SHA-256 of the password (hex), or null: the record never holds the password itself. */
  passwordDigest: string | null;
  /** Seats by connection id. */
  seats: Map<string, Seat>;
  /** Seats per user: distinct users for `maxUsers`. */
  users: Map<string, number>;
}

export interface Seat {
  userId: string;
  nodeId: string;
}

/** What a join asks of the directory. */
export interface SeatRequest {
  room: string;
  connectionId: string;
  userId: string;
  nodeId: string;
  /** Digest of the password the join presents, or null for none. */
  passwordDigest: string | null;
  /** The most connections the room admits (`maxConnectionsPerRoom`). */
  maxConnections: number;
  /** Settings of the room, used only if this join creates it. */
  create: { maxUsers: number | null; metadata: Record<string, unknown> };
  /** The most rooms the cluster holds (`limits.maxRooms`): a join past it creates none. */
  maxRooms: number;
  /** The size of `create.metadata` (JSON bytes) and the most a join may bring. */
  metadataBytes: number;
  maxMetadataBytes: number;
  now: number;
}

export type SeatAnswer =
  | { ok: true; description: RoomDescription; created: boolean }
  | { ok: false; code: RefusalCode; message: string };

/** The digest a password is kept and compared as: SHA-256 over its UTF-16 code units, in hex. */
export function passwordDigest(password: string | undefined): string | null {
  if (password === undefined) return null;
  // UTF-16 code units, not UTF-8: UTF-8 turns every lone surrogate into U+FFFD, so distinct
  // passwords would share a digest.
  return createHash('sha256').update(Buffer.from(password, 'utf16le')).digest('hex');
}

/** Compares two digests in constant time; a missing candidate never matches. */
function digestsMatch(expected: string, candidate: string | null): boolean {
  if (candidate === null || candidate.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(candidate, 'hex'));
}

/** A fresh record for a room created by a join or by the application. */
export function newRoomRecord(
  settings: { maxUsers: number | null; metadata: Record<string, unknown>; pinned: boolean },
  digest: string | null,
  now: number,
): RoomRecord {
  return {
    description: {
      incarnation: randomUUID(),
      createdAt: now,
      maxUsers: settings.maxUsers,
      hasPassword: digest !== null,
      metadata: settings.metadata,
      pinned: settings.pinned,
    },
    passwordDigest: digest,
    seats: new Map(),
    users: new Map(),
  };
}

/**
 * Decides a join against `record` (undefined: the room does not exist, and this join creates it)
 * and, when admitted, takes the seat. Checks, in order: for a new room, the cluster's room count
 * (`roomCount` rooms exist); the room's connection capacity, its
 * password, its distinct-user limit (another connection of a seated user is always admitted),
 * and for a join that creates the room, the size of the metadata it brings.
 * Returns the record to keep (a new one when the join created the room).
 */
export function admit(
  record: RoomRecord | undefined,
  request: SeatRequest,
  roomCount: number,
): { answer: SeatAnswer; record: RoomRecord | undefined } {
  const created = record === undefined;
  if (created && roomCount >= request.maxRooms) {
    return {
      answer: refusal(
        ErrorCode.RoomLimit,
        `the server is at its limit of ${request.maxRooms} rooms`,
      ),
      record,
    };
  }
  const target =
    record ??
    newRoomRecord(
      { maxUsers: request.create.maxUsers, metadata: request.create.metadata, pinned: false },
      request.passwordDigest,
      request.now,
    );
  if (target.seats.has(request.connectionId)) {
    return { answer: { ok: true, description: target.description, created: false }, record };
  }
  if (target.seats.size >= request.maxConnections) {
    return { answer: refusal(ErrorCode.RoomFull, `room "${request.room}" is full`), record };
  }
  if (
    !created &&
    target.passwordDigest !== null &&
    !digestsMatch(target.passwordDigest, request.passwordDigest)
  ) {
    return {
      answer: refusal(
        ErrorCode.WrongPassword,
        `wrong or missing password for room "${request.room}"`,
      ),
      record,
    };
  }
  const { maxUsers } = target.description;
  if (maxUsers !== null && !target.users.has(request.userId) && target.users.size >= maxUsers) {
    return {
      answer: refusal(
        ErrorCode.RoomFull,
        `room "${request.room}" is full: it admits at most ${maxUsers} users`,
      ),
      record,
    };
  }
  if (created && request.metadataBytes > request.maxMetadataBytes) {
    return {
      answer: refusal(
        ErrorCode.MetadataTooLarge,
        `room:join: metadata is ${request.metadataBytes} bytes; the limit is ${request.maxMetadataBytes}`,
      ),
      record,
    };
  }
  target.seats.set(request.connectionId, { userId: request.userId, nodeId: request.nodeId });
  target.users.set(request.userId, (target.users.get(request.userId) ?? 0) + 1);
  return { answer: { ok: true, description: target.description, created }, record: target };
}

function refusal(code: RefusalCode, message: string): SeatAnswer {
  return { ok: false, code, message };
}

/** Gives a seat back; returns whether it was held. */
export function releaseSeat(record: RoomRecord, connectionId: string): boolean {
  const seat = record.seats.get(connectionId);
  if (!seat) return false;
  record.seats.delete(connectionId);
  const left = (record.users.get(seat.userId) ?? 1) - 1;
  if (left > 0) record.users.set(seat.userId, left);
  else record.users.delete(seat.userId);
  return true;
}
