import type { CursorPosition } from '@roomkit/protocol';
import { encodeServerMessage } from '@roomkit/protocol';
import { guarded } from '../observability/guard.js';
import type { Room } from '../rooms/room.js';
import {
  type Feature,
  type FeatureContext,
  type MemberPayload,
  onRoomMessage,
  type RoomUnloadedPayload,
} from './feature.js';

/** Fields a client cannot set on its cursor: the server stamps them. */
const STAMPED = new Set([
  'cid',
  'offset',
  'type',
  'room',
  'ref',
  'userId',
  'displayName',
  'color',
  'x',
  'y',
  'lastUpdate',
]);

interface PendingCursor {
  cursor: CursorPosition;
  senderId: string;
}

/**
 * Cursors: the latest position per user within one flush interval wins, and is encoded once and
 * sent lossily to every member but its sender. A room of fast mice costs one frame per moving
 * user per interval, however often each mouse moved.
 */
export class CursorsFeature implements Feature {
  readonly name = 'cursors';
  private readonly pending = new Map<Room, Map<string, PendingCursor>>();
  private timer: NodeJS.Timeout | null = null;

  readonly handlers = [
    onRoomMessage('cursor:update', (message, session, { room }) => {
      const { identity } = session;
      const cursor: CursorPosition = {
        userId: identity.userId,
        displayName: identity.displayName,
        color: identity.color,
        x: message.x,
        y: message.y,
        lastUpdate: 0,
      };
      for (const key in message) {
        if (!STAMPED.has(key)) cursor[key] = message[key];
      }
      cursor.lastUpdate = Date.now();
      let roomCursors = this.pending.get(room);
      if (!roomCursors) {
        roomCursors = new Map();
        this.pending.set(room, roomCursors);
      }
      roomCursors.set(identity.userId, { cursor, senderId: session.id });
      this.timer ??= setTimeout(
        () => guarded(this.ctx.logger, 'cursor flush', () => this.flush()),
        this.ctx.config.cursorFlushMs,
      );
      return undefined;
    }),
  ];

  constructor(private readonly ctx: FeatureContext) {}

  onLeave({ room, connection }: MemberPayload): void {
    const roomCursors = this.pending.get(room);
    const entry = roomCursors?.get(connection.user.userId);
    if (entry && entry.senderId === connection.id) roomCursors!.delete(connection.user.userId);
  }

  onRoomUnload({ room }: RoomUnloadedPayload): void {
    this.pending.delete(room);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
  }

  private flush(): void {
    this.timer = null;
    for (const [room, cursors] of this.pending) {
      room.broadcastBatch(
        Array.from(cursors.values(), ({ cursor, senderId }) => ({
          data: encodeServerMessage({ type: 'cursor:update', room: room.id, cursor }),
          exclude: senderId,
        })),
      );
    }
    this.pending.clear();
  }
}
