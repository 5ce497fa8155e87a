import { type Static, Type } from '@sinclair/typebox';
import { ClientMessageIdSchema, envelope, RefSchema } from './envelope-schema.js';
import type { ErrorCode } from './errors.js';

/**
 * Spaces (docs/protocol.md §19): persistent rooms with codes, hosts, seats and message history,
 * kept in the server's SQL store. A Spaces room is joined with the core `room:join`; these are the
 * events around it. Refusals of them (and of a `room:join`/`room:leave` of a Spaces room) come as
 * `room:error`, shaped like `error`.
 */

/** Longest token `room:authenticate` accepts. */
export const MAX_TOKEN_LENGTH = 8192;
/** Longest message `content` (characters). */
export const MAX_SPACES_CONTENT_LENGTH = 4000;
/** Longest participant display name (a `room:join` `displayName`, a seat's, a guest's). */
export const MAX_SPACES_DISPLAY_NAME_LENGTH = 64;
/** Most messages one `room:history` page (and the history in `room:joined`) carries. */
export const MAX_SPACES_HISTORY_PAGE = 100;

/** Signs this connection in with a JWT (when the upgrade carried none). */
export const RoomAuthenticateSchema = Type.Object(
  {
    type: Type.Literal('room:authenticate'),
    ref: Type.Optional(RefSchema),
    cid: Type.Optional(ClientMessageIdSchema),
    token: Type.String({ minLength: 1, maxLength: MAX_TOKEN_LENGTH }),
  },
  { additionalProperties: false },
);

