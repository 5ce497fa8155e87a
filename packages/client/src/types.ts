/** Public types of the client API: connection, users, presence, cursors, rooms, messages. */

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected' | 'reconnecting';

/**
 * A user as the app describes them. `id` is always the server-verified `userId` of the
 * connection (from the `userId` query parameter or the server's `auth`); `name`, `avatar`,
 * `color` and custom fields are what the user's client declared, falling back to the server's
 * `displayName`, `avatarUrl` and palette color.
 */
export interface User {
  id: string;
  name?: string;
  avatar?: string;
  color?: string;
  [key: string]: unknown;
}

export interface PresenceState<T = Record<string, unknown>> {
  user: User;
  data: T;
  /** Last heartbeat or presence update (ms since epoch). */
  lastSeen: number;
  /** The user's status across their connections. */
  onlineStatus: 'online' | 'away' | 'offline';
}

export interface CursorPosition {
  x: number;
  y: number;
  /** When the server received the position (ms since epoch). */
  timestamp: number;
}

export interface CursorState extends CursorPosition {
  user: User;
}

export interface Room {
  id: string;
  users: User[];
  metadata?: Record<string, unknown>;
  createdAt: Date;
}

export interface RoomConfig {
  id: string;
  /** Needed to join a room created with a password; sets the password when this join creates the room. */
  password?: string;
  /** When this join creates the room: the most distinct users it admits. */
  maxUsers?: number;
  /**
   * Accepted; has no effect. Rooms on a Roomkit server keep their document in the server's store
   * whatever this says; live state and membership end with the room.
   */
  persist?: boolean;
}

/** A message as the client sees it: the fields below, plus whatever else the message carries. */
export interface RealtimeMessage<P = unknown> {
  type: string;
  payload?: P;
  room?: string;
  /** Sender's `userId`, set by the server. */
  from?: string;
  /** Set by the server on relayed messages (ms since epoch). */
  timestamp?: number;
  [field: string]: unknown;
}

/** The identity the server gave this connection (its `welcome`). */
export interface Session {
  connectionId: string;
  userId: string;
  displayName: string;
  color: string;
  heartbeatIntervalMs: number;
  maxMessageBytes: number;
  /** The room the url named (`/rooms/demo`), which the server joined at connect; else null. */
  room: string | null;
  /** The server's protocol version (1 for a server whose `welcome` names none). */
  protocol: number;
}

/** A refusal from the server, with its stable code (`room_full`, `wrong_password`, ...). */
export class RoomkitError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RoomkitError';
  }
}
