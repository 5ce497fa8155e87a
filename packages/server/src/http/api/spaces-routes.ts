import type { FastifyInstance, FastifyRequest } from 'fastify';
import { checkBodyJson } from './errors.js';
import {
  BanParams,
  CreateBody,
  DoneAnswer,
  JoinAnswer,
  JoinBody,
  KickAnswer,
  KickBody,
  MessagesAnswer,
  MessagesQuery,
  messagePage,
  ParticipantsAnswer,
  RoomAnswer,
  RoomCodeParams,
  RoomIdParams,
  RoomsAnswer,
  StateBody,
  spacesErrors,
  UnbanAnswer,
} from './spaces-schemas.js';
import { type UserAuth, userOf } from './user-auth.js';

export interface SpacesRoutesOptions {
  auth: UserAuth;
  /** Deepest nesting allowed in a room's `state` patch (the server's `limits.maxDepth`). */
  maxDepth: number;
}

/** The OpenAPI fields every Spaces route has: its id, tag, credential and words. */
function about(operationId: string, summary: string, description?: string) {
  const words = description === undefined ? { summary } : { summary, description };
  return { operationId, tags: ['spaces'], security: [{ userBearer: [] }], ...words };
}
/** Every Spaces route can be refused for its token, a server without Spaces, or the limit. */
const READ_ERRORS = spacesErrors(400, 401, 403, 404, 429);
const WRITE_ERRORS = spacesErrors(400, 401, 403, 404, 413, 415, 429);

/** A join without a body is a join without a display name (the body is optional). */
async function optionalBody(request: FastifyRequest): Promise<void> {
  request.body ??= {};
}

/**
 * The Spaces routes of the contract (`/api/rooms/...` with a JWT), registered inside the scope
 * whose `onRequest` hooks authenticate the user and apply the per-user rate limit. Every route
 * asks the hub, which enforces who may do what and throws `SpacesError`s the error handler maps.
 */
