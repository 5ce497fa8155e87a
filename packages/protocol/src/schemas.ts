import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { ClientMessageIdSchema, envelope, RefSchema, RoomIdSchema } from './envelope-schema.js';
import { CHANNEL_PATTERN, MAX_CHANNEL_LENGTH, MAX_ROOM_PASSWORD_LENGTH } from './limits.js';
import { LiveCallSchema, LiveMountSchema, LiveUnmountSchema } from './live.js';
import { MAX_SPACES_DISPLAY_NAME_LENGTH, spacesClientSchemas } from './spaces.js';

/**
 * Runtime schemas of the built-in client→server messages. The envelope fields (`type`, `room`,
 * `ref`) are checked by the codec before these run, so each schema only states its own fields.
 * Built-in messages accept no unknown fields except `cursor:update`, whose extra fields travel
 * with the cursor.
 */

export const OnlineStatusSchema = Type.Union([
  Type.Literal('online'),
  Type.Literal('away'),
  Type.Literal('offline'),
]);

export const HeartbeatSchema = Type.Object(
  { type: Type.Literal('heartbeat'), ...envelope },
  { additionalProperties: false },
);

/** The presence fields a member sets: with `presence:update`, or at once with `room:join`. */
const presenceFields = {
  onlineStatus: Type.Optional(OnlineStatusSchema),
  isIdle: Type.Optional(Type.Boolean()),
  location: Type.Optional(Type.String({ maxLength: 256 })),
  metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  avatarUrl: Type.Optional(Type.String({ maxLength: 2048 })),
};

export const PresenceUpdateSchema = Type.Object(
  { type: Type.Literal('presence:update'), ...envelope, ...presenceFields },
  { additionalProperties: false },
);

/** A joiner's initial presence: it appears to the others with it, never as an empty entry. */
export const InitialPresenceSchema = Type.Object(presenceFields, { additionalProperties: false });

export const CursorUpdateSchema = Type.Object(
  {
    type: Type.Literal('cursor:update'),
    ...envelope,
    x: Type.Number(),
    y: Type.Number(),
  },
  { additionalProperties: true },
);

export const StateUpdateSchema = Type.Object(
  {
    type: Type.Literal('state:update'),
    ...envelope,
    key: Type.String({ minLength: 1, maxLength: 256 }),
    value: Type.Unknown(),
    merge: Type.Optional(Type.Boolean()),
    /** Accepted for compatibility with clients that send one, and ignored: the server's clock decides. */
    timestamp: Type.Optional(Type.Number()),
  },
  { additionalProperties: false },
);

/**
 * Joins a room. `password` is checked against a room that has one (and becomes the password of a
 * room this join creates); `maxUsers` and `metadata` are the settings of a room this join creates,
 * ignored when the room already exists. `metadata`'s size is checked by the server
 * (`limits.maxRoomMetadataBytes`).
 */
export const RoomJoinSchema = Type.Object(
  {
    type: Type.Literal('room:join'),
    room: RoomIdSchema,
    ref: Type.Optional(RefSchema),
    cid: Type.Optional(ClientMessageIdSchema),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_ROOM_PASSWORD_LENGTH })),
    maxUsers: Type.Optional(Type.Integer({ minimum: 1 })),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    /** This member's presence from the start (the same fields as `presence:update`). */
    presence: Type.Optional(InitialPresenceSchema),
    /** A Spaces room only: the name shown for this participant (default: the signed-in user's). */
    displayName: Type.Optional(
      Type.String({ minLength: 1, maxLength: MAX_SPACES_DISPLAY_NAME_LENGTH }),
    ),
  },
  { additionalProperties: false },
);

export const RoomLeaveSchema = Type.Object(
  {
    type: Type.Literal('room:leave'),
    room: RoomIdSchema,
    ref: Type.Optional(RefSchema),
    cid: Type.Optional(ClientMessageIdSchema),
  },
  { additionalProperties: false },
);

export const RoomListSchema = Type.Object(
  {
    type: Type.Literal('room:list'),
    ref: Type.Optional(RefSchema),
    cid: Type.Optional(ClientMessageIdSchema),
  },
  { additionalProperties: false },
);

/**
 * Publishes `payload` on a channel of the room: relayed to every other member, stamped with the
 * sender (`from`) and the server time. The channel follows the message type rule, up to 128.
 */
export const BroadcastSchema = Type.Object(
  {
    type: Type.Literal('broadcast'),
    ...envelope,
    channel: Type.String({
      minLength: 1,
      maxLength: MAX_CHANNEL_LENGTH,
      pattern: CHANNEL_PATTERN.source,
    }),
    payload: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

/** Base64 of a Yjs payload; its decoded size is checked against the server's update limit. */
const Base64 = Type.String({ maxLength: 16 * 1024 * 1024 });

/** Asks for the room's document: what the client lacks, and the server's state vector. */
export const StorageInitSchema = Type.Object(
  {
    type: Type.Literal('storage:init'),
    ...envelope,
    /** The client's Yjs state vector (base64); omitted or empty: the client has nothing. */
    stateVector: Type.Optional(Base64),
    /** A Yjs update the client brings (what the server may lack), applied before answering. */
    update: Type.Optional(Base64),
  },
  { additionalProperties: false },
);

/** One Yjs update (base64) to apply to the room's document. */
export const StorageOpsSchema = Type.Object(
  { type: Type.Literal('storage:ops'), ...envelope, update: Base64 },
  { additionalProperties: false },
);

/** Built-in client→server message schemas, by type. */
export const clientMessageSchemas = {
  heartbeat: HeartbeatSchema,
  'presence:update': PresenceUpdateSchema,
  'cursor:update': CursorUpdateSchema,
  'state:update': StateUpdateSchema,
  'room:join': RoomJoinSchema,
  'room:leave': RoomLeaveSchema,
  'room:list': RoomListSchema,
  broadcast: BroadcastSchema,
  'storage:init': StorageInitSchema,
  'storage:ops': StorageOpsSchema,
  'live:mount': LiveMountSchema,
  'live:call': LiveCallSchema,
  'live:unmount': LiveUnmountSchema,
  ...spacesClientSchemas,
} as const satisfies Record<string, TSchema>;

export type HeartbeatMessage = Static<typeof HeartbeatSchema>;
export type PresenceUpdateMessage = Static<typeof PresenceUpdateSchema>;
export type InitialPresence = Static<typeof InitialPresenceSchema>;
export type CursorUpdateMessage = Static<typeof CursorUpdateSchema> & Record<string, unknown>;
export type StateUpdateMessage = Static<typeof StateUpdateSchema>;
export type RoomJoinMessage = Static<typeof RoomJoinSchema>;
export type RoomLeaveMessage = Static<typeof RoomLeaveSchema>;
export type RoomListMessage = Static<typeof RoomListSchema>;
export type BroadcastMessage = Static<typeof BroadcastSchema>;
export type StorageInitMessage = Static<typeof StorageInitSchema>;
export type StorageOpsMessage = Static<typeof StorageOpsSchema>;
export type Ref = Static<typeof RefSchema>;
