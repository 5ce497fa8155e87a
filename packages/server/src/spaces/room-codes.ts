import { randomInt } from 'node:crypto';

/** A–Z without I and O, and 2–9: no characters that read alike (0/O, 1/I/L... ). */
export const ROOM_CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
export const ROOM_CODE_LENGTH = 6;

const ROOM_CODE = /^[A-HJ-NP-Z2-9]{6}$/;

/** A new room code from the cryptographic RNG (uniqueness is the database's to check). */
export function generateRoomCode(): string {
  let code = '';
  for (let i = 0; i < ROOM_CODE_LENGTH; i++) {
    code += ROOM_CODE_ALPHABET[randomInt(ROOM_CODE_ALPHABET.length)];
  }
  return code;
}

/**
 * The canonical form of a code a person typed (trimmed, upper case), or null when it cannot be
 * a room code.
 */
export function normalizeRoomCode(input: unknown): string | null {
  if (typeof input !== 'string') return null;
  const code = input.trim().toUpperCase();
  return ROOM_CODE.test(code) ? code : null;
}
