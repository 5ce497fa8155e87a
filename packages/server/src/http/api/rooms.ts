import { randomUUID } from 'node:crypto';
import { isValidRoomId, MAX_ROOM_ID_LENGTH, ROOM_ID_PATTERN } from '@roomkit/protocol';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ROOM_ID_RULE } from '../upgrade-target.js';
import { ApiError, ApiErrorCode, checkBodyJson, errorResponses } from './errors.js';

/**
 * What the routes need of the live room manager (`server.liveRooms`): emit an event to every
 * member component of a live room, and the counts, all for the whole cluster.
 */
export interface LiveRoomsApi {
  /** Emits `event` with `data` to every component in the room; returns how many, on every node. */
  emitToRoom(roomId: string, event: string, data: unknown): number;
  getStats(): unknown;
}

export const MAX_USER_LENGTH = 128;
export const MAX_TEXT_LENGTH = 10_000;
export const MAX_EVENT_LENGTH = 128;
/** Who a message sent without `user` is from. */
export const DEFAULT_API_USER = 'API Bot';

export const RoomParams = Type.Object({
  roomId: Type.String({
    description: `A room id: ${ROOM_ID_RULE.replace(/^invalid room id: /, '')}.`,
    pattern: ROOM_ID_PATTERN.source,
    minLength: 1,
    maxLength: MAX_ROOM_ID_LENGTH,
  }),
});
export type RoomParams = Static<typeof RoomParams>;

export const MessageBody = Type.Object(
  {
    user: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: MAX_USER_LENGTH,
        description: `Shown as the sender. Default "${DEFAULT_API_USER}".`,
      }),
    ),
    text: Type.String({ minLength: 1, maxLength: MAX_TEXT_LENGTH }),
  },
  { additionalProperties: false },
);
export type MessageBody = Static<typeof MessageBody>;

export const ChatMessage = Type.Object({
  id: Type.String({ description: '`api-` followed by a random UUID.' }),
  user: Type.String(),
  text: Type.String(),
  timestamp: Type.Integer({ description: 'Server time, ms since the epoch.' }),
});

export const MessageResponse = Type.Object(
  {
    success: Type.Literal(true),
    message: ChatMessage,
    notified: Type.Integer({
      minimum: 0,
      description:
        'How many live components in the room, on every node of the cluster, received the event.',
    }),
  },
  { description: 'The message was emitted as `message:new`.' },
);

export const EmitBody = Type.Object(
  {
    event: Type.String({ minLength: 1, maxLength: MAX_EVENT_LENGTH }),
    data: Type.Optional(
      Type.Unknown({ description: 'Any JSON value; the event handlers get it.' }),
    ),
  },
  { additionalProperties: false },
);
export type EmitBody = Static<typeof EmitBody>;

export const EmitResponse = Type.Object(
  {
    success: Type.Literal(true),
    notified: Type.Integer({
      minimum: 0,
      description:
        'How many live components in the room, on every node of the cluster, received the event.',
    }),
  },
  { description: 'The event was emitted.' },
);

export const StatsResponse = Type.Object(
  {
    rooms: Type.Integer({
      minimum: 0,
      description: 'Live rooms with at least one member, on any node of the cluster.',
    }),
    components: Type.Integer({
      minimum: 0,
      description: 'Components in at least one live room, on every node of the cluster.',
    }),
    roomDetails: Type.Record(
      Type.String(),
      Type.Object(
        {
          components: Type.Integer({
            minimum: 0,
            description: 'Member components, on every node.',
          }),
          events: Type.Integer({
            minimum: 0,
            description: 'Event handlers registered on it, on every node.',
          }),
          stateKeys: Type.Integer({
            minimum: 0,
            description: "Top-level keys of the room's state.",
          }),
        },
        { additionalProperties: true, description: 'One live room, by room id.' },
      ),
    ),
  },
  {
    additionalProperties: true,
    description: "The live room manager's `getStats()`: the whole cluster's live rooms.",
  },
);

export interface RoomRoutesOptions {
  /** The live room manager (`server.liveRooms`). */
  liveRooms: LiveRoomsApi;
  /** Deepest nesting allowed in an emitted event's `data` (the server's `limits.maxDepth`). */
  maxDepth: number;
}

/** Refuses a bad room id before the body is looked at. */
async function checkRoomId(request: FastifyRequest): Promise<void> {
  const { roomId } = request.params as Partial<RoomParams>;
  if (!isValidRoomId(roomId)) throw new ApiError(400, ApiErrorCode.InvalidRoomId, ROOM_ID_RULE);
}

const ROOM_ERRORS = errorResponses(400, 401, 403, 413, 415, 429);

/**
 * `POST /api/rooms/:roomId/messages`, `POST /api/rooms/:roomId/emit`, `GET /api/rooms/stats`.
 * Registered inside the authenticated scope.
 */
export async function roomRoutes(app: FastifyInstance, options: RoomRoutesOptions): Promise<void> {
  app.post<{ Params: RoomParams; Body: MessageBody }>(
    '/api/rooms/:roomId/messages',
    {
      preValidation: checkRoomId,
      schema: {
        operationId: 'sendMessage',
        tags: ['rooms'],
        summary: 'Send a chat message into a live room',
        description:
          'Emits `message:new` with `{id, user, text, timestamp}` to every live component in the room.',
        params: RoomParams,
        body: MessageBody,
        response: { 200: MessageResponse, ...ROOM_ERRORS },
      },
    },
    async (request) => {
      const { roomId } = request.params;
      const message = {
        id: `api-${randomUUID()}`,
        user: request.body.user ?? DEFAULT_API_USER,
        text: request.body.text,
        timestamp: Date.now(),
      };
      const notified = options.liveRooms.emitToRoom(roomId, 'message:new', message);
      return { success: true as const, message, notified };
    },
  );

  app.post<{ Params: RoomParams; Body: EmitBody }>(
    '/api/rooms/:roomId/emit',
    {
      preValidation: checkRoomId,
      schema: {
        operationId: 'emitEvent',
        tags: ['rooms'],
        summary: 'Emit a custom event into a live room',
        description:
          'Every live component in the room that listens for `event` gets `data` (`null` when omitted).',
        params: RoomParams,
        body: EmitBody,
        response: { 200: EmitResponse, ...ROOM_ERRORS },
      },
    },
    async (request) => {
      const { roomId } = request.params;
      const data = request.body.data ?? null;
      checkBodyJson(data, 'data', options.maxDepth);
      const notified = options.liveRooms.emitToRoom(roomId, request.body.event, data);
      return { success: true as const, notified };
    },
  );

  app.get(
    '/api/rooms/stats',
    {
      schema: {
        operationId: 'roomStats',
        tags: ['rooms'],
        summary: 'Live room counts',
        response: { 200: StatsResponse, ...errorResponses(401, 403, 429) },
      },
    },
    async () => options.liveRooms.getStats(),
  );
}
