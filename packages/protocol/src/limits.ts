/**
 * Room ids: 1-128 characters, letters, digits and `_ . : @ ~ -`, starting with a letter or digit.
 * The set is URL-path safe, so a room id never needs escaping in `/rooms/{roomId}`.
 */
export const ROOM_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:@~-]{0,127}$/;
export const MAX_ROOM_ID_LENGTH = 128;

/** Message types: 1-64 printable characters without spaces. */
export const MESSAGE_TYPE_PATTERN = /^[\x21-\x7e]{1,64}$/;

/** Broadcast channel names: like message types, 1-128 printable characters without spaces. */
export const CHANNEL_PATTERN = /^[\x21-\x7e]{1,128}$/;
export const MAX_CHANNEL_LENGTH = 128;

/** Room passwords: 1-256 characters (JavaScript string length). */
export const MAX_ROOM_PASSWORD_LENGTH = 256;

/** Keys rejected anywhere in an inbound message, so no merge can ever reach an object prototype. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
]);

/** A JSON object (not null, not an array): what a message, a state or a metadata field must be. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isValidRoomId(value: unknown): value is string {
  return typeof value === 'string' && ROOM_ID_PATTERN.test(value);
}

/** Defaults for the per-message limits the codec enforces. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;
export const DEFAULT_MAX_DEPTH = 32;
/** Default for `limits.maxRoomMetadataBytes`: the room `metadata` a creating `room:join` may set. */
export const DEFAULT_MAX_ROOM_METADATA_BYTES = 4096;
