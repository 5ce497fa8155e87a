import type { ErrorCode } from './errors.js';
import {
  LIVE_SERVER_TYPES,
  type LiveCallMessage,
  type LiveMountMessage,
  type LiveServerMessage,
  type LiveUnmountMessage,
} from './live.js';
import type {
  BroadcastMessage,
  CursorUpdateMessage,
  HeartbeatMessage,
  PresenceUpdateMessage,
  Ref,
  RoomJoinMessage,
  RoomLeaveMessage,
  RoomListMessage,
  StateUpdateMessage,
  StorageInitMessage,
  StorageOpsMessage,
} from './schemas.js';
import {
  SPACES_SERVER_TYPES,
  type SpacesClientMessage,
  type SpacesServerMessage,
} from './spaces.js';

export type OnlineStatus = 'online' | 'away' | 'offline';

/** A user as the others in a room see them. One entry per `userId`, however many tabs it has open. */
export interface PresenceUser {
  userId: string;
  displayName: string;
  /** Assigned from an 8-color palette by a hash of `userId`: the same user always gets the same color. */
  color: string;
  /** When the user's earliest open connection joined (ms since epoch). */
  connectedAt: number;
  onlineStatus: OnlineStatus;
  /** Updated on every heartbeat and presence update (ms since epoch). */
  lastActiveAt: number;
  isIdle: boolean;
  avatarUrl?: string;
  location?: string;
  metadata?: Record<string, unknown>;
  /** How many connections (tabs, devices) this user has in the room. */
  connections: number;
}

/** A live-state entry. `timestamp` comes from the server's hybrid logical clock. */
export interface StateEntry {
  value: unknown;
  timestamp: number;
  userId: string;
}

/**
 * Fields every envelope may carry. `cid` is a client-generated message id (for offline dedupe);
 * `offset` is reserved for the server's per-room stream offset (gap-free recovery), so a
 * client-sent `offset` is dropped from relays.
 */
export interface Envelope {
  type: string;
  room?: string;
  ref?: Ref;
  cid?: string;
}

/** Any message whose type is not built in: passed to `onMessage` and relayed to the other members. */
export interface AppMessage extends Envelope {
  [field: string]: unknown;
}

export type BuiltInClientMessage =
  | HeartbeatMessage
  | PresenceUpdateMessage
  | CursorUpdateMessage
  | StateUpdateMessage
  | RoomJoinMessage
  | RoomLeaveMessage
  | RoomListMessage
  | BroadcastMessage
  | StorageInitMessage
  | StorageOpsMessage
  | LiveMountMessage
  | LiveCallMessage
  | LiveUnmountMessage
  | SpacesClientMessage;

export type BuiltInClientType = BuiltInClientMessage['type'];

// ---- server → client ----

export interface WelcomeServerMessage {
  type: 'welcome';
  connectionId: string;
  userId: string;
  displayName: string;
  color: string;
  /** The room named in the connection path, or null on the bare path. */
  room: string | null;
  heartbeatIntervalMs: number;
  maxMessageBytes: number;
  /** The protocol version the server speaks (`PROTOCOL_VERSION`). */
  protocol: number;
  /**
   * What the server supports beyond the base protocol, and which of it this connection turned on
   * (asked for with the upgrade's `capabilities` query parameter).
   */
  capabilities: { supported: Capability[]; enabled: Capability[] };
}

/** This protocol's version, in `welcome`. */
export const PROTOCOL_VERSION = 2;

/**
 * Optional protocol features a client turns on for its connection:
 * - `presence-delta`: after one `presence` snapshot per join, presence changes arrive as
 *   `presence:delta` (who joined, who left, which fields changed) instead of the whole list.
 */
export type Capability = 'presence-delta';
export const CAPABILITIES: readonly Capability[] = ['presence-delta'];

export interface PresenceServerMessage {
  type: 'presence';
  room: string;
  users: PresenceUser[];
}

/** A user's changed presence fields (only those that changed, plus `userId`). */
export type PresenceUserChanges = Partial<PresenceUser> & { userId: string };

/**
 * What changed in a room's presence since the last `presence` or `presence:delta` this connection
 * was sent (`presence-delta` capability). Apply in order: `left` (remove), `joined` (add or
 * replace the whole entry), `updated` (replace the named fields). Applying one twice is harmless.
 */
export interface PresenceDeltaServerMessage {
  type: 'presence:delta';
  room: string;
  joined?: PresenceUser[];
  updated?: PresenceUserChanges[];
  left?: string[];
}

export interface CursorPosition {
  userId: string;
  displayName: string;
  color: string;
  x: number;
  y: number;
  lastUpdate: number;
  [extra: string]: unknown;
}

export interface CursorServerMessage {
  type: 'cursor:update';
  room: string;
  cursor: CursorPosition;
}

