import { MAX_SPACES_DISPLAY_NAME_LENGTH, MAX_SPACES_HISTORY_PAGE } from '@roomkit/protocol';
import { type Static, Type } from '@sinclair/typebox';
import { ApiError, ApiErrorCode, describedErrors, patternWithMessage } from './errors.js';

/**
 * Typebox schemas of the Spaces routes: what ajv checks (bodies refuse unknown fields; nothing is
 * coerced) and what the OpenAPI document shows. Answers are written by JSON.stringify; their
 * schemas document them.
 */

const TIMESTAMP = { format: 'date-time', description: 'ISO-8601, UTC.' } as const;

/** What ajv would say of a number sent as a query string value it cannot parse. */
const DIGITS = patternWithMessage('^[0-9]{1,16}$', 'must be a whole number');
const ROOM_CODE = patternWithMessage(
  '^[A-Za-z0-9]{6}$',
  'must be a 6-character room code (letters and digits)',
);

export const RoomIdParams = Type.Object({
  roomId: Type.String({
    minLength: 1,
    maxLength: 256,
    description: 'The room id (a UUID) of `room.id`.',
  }),
});
export type RoomIdParams = Static<typeof RoomIdParams>;

export const RoomCodeParams = Type.Object({
  roomCode: Type.String({
    pattern: ROOM_CODE,
    description: 'The 6-character code people share; case does not matter.',
  }),
});
export type RoomCodeParams = Static<typeof RoomCodeParams>;

export const BanParams = Type.Object({
  roomId: RoomIdParams.properties.roomId,
  userId: Type.String({ minLength: 1, maxLength: 256, description: 'The banned user id.' }),
});
export type BanParams = Static<typeof BanParams>;

export const MessagesQuery = Type.Object({
  limit: Type.Optional(
    Type.String({
      pattern: DIGITS,
      description: 'Page size: an integer from 1 to 100 (default 50).',
    }),
  ),
  before: Type.Optional(
    Type.String({
      pattern: DIGITS,
      description: 'Only messages with a smaller id: the `nextBefore` of the previous page.',
    }),
  ),
});
export type MessagesQuery = Static<typeof MessagesQuery>;

/** `limit` and `before` of the messages route: query strings are text; ajv does not coerce. */
export function messagePage(query: MessagesQuery): { limit?: number; before?: number } {
  const page: { limit?: number; before?: number } = {};
  if (query.limit !== undefined) {
    const limit = Number(query.limit);
    if (limit < 1 || limit > MAX_SPACES_HISTORY_PAGE) {
      throw new ApiError(
        400,
        ApiErrorCode.BadRequest,
        `querystring/limit must be an integer from 1 to ${MAX_SPACES_HISTORY_PAGE}`,
      );
    }
    page.limit = limit;
  }
  if (query.before !== undefined) {
    const before = Number(query.before);
    if (!Number.isSafeInteger(before) || before < 1) {
      throw new ApiError(
        400,
        ApiErrorCode.BadRequest,
        'querystring/before must be a message id (a positive integer)',
      );
    }
    page.before = before;
  }
  return page;
}

export const CreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, description: 'Trimmed; 1-100 characters.' }),
    maxParticipants: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 50, description: 'Seats (default 10).' }),
    ),
  },
  { additionalProperties: false },
);
export type CreateBody = Static<typeof CreateBody>;

export const JoinBody = Type.Object(
  {
    displayName: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: MAX_SPACES_DISPLAY_NAME_LENGTH,
        description:
          'Accepted for compatibility and not used; the name shown is the one sent with `room:join`.',
      }),
    ),
  },
  { additionalProperties: false, description: 'Optional: a request without a body is fine.' },
);
export type JoinBody = Static<typeof JoinBody>;

export const StateBody = Type.Object(
  {
    currentMode: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    state: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: 'Merged into the room state; a key set to null is removed. At most 16 KiB.',
      }),
    ),
  },
  { additionalProperties: false, description: 'At least one of the two.' },
);
export type StateBody = Static<typeof StateBody>;

export const KickBody = Type.Object(
  {
    userId: Type.String({ minLength: 1, maxLength: 256 }),
    ban: Type.Optional(
      Type.Boolean({ description: 'Also keep the user out until unbanned (default false).' }),
    ),
  },
  { additionalProperties: false },
);
export type KickBody = Static<typeof KickBody>;

export const GuestBody = Type.Object(
  {
    displayName: Type.String({
      minLength: 1,
      maxLength: MAX_SPACES_DISPLAY_NAME_LENGTH,
      description: 'Trimmed; 1-64.',
    }),
  },
  { additionalProperties: false },
);
export type GuestBody = Static<typeof GuestBody>;

