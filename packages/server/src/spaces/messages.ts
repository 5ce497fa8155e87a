import { MAX_SPACES_HISTORY_PAGE } from '@roomkit/protocol';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../store/schema.js';
import { SpacesError } from './errors.js';
import {
  checkId,
  checkJsonObject,
  checkMessageType,
  checkText,
  checkUserId,
  type MessagePage,
  type MessageType,
  type SpaceMessage,
  toMessage,
} from './model.js';
import type { SpacesRows } from './rows.js';

const MAX_CONTENT = 4000;
const MAX_METADATA_BYTES = 8 * 1024;
const USER_TYPES: readonly MessageType[] = ['user_text', 'user_voice'];
const SERVER_TYPES: readonly MessageType[] = ['system', 'ai_response'];

/**
 * A room's messages: posted by its participants (`user_text`, `user_voice`) or by the server
 * (`system`, `ai_response`), each insert also touching the room's `last_activity`, and read back
 * in pages by the host and participants.
 */
export class SpacesMessages {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly rows: SpacesRows,
    private readonly now: () => number,
  ) {}
  /** A participant's `user_text` or `user_voice` message; updates the room's `last_activity`. */
  async insertMessage(
    userId: string,
    roomId: string,
    messageType: MessageType,
    content: string,
    metadata: Record<string, unknown> = {},
  ): Promise<SpaceMessage> {
    const user = checkUserId(userId);
    const room = checkId(roomId, 'roomId');
    if (SERVER_TYPES.includes(messageType)) {
      throw new SpacesError('forbidden', `only the server writes ${messageType} messages`);
    }
    const type = checkMessageType(messageType, USER_TYPES);
    const message = await this.writeMessage(room, user, type, content, metadata);
    if (message) return message;
    await this.rows.requireRoom(room);
    throw new SpacesError('forbidden', 'only participants post in a room');
  }
  /** A message from the server itself (`system`, `ai_response`): no acting user, no checks. */
  async insertServerMessage(
    roomId: string,
    messageType: 'system' | 'ai_response',
    content: string,
    metadata: Record<string, unknown> = {},
  ): Promise<SpaceMessage> {
    const type = checkMessageType(messageType, SERVER_TYPES);
    const message = await this.writeMessage(
      checkId(roomId, 'roomId'),
      null,
      type,
      content,
      metadata,
    );
    if (!message) throw new SpacesError('not_found', 'room not found');
    return message;
  }
  /**
   * The host and participants only. The newest `limit` (default 50, at most 100) messages older
   * than message id `before` (default: the newest), oldest first.
   */
  async getRoomMessages(
    userId: string,
    roomId: string,
    options: { limit?: number; before?: number } = {},
  ): Promise<MessagePage> {
    const limit = options.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SPACES_HISTORY_PAGE) {
      throw new SpacesError(
        'invalid_input',
        `limit must be an integer from 1 to ${MAX_SPACES_HISTORY_PAGE}`,
      );
    }
    const { before } = options;
    if (before !== undefined && (!Number.isSafeInteger(before) || before < 1)) {
      throw new SpacesError('invalid_input', 'before must be a message id');
    }
    await this.rows.requireViewer(userId, roomId);
    let query = this.db.selectFrom('room_messages').selectAll().where('room_id', '=', roomId);
    if (before !== undefined) query = query.where('id', '<', before);
    const rows = await query
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    const messages = rows.slice(0, limit).reverse().map(toMessage);
    return {
      messages,
      nextBefore: rows.length > limit && messages.length > 0 ? messages[0]!.id : null,
    };
  }
  /** Inserts unless `userId` has no seat (or, for the server, the room is gone): then null. */
  private async writeMessage(
    roomId: string,
    userId: string | null,
    type: MessageType,
    content: string,
    metadata: Record<string, unknown>,
  ): Promise<SpaceMessage | null> {
    const text = checkText(content, 'content', MAX_CONTENT);
    const meta = checkJsonObject(metadata, 'metadata', MAX_METADATA_BYTES);
    const now = this.now();
    const allowed =
      userId === null
        ? sql`exists (select 1 from rooms where id = ${roomId})`
        : sql`exists (select 1 from room_participants
              where room_id = ${roomId} and user_id = ${userId} and banned = 0)`;
    const id = await this.db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ id: number }>`insert into room_messages
            (room_id, user_id, message_type, content, metadata, created_at)
          select ${roomId}, ${userId}, ${type}, ${text}, ${meta}, cast(${now} as bigint)
          where ${allowed}
          returning id`.execute(trx);
      if (rows.length === 0) return null;
      await this.rows.touchRoom(roomId, now, trx);
      return Number(rows[0]!.id);
    });
    if (id === null) return null;
    const row = await this.db
      .selectFrom('room_messages')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    return toMessage(row);
  }
}