export async function spacesRoutes(
  app: FastifyInstance,
  options: SpacesRoutesOptions,
): Promise<void> {
  const { auth, maxDepth } = options;

  app.get(
    '/api/rooms',
    {
      schema: {
        ...about(
          'listSpaceRooms',
          'The rooms you host or have a seat in',
          'Most recently active first.',
        ),
        response: { 200: RoomsAnswer, ...spacesErrors(401, 404, 429) },
      },
    },
    async (request) => ({
      success: true as const,
      rooms: await auth.hub().listRooms(userOf(request)),
    }),
  );

  app.post<{ Body: CreateBody }>(
    '/api/rooms/create',
    {
      schema: {
        ...about(
          'createSpaceRoom',
          'Create a room you host',
          'The room gets a unique 6-character code. A user hosts at most 5 active rooms (`room_limit`, 429).',
        ),
        body: CreateBody,
        response: { 201: RoomAnswer, ...WRITE_ERRORS },
      },
    },
    async (request, reply) => {
      const room = await auth.hub().createRoom(userOf(request), request.body);
      return reply.code(201).send({ success: true as const, room });
    },
  );

  app.get<{ Params: RoomCodeParams }>(
    '/api/rooms/code/:roomCode',
    {
      schema: {
        ...about(
          'getSpaceRoomByCode',
          'Look a room up by its code',
          'Anyone signed in: the code is what people share to invite.',
        ),
        params: RoomCodeParams,
        response: { 200: RoomAnswer, ...spacesErrors(400, 401, 404, 429) },
      },
    },
    async (request) => ({
      success: true as const,
      room: await auth.hub().getRoomByCode(userOf(request), request.params.roomCode),
    }),
  );

  app.get<{ Params: RoomIdParams }>(
    '/api/rooms/:roomId',
    {
      schema: {
        ...about('getSpaceRoom', 'A room with its participants', 'The host and participants only.'),
        params: RoomIdParams,
        response: { 200: RoomAnswer, ...READ_ERRORS },
      },
    },
    async (request) => ({
      success: true as const,
      room: await auth.hub().getRoom(userOf(request), request.params.roomId),
    }),
  );

  app.post<{ Params: RoomIdParams; Body: JoinBody }>(
    '/api/rooms/:roomId/join',
    {
      preValidation: optionalBody,
      schema: {
        ...about(
          'checkSpaceJoin',
          'Check that you may join a room',
          'Takes no seat: the seat is taken by `room:join` over the WebSocket. Refused with `room_full` or `banned` (403).',
        ),
        params: RoomIdParams,
        body: JoinBody,
        response: { 200: JoinAnswer, ...WRITE_ERRORS },
      },
    },
    async (request) => ({
      success: true as const,
      room: await auth.hub().checkJoin(userOf(request), request.params.roomId),
      canJoin: true as const,
    }),
  );

  app.delete<{ Params: RoomIdParams }>(
    '/api/rooms/:roomId/leave',
    {
      schema: {
        ...about(
          'leaveSpaceRoom',
          'Give up your seat',
          'Your live sockets leave the room; the others are told.',
        ),
        params: RoomIdParams,
        response: { 200: DoneAnswer, ...READ_ERRORS },
      },
    },
    async (request) => {
      await auth.hub().leave(userOf(request), request.params.roomId);
      return { success: true as const };
    },
  );

  app.get<{ Params: RoomIdParams }>(
    '/api/rooms/:roomId/participants',
    {
      schema: {
        ...about(
          'listSpaceParticipants',
          'The participants of a room',
          'The host and participants only; oldest seat first.',
        ),
        params: RoomIdParams,
        response: { 200: ParticipantsAnswer, ...READ_ERRORS },
      },
    },
    async (request) => ({
      success: true as const,
      participants: await auth.hub().participants(userOf(request), request.params.roomId),
    }),
  );

  app.get<{ Params: RoomIdParams; Querystring: MessagesQuery }>(
    '/api/rooms/:roomId/messages',
    {
      schema: {
        ...about(
          'listSpaceMessages',
          'A page of a room’s messages',
          'The host and participants only. The newest `limit` messages (older than `before`), oldest first; `nextBefore` fetches the page before. (`POST` on this path is the API-key route of live rooms.)',
        ),
        params: RoomIdParams,
        querystring: MessagesQuery,
        response: { 200: MessagesAnswer, ...READ_ERRORS },
      },
    },
    async (request) => {
      const page = messagePage(request.query);
      const result = await auth.hub().messages(userOf(request), request.params.roomId, page);
      return { success: true as const, messages: result.messages, nextBefore: result.nextBefore };
    },
  );

  app.patch<{ Params: RoomIdParams; Body: StateBody }>(
    '/api/rooms/:roomId/state',
    {
      schema: {
        ...about(
          'updateSpaceState',
          'Change the mode or state of a room',
          'The host only. Everyone in the room gets `room:state-updated`.',
        ),
        params: RoomIdParams,
        body: StateBody,
        response: { 200: RoomAnswer, ...WRITE_ERRORS },
      },
    },
    async (request) => {
      checkBodyJson(request.body.state ?? null, 'state', maxDepth);
      const room = await auth
        .hub()
        .updateState(userOf(request), request.params.roomId, request.body);
      return { success: true as const, room };
    },
  );

  app.delete<{ Params: RoomIdParams }>(
    '/api/rooms/:roomId',
    {
      schema: {
        ...about(
          'deleteSpaceRoom',
          'Delete a room',
          'The host only. Participants and messages go with it; live sockets are told.',
        ),
        params: RoomIdParams,
        response: { 200: DoneAnswer, ...READ_ERRORS },
      },
    },
    async (request) => {
      await auth.hub().deleteRoom(userOf(request), request.params.roomId);
      return { success: true as const };
    },
  );

  app.post<{ Params: RoomIdParams; Body: KickBody }>(
    '/api/rooms/:roomId/kick',
    {
      schema: {
        ...about(
          'kickSpaceParticipant',
          'Remove a participant (and optionally ban)',
          'The host only. A banned user cannot join again until unbanned.',
        ),
        params: RoomIdParams,
        body: KickBody,
        response: { 200: KickAnswer, ...WRITE_ERRORS },
      },
    },
    async (request) => {
      const { userId, ban } = request.body;
      const { removed } = await auth
        .hub()
        .kick(userOf(request), request.params.roomId, userId, ban ?? false);
      return { success: true as const, removed };
    },
  );

  app.delete<{ Params: BanParams }>(
    '/api/rooms/:roomId/bans/:userId',
    {
      schema: {
        ...about('unbanSpaceUser', 'Lift a ban', 'The host only.'),
        params: BanParams,
        response: { 200: UnbanAnswer, ...READ_ERRORS },
      },
    },
    async (request) => {
      const { roomId, userId } = request.params;
      const { unbanned } = await auth.hub().unban(userOf(request), roomId, userId);
      return { success: true as const, unbanned };
    },
  );
}