export const Participant = Type.Object(
  {
    id: Type.String(),
    roomId: Type.String(),
    userId: Type.String(),
    displayName: Type.String(),
    isOnline: Type.Boolean(),
    isHost: Type.Boolean(),
    joinedAt: Type.String(TIMESTAMP),
    lastSeen: Type.String(TIMESTAMP),
  },
  { $id: 'SpaceParticipant' },
);

export const Room = Type.Object(
  {
    id: Type.String({ description: 'A UUID.' }),
    roomCode: Type.String({ description: '6 characters of A-Z (no I, O) and 2-9.' }),
    name: Type.String(),
    maxParticipants: Type.Integer({ minimum: 1, maximum: 50 }),
    hostUserId: Type.String(),
    currentMode: Type.String(),
    isActive: Type.Boolean(),
    state: Type.Record(Type.String(), Type.Unknown(), { description: 'Free-form JSON.' }),
    createdAt: Type.String(TIMESTAMP),
    lastActivity: Type.String(TIMESTAMP),
    joinLink: Type.String({ description: 'A link to share (the server’s `joinLinkBase` + code).' }),
    participantCount: Type.Optional(Type.Integer({ minimum: 0, description: 'Seats taken.' })),
    participants: Type.Optional(Type.Array(Type.Ref(Participant))),
  },
  { $id: 'SpaceRoom' },
);

export const Message = Type.Object(
  {
    id: Type.Integer({ minimum: 1, description: 'Grows with time; page with `before`.' }),
    roomId: Type.String(),
    userId: Type.Union([Type.String(), Type.Null()], { description: 'Null: the server wrote it.' }),
    messageType: Type.String({ description: 'user_text, user_voice, ai_response or system.' }),
    content: Type.String(),
    metadata: Type.Record(Type.String(), Type.Unknown()),
    createdAt: Type.String(TIMESTAMP),
  },
  { $id: 'SpaceMessage' },
);

export const User = Type.Object(
  {
    id: Type.String({ description: 'The token’s `sub`.' }),
    displayName: Type.String(),
    guest: Type.Boolean(),
  },
  { $id: 'SpaceUser' },
);

const ok = Type.Literal(true);
const RoomRef = Type.Ref(Room);

export const RoomAnswer = Type.Object({ success: ok, room: RoomRef });
export const JoinAnswer = Type.Object(
  { success: ok, room: RoomRef, canJoin: Type.Literal(true) },
  { description: 'The user may join: now send `room:join` over the WebSocket.' },
);
export const DoneAnswer = Type.Object({ success: ok });
export const RoomsAnswer = Type.Object({ success: ok, rooms: Type.Array(RoomRef) });
export const ParticipantsAnswer = Type.Object({
  success: ok,
  participants: Type.Array(Type.Ref(Participant)),
});
export const MessagesAnswer = Type.Object({
  success: ok,
  messages: Type.Array(Type.Ref(Message), { description: 'Oldest first.' }),
  nextBefore: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Pass as `before` for the previous page; null at the first message.',
  }),
});
export const KickAnswer = Type.Object({
  success: ok,
  removed: Type.Boolean({ description: 'False when there was nothing to do.' }),
});
export const UnbanAnswer = Type.Object({
  success: ok,
  unbanned: Type.Boolean({ description: 'False when the user was not banned.' }),
});
export const GuestAnswer = Type.Object({
  success: ok,
  token: Type.String({ description: 'A JWT for `Authorization: Bearer` and `room:authenticate`.' }),
  user: Type.Ref(User),
});

/** The shared schemas the answers refer to (added to the app once). */
export const SPACES_SCHEMAS = [Participant, Room, Message, User];

/** What each error status of a Spaces route means. */
const SPACES_MEANINGS: Readonly<Record<number, string>> = {
  400: '`bad_request`: a field is wrong (the message names it).',
  401: '`unauthorized`: no token, a bad or expired one, or a server without `jwt`.',
  403: '`forbidden` (not a participant, not the host), `room_full` or `banned`.',
  404: '`not_found`: no such room (or code), or Spaces is off on this server.',
  413: '`payload_too_large`: the body is larger than the limit.',
  415: '`unsupported_media_type`: the Content-Type is not `application/json`.',
  429: '`rate_limited` (too many requests for this user; `Retry-After` says when), or `room_limit` (too many active rooms).',
};

/** The error answers of a Spaces route, for the OpenAPI document. */
export function spacesErrors(...statuses: number[]): Record<number, unknown> {
  return describedErrors(SPACES_MEANINGS, [...statuses]);
}