/** Posts a message to the room; it is stored, then sent to every member as `room:message-received`. */
export const RoomMessageSchema = Type.Object(
  {
    type: Type.Literal('room:message'),
    ...envelope,
    messageType: Type.Union([Type.Literal('user_text'), Type.Literal('user_voice')]),
    content: Type.String({ minLength: 1, maxLength: MAX_SPACES_CONTENT_LENGTH }),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

/** The host changes the room's mode and/or merges keys into its state (a key set to null is removed). */
export const RoomStateUpdateSchema = Type.Object(
  {
    type: Type.Literal('room:state-update'),
    ...envelope,
    currentMode: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    state: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

/** The Spaces heartbeat: this participant is still here (`last_seen` now). */
export const RoomPresenceUpdateSchema = Type.Object(
  { type: Type.Literal('room:presence-update'), ...envelope },
  { additionalProperties: false },
);

export const RoomVoiceStartSchema = Type.Object(
  { type: Type.Literal('room:voice-start'), ...envelope },
  { additionalProperties: false },
);

export const RoomVoiceStopSchema = Type.Object(
  { type: Type.Literal('room:voice-stop'), ...envelope },
  { additionalProperties: false },
);

/** Asks for an older page of messages; answered with `room:messages-history`. */
export const RoomHistorySchema = Type.Object(
  {
    type: Type.Literal('room:history'),
    ...envelope,
    /** Messages older than this message id (default: the newest). */
    before: Type.Optional(Type.Integer({ minimum: 1 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_SPACES_HISTORY_PAGE })),
  },
  { additionalProperties: false },
);

/** The host takes a participant's seat (and with `ban`, keeps the user out). */
export const RoomKickSchema = Type.Object(
  {
    type: Type.Literal('room:kick'),
    ...envelope,
    userId: Type.String({ minLength: 1, maxLength: 256 }),
    ban: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const spacesClientSchemas = {
  'room:authenticate': RoomAuthenticateSchema,
  'room:message': RoomMessageSchema,
  'room:state-update': RoomStateUpdateSchema,
  'room:presence-update': RoomPresenceUpdateSchema,
  'room:voice-start': RoomVoiceStartSchema,
  'room:voice-stop': RoomVoiceStopSchema,
  'room:history': RoomHistorySchema,
  'room:kick': RoomKickSchema,
} as const;

/** Client types whose refusals are `room:error` (besides a Spaces room's `room:join`/`room:leave`). */
export const SPACES_CLIENT_TYPES: ReadonlySet<string> = new Set(Object.keys(spacesClientSchemas));

export type RoomAuthenticateMessage = Static<typeof RoomAuthenticateSchema>;
export type RoomMessageMessage = Static<typeof RoomMessageSchema>;
export type RoomStateUpdateMessage = Static<typeof RoomStateUpdateSchema>;
export type RoomPresenceUpdateMessage = Static<typeof RoomPresenceUpdateSchema>;
export type RoomVoiceStartMessage = Static<typeof RoomVoiceStartSchema>;
export type RoomVoiceStopMessage = Static<typeof RoomVoiceStopSchema>;
export type RoomHistoryMessage = Static<typeof RoomHistorySchema>;
export type RoomKickMessage = Static<typeof RoomKickSchema>;

export type SpacesClientMessage =
  | RoomAuthenticateMessage
  | RoomMessageMessage
  | RoomStateUpdateMessage
  | RoomPresenceUpdateMessage
  | RoomVoiceStartMessage
  | RoomVoiceStopMessage
  | RoomHistoryMessage
  | RoomKickMessage;

// ---- server → client (times are ISO-8601 strings, as in the REST API) ----

export interface SpacesUser {
  id: string;
  displayName: string;
  /** Signed in through the dev guest endpoint. */
  guest: boolean;
}

export interface SpacesRoom {
  id: string;
  roomCode: string;
  name: string;
  maxParticipants: number;
  hostUserId: string;
  currentMode: string;
  isActive: boolean;
  /** The room's free-form state (the host's `room:state-update` keys, `conversationActive`). */
  state: Record<string, unknown>;
  createdAt: string;
  lastActivity: string;
  /** Where people join: `{joinLinkBase}/{roomCode}`. */
  joinLink: string;
  participantCount?: number;
  participants?: SpacesParticipant[];
}

export interface SpacesParticipant {
  id: string;
  roomId: string;
  userId: string;
  displayName: string;
  isOnline: boolean;
  isHost: boolean;
  joinedAt: string;
  lastSeen: string;
}

export type SpacesMessageType = 'user_text' | 'user_voice' | 'ai_response' | 'system';

export interface SpacesMessage {
  /** Increasing per server: page with `before`. */
  id: number;
  roomId: string;
  /** Null for messages the server wrote (`system`, `ai_response`). */
  userId: string | null;
  messageType: SpacesMessageType;
  content: string;
  metadata: Record<string, unknown>;
  createdAt: string;
}

/** What `room:joined` and `room:state-updated` carry as `state`. */
export interface SpacesRoomState {
  currentMode: string;
  hostUserId: string;
  conversationActive: boolean;
  /** The room's free-form state. */
  values: Record<string, unknown>;
}

export interface SpacesHistory {
  /** Oldest first. */
  messages: SpacesMessage[];
  /** Pass as `before` for the next older page; null at the first message. */
  nextBefore: number | null;
}

export interface RoomAuthenticatedServerMessage {
  type: 'room:authenticated';
  user: SpacesUser;
  ref?: string | number;
}

/** The answer to a `room:join` of a Spaces room. */
export interface RoomJoinedServerMessage {
  type: 'room:joined';
  room: string;
  space: SpacesRoom;
  participants: SpacesParticipant[];
  state: SpacesRoomState;
  history: SpacesHistory;
  ref?: string | number;
}

export interface RoomParticipantJoinedServerMessage {
  type: 'room:participant-joined';
  room: string;
  participant: SpacesParticipant;
}

export interface RoomParticipantLeftServerMessage {
  type: 'room:participant-left';
  room: string;
  userId: string;
  displayName: string;
  reason: 'left' | 'disconnected' | 'kicked' | 'banned';
}

export interface RoomMessageReceivedServerMessage {
  type: 'room:message-received';
  room: string;
  message: SpacesMessage;
}

export interface RoomMessagesHistoryServerMessage extends SpacesHistory {
  type: 'room:messages-history';
  room: string;
  ref?: string | number;
}

export interface RoomStateUpdatedServerMessage {
  type: 'room:state-updated';
  room: string;
  state: SpacesRoomState;
  /** Who changed it. */
  userId: string;
}

export interface RoomVoiceServerMessage {
  type: 'room:voice-started' | 'room:voice-stopped';
  room: string;
  userId: string;
  displayName: string;
}

export interface RoomErrorServerMessage {
  type: 'room:error';
  code: ErrorCode;
  message: string;
  ref?: string | number;
  room?: string;
}

export type SpacesServerMessage =
  | RoomAuthenticatedServerMessage
  | RoomJoinedServerMessage
  | RoomParticipantJoinedServerMessage
  | RoomParticipantLeftServerMessage
  | RoomMessageReceivedServerMessage
  | RoomMessagesHistoryServerMessage
  | RoomStateUpdatedServerMessage
  | RoomVoiceServerMessage
  | RoomErrorServerMessage;

export const SPACES_SERVER_TYPES: readonly SpacesServerMessage['type'][] = [
  'room:authenticated',
  'room:joined',
  'room:participant-joined',
  'room:participant-left',
  'room:message-received',
  'room:messages-history',
  'room:state-updated',
  'room:voice-started',
  'room:voice-stopped',
  'room:error',
];