export interface StateInitServerMessage {
  type: 'state:init';
  room: string;
  states: Record<string, StateEntry>;
}

export interface StateUpdateServerMessage {
  type: 'state:update';
  room: string;
  key: string;
  value: unknown;
  timestamp: number;
  userId: string;
}

export interface RoomListServerMessage {
  type: 'room:list';
  ref?: Ref;
  rooms: string[];
}

/** The server took this connection out of a room (e.g. the room was removed by the application). */
export interface RoomLeftServerMessage {
  type: 'room:left';
  room: string;
  reason: string;
}

/**
 * A room's settings as its members see them: sent to every joiner (after `state:init`) and to
 * every member when the application changes the room's metadata. Never carries the password.
 */
export interface RoomInfoServerMessage {
  type: 'room:info';
  room: string;
  /** When the room was created (ms since epoch). */
  createdAt: number;
  /** The room's metadata (`{}` when none was set). */
  metadata: Record<string, unknown>;
  /** The most distinct users the room admits, or null for no limit. */
  maxUsers: number | null;
  hasPassword: boolean;
}

/** The user as `room:user:joined` describes it: id, name, color and, from `auth`, avatar. */
export interface RoomEventUser {
  userId: string;
  displayName: string;
  color: string;
  avatarUrl?: string;
}

/** A user's first connection joined the room; sent to the room's other members. */
export interface RoomUserJoinedServerMessage {
  type: 'room:user:joined';
  room: string;
  payload: { userId: string; user: RoomEventUser };
  /** Server time (ms since epoch). */
  timestamp: number;
}

/** A user's last connection left the room; sent to the remaining members. `payload` is its userId. */
export interface RoomUserLeftServerMessage {
  type: 'room:user:left';
  room: string;
  payload: string;
  /** Server time (ms since epoch). */
  timestamp: number;
}

/** A message published on a broadcast channel, as the other members receive it. */
export interface BroadcastServerMessage {
  type: 'broadcast';
  room: string;
  channel: string;
  /** What the sender published (`null` when it sent none). */
  payload: unknown;
  /** The sender's `userId`, or `"server"` for `RoomServer.broadcast`. */
  from: string;
  /** Server time (ms since epoch) when the message was relayed. */
  timestamp: number;
  cid?: string;
}

/** Answer to a client's `storage:init`: what it lacked, and the server's state vector. */
export interface StorageInitServerMessage {
  type: 'storage:init';
  room: string;
  /** Yjs update (base64) with everything the client's state vector did not cover. */
  update: string;
  /** The server's state vector (base64): send back what it lacks as `storage:ops`. */
  stateVector: string;
  ref?: Ref;
}

/** Another member's change to the room's document, stamped by the server. */
export interface StorageOpsServerMessage {
  type: 'storage:ops';
  room: string;
  /** Yjs update (base64). */
  update: string;
  /** The sender's `userId`. */
  from: string;
  /** The server's hybrid logical clock when it applied the change. */
  clock: number;
}

export interface AckServerMessage {
  type: 'ack';
  ref: Ref;
  room?: string;
}

export interface ErrorServerMessage {
  type: 'error';
  code: ErrorCode;
  message: string;
  ref?: Ref;
  room?: string;
}

/** An application message as relayed: the sender's fields plus the server's stamp. */
export interface RelayedServerMessage extends AppMessage {
  room: string;
  /** The sender's `userId`, set by the server (a client cannot forge it). */
  from: string;
  /** Server time (ms since epoch) when the message was relayed. */
  timestamp: number;
}

export type ServerMessage =
  | WelcomeServerMessage
  | PresenceServerMessage
  | PresenceDeltaServerMessage
  | CursorServerMessage
  | StateInitServerMessage
  | StateUpdateServerMessage
  | RoomListServerMessage
  | RoomLeftServerMessage
  | RoomInfoServerMessage
  | RoomUserJoinedServerMessage
  | RoomUserLeftServerMessage
  | BroadcastServerMessage
  | StorageInitServerMessage
  | StorageOpsServerMessage
  | AckServerMessage
  | ErrorServerMessage
  | LiveServerMessage
  | SpacesServerMessage;

/** Types only the server sends; a client sending one gets `reserved_type`. */
export const SERVER_ONLY_TYPES: ReadonlySet<string> = new Set([
  'welcome',
  'presence',
  'presence:delta',
  'state:init',
  'ack',
  'error',
  'room:left',
  'room:info',
  'room:user:joined',
  'room:user:left',
  ...LIVE_SERVER_TYPES,
  ...SPACES_SERVER_TYPES,
]);

/** Built-in types of CRDT (Yjs) storage. */
export const STORAGE_TYPES: ReadonlySet<string> = new Set(['storage:init', 'storage:ops']);
