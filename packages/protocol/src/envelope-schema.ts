import { Type } from '@sinclair/typebox';
import { MAX_ROOM_ID_LENGTH } from './limits.js';

/**
 * The envelope fields every built-in client message schema shares (schemas.ts, live.ts,
 * spaces.ts), in one place so those modules need not import each other.
 */

export const RefSchema = Type.Union([Type.String({ maxLength: 64 }), Type.Integer()]);
export const RoomIdSchema = Type.String({ minLength: 1, maxLength: MAX_ROOM_ID_LENGTH });
/** A client-generated message id (reserved for offline dedupe); accepted and passed through. */
export const ClientMessageIdSchema = Type.String({ minLength: 1, maxLength: 64 });
/** `room` (optional: the connection's default room), `ref` and `cid`. */
export const envelope = {
  room: Type.Optional(RoomIdSchema),
  ref: Type.Optional(RefSchema),
  cid: Type.Optional(ClientMessageIdSchema),
};
