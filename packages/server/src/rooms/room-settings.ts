import { createHash, timingSafeEqual } from 'node:crypto';
import { ErrorCode, MAX_ROOM_PASSWORD_LENGTH } from '@roomkit/protocol';
import { type FeatureContext, ProtocolError } from '../features/feature.js';

/**
 * What a room is created with: by the `room:join` (or path upgrade) that creates it, or by the
 * application (`RoomServer.createRoom`). Fixed for the room's life, except `metadata`
 * (`Room.setMetadata`).
 */
export interface RoomSettings {
  /** Every later join must present it. Kept only as a digest. 1-256 characters. */
  password?: string;
  /** The most distinct users (`userId`s) the room admits; another tab of a member is always admitted. */
  maxUsers?: number;
  /** Application data every member receives in `room:info`. A JSON object. */
  metadata?: Record<string, unknown>;
}

/**
 * A room's password, as a SHA-256 digest: the room never holds the password itself, and every
 * comparison is of two 32-byte digests in constant time, so neither the password's content nor its
 * length leaks through timing. It is an in-memory secret shared by a room's members, not a user
 * password database, so a fast unsalted digest is enough.
 */
export class RoomPassword {
  private readonly digest: Buffer;

  constructor(password: string) {
    this.digest = digestOf(password);
  }

  /** True if `candidate` is the password; a missing candidate never matches. */
  matches(candidate: string | undefined): boolean {
    if (candidate === undefined) return false;
    return timingSafeEqual(this.digest, digestOf(candidate));
  }
}

function digestOf(password: string): Buffer {
  // UTF-16 code units, not UTF-8: UTF-8 turns every lone surrogate into U+FFFD, so distinct
  // passwords would share a digest.
  return createHash('sha256').update(Buffer.from(password, 'utf16le')).digest();
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * A private JSON copy of application-supplied metadata: what members receive is what the room
 * holds, later changes to the caller's object do not leak in unannounced, and a value JSON cannot
 * carry (a BigInt, a cycle) fails at the caller rather than in a broadcast.
 */
export function copyMetadata(name: string, metadata: unknown): Record<string, unknown> {
  if (!isPlainObject(metadata)) {
    throw new TypeError(`${name}: metadata must be a plain object`);
  }
  return JSON.parse(JSON.stringify(metadata)) as Record<string, unknown>;
}

/**
 * Checks settings handed to the server API (a client's are checked by the protocol schema); throws
 * a `TypeError` naming the bad one.
 */
export function checkSettings(name: string, settings: RoomSettings): RoomSettings {
  const { password, maxUsers, metadata } = settings;
  if (
    password !== undefined &&
    (typeof password !== 'string' ||
      password.length === 0 ||
      password.length > MAX_ROOM_PASSWORD_LENGTH)
  ) {
    throw new TypeError(
      `${name}: password must be a string of 1-${MAX_ROOM_PASSWORD_LENGTH} characters`,
    );
  }
  if (maxUsers !== undefined && (!Number.isInteger(maxUsers) || maxUsers < 1)) {
    throw new TypeError(
      `${name}: maxUsers must be a whole number of at least 1, got ${String(maxUsers)}`,
    );
  }
  const checked: RoomSettings = {};
  if (password !== undefined) checked.password = password;
  if (maxUsers !== undefined) checked.maxUsers = maxUsers;
  if (metadata !== undefined) checked.metadata = copyMetadata(name, metadata);
  return checked;
}

/**
 * The room's own admission rules, after the server's limits: the password of an existing room,
 * then its `maxUsers` (or, for a room this join creates, the `maxUsers` it asks for; upgrades in
 * flight count), then the size of the metadata a creating join brings. A join that does not create
 * the room ignores its `maxUsers` and `metadata`.
 */
export function checkRoomAccess(
  ctx: FeatureContext,
  roomId: string,
  userId: string,
  options: RoomSettings,
): void {
  const room = ctx.rooms.get(roomId);
  if (room && !room.admitsPassword(options.password)) {
    throw new ProtocolError(
      ErrorCode.WrongPassword,
      `wrong or missing password for room "${roomId}"`,
    );
  }
  const maxUsers = room ? room.maxUsers : (options.maxUsers ?? null);
  if (!ctx.rooms.admitsUser(roomId, userId, maxUsers)) {
    throw new ProtocolError(
      ErrorCode.RoomFull,
      `room "${roomId}" is full: it admits at most ${maxUsers} users`,
    );
  }
  if (!room && options.metadata !== undefined) {
    checkMetadataSize('room:join', options.metadata, ctx.config.limits.maxRoomMetadataBytes);
  }
}

/** Refuses `metadata` larger than `max` JSON bytes (`metadata_too_large`, naming the message). */
export function checkMetadataSize(what: string, metadata: unknown, max: number): void {
  const size = Buffer.byteLength(JSON.stringify(metadata));
  if (size > max) {
    throw new ProtocolError(
      ErrorCode.MetadataTooLarge,
      `${what}: metadata is ${size} bytes; the limit is ${max}`,
    );
  }
}
