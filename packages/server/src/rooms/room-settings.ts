import { ErrorCode, MAX_ROOM_PASSWORD_LENGTH } from '@roomkit/protocol';
import { ProtocolError } from '../features/feature.js';

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
