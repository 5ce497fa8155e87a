import type { Selectable } from 'kysely';
import type { Database } from '../store/schema.js';
import { SpacesError } from './errors.js';

/** What the Spaces service hands out: camelCase, numbers for times, booleans for flags. */
export type MessageType = Database['room_messages']['message_type'];
export const MESSAGE_TYPES: readonly MessageType[] = [
  'user_text',
  'user_voice',
  'ai_response',
  'system',
];

/** The acting user of a Spaces operation: a verified JWT's, or a signed-in connection's. */
export interface SpacesActor {
  id: string;
  displayName: string;
}

export interface SpaceRoom {
  id: string;
  roomCode: string;
  name: string;
  hostUserId: string;
  maxParticipants: number;
  isActive: boolean;
  currentMode: string;
  state: Record<string, unknown>;
  createdAt: number;
  lastActivity: number;
}

export interface SpaceRoomSummary extends SpaceRoom {
  /** Participants holding a seat (online or not; banned users hold none). */
  participantCount: number;
}

export interface SpaceParticipant {
  id: string;
  roomId: string;
  userId: string;
  displayName: string;
  isOnline: boolean;
  joinedAt: number;
  lastSeen: number;
}

export interface SpaceMessage {
  id: number;
  roomId: string;
  /** Null for messages the server wrote (`system`, `ai_response`). */
  userId: string | null;
  messageType: MessageType;
  content: string;
  metadata: Record<string, unknown>;
  createdAt: number;
}

export interface MessagePage {
  /** Oldest first. */
  messages: SpaceMessage[];
  /** Pass as `before` for the next older page; null when this page reaches the first message. */
  nextBefore: number | null;
}

export type RoomRow = Selectable<Database['rooms']>;
export type ParticipantRow = Selectable<Database['room_participants']>;
export type MessageRow = Selectable<Database['room_messages']>;

export function toRoom(row: RoomRow): SpaceRoom {
  return {
    id: row.id,
    roomCode: row.room_code,
    name: row.name,
    hostUserId: row.host_user_id,
    maxParticipants: Number(row.max_participants),
    isActive: Number(row.is_active) === 1,
    currentMode: row.current_mode,
    state: JSON.parse(row.state) as Record<string, unknown>,
    createdAt: Number(row.created_at),
    lastActivity: Number(row.last_activity),
  };
}

export function toParticipant(row: ParticipantRow): SpaceParticipant {
  return {
    id: row.id,
    roomId: row.room_id,
    userId: row.user_id,
    displayName: row.display_name,
    isOnline: Number(row.is_online) === 1,
    joinedAt: Number(row.joined_at),
    lastSeen: Number(row.last_seen),
  };
}

export function toMessage(row: MessageRow): SpaceMessage {
  return {
    id: Number(row.id),
    roomId: row.room_id,
    userId: row.user_id,
    messageType: row.message_type,
    content: row.content,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    createdAt: Number(row.created_at),
  };
}

/* Input checks: every refusal is an `invalid_input` SpacesError. */

function invalid(message: string): never {
  throw new SpacesError('invalid_input', message);
}

export function checkUserId(userId: unknown): string {
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > 256) {
    invalid('a signed-in user is required');
  }
  return userId;
}

export function checkId(id: unknown, what: string): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > 256) invalid(`${what} is required`);
  return id;
}

/** Trimmed, 1 to `max` characters. */
export function checkText(value: unknown, what: string, max: number): string {
  const text = typeof value === 'string' ? value.trim() : '';
  if (text.length === 0 || text.length > max) invalid(`${what} must be 1 to ${max} characters`);
  return text;
}

export function checkMaxParticipants(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 50) {
    invalid('maxParticipants must be an integer from 1 to 50');
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

/** A JSON object of at most `maxBytes` once encoded, as its encoding. */
export function checkJsonObject(value: unknown, what: string, maxBytes: number): string {
  if (!isPlainObject(value)) invalid(`${what} must be a JSON object`);
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch {
    invalid(`${what} must be a JSON object`);
  }
  if (Buffer.byteLength(json) > maxBytes) invalid(`${what} must be at most ${maxBytes} bytes`);
  return json;
}

export function checkMessageType(value: unknown, allowed: readonly MessageType[]): MessageType {
  if (!allowed.includes(value as MessageType)) {
    invalid(`messageType must be one of ${allowed.join(', ')}`);
  }
  return value as MessageType;
}
