import { ErrorCode, type RoomJoinMessage } from '@roomkit/protocol';
import {
  type Feature,
  type HandlerReply,
  type MemberPayload,
  onRoomMessage,
  ProtocolError,
  type RoomTarget,
} from '../features/feature.js';
import type { ClientSession, Membership } from '../rooms/connection.js';
import { TokenBucket } from '../rooms/token-bucket.js';
import { messageJson } from './json.js';
import type { SpacesActor } from './model.js';
import type { ResolvedSpacesConfig } from './spaces-config.js';
import type { SpacesHub } from './spaces-hub.js';
import { mayBeSpacesRoomId, spacesRefusal, spacesUserOf } from './spaces-live.js';

/** Runs a Spaces operation; its refusals become `room:error`. */
async function refusing<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw spacesRefusal(error);
  }
}

/**
 * The Spaces events on the WebSocket (docs/protocol.md §19): messages, state, the heartbeat,
 * voice, history and kicks (sign-in is `AuthenticateFeature`). Joins and leaves are the core
 * `room:join`/`room:leave`: the rooms feature hands Spaces rooms to `join` and `isSeated` here.
 */
export class SpacesFeature implements Feature {
  readonly name = 'spaces';

  readonly handlers = [
    onRoomMessage('room:message', (message, session, target) =>
      this.seated(session, target, async (user) => {
        const stored = await this.hub.service.insertMessage(
          user.id,
          target.room.id,
          message.messageType,
          message.content,
          message.metadata,
        );
        this.hub.live.deliver(target.room.id, stored);
        return undefined;
      }),
    ),
    onRoomMessage('room:state-update', (message, session, target) =>
      this.seated(session, target, async (user) => {
        const body: { currentMode?: string; state?: Record<string, unknown> } = {};
        if (message.currentMode !== undefined) body.currentMode = message.currentMode;
        if (message.state !== undefined) body.state = message.state;
        await this.hub.updateState(user, target.room.id, body);
        return undefined;
      }),
    ),
    onRoomMessage('room:presence-update', (_message, session, target) =>
      this.seated(session, target, async (user) => {
        await this.hub.service.touchLastSeen(user.id, target.room.id);
        return undefined;
      }),
    ),
    onRoomMessage('room:voice-start', (_message, session, target) =>
      this.seated(session, target, (user) => this.voice(user, target, true)),
    ),
    onRoomMessage('room:voice-stop', (_message, session, target) =>
      this.seated(session, target, (user) => this.voice(user, target, false)),
    ),
    onRoomMessage('room:history', (message, session, target) =>
      this.seated(session, target, async (user) => {
        const page = await this.hub.service.getRoomMessages(user.id, target.room.id, {
          limit: message.limit,
          before: message.before,
        });
        return {
          type: 'room:messages-history',
          room: target.room.id,
          messages: page.messages.map(messageJson),
          nextBefore: page.nextBefore,
        };
      }),
    ),
    onRoomMessage('room:kick', (message, session, target) =>
      this.seated(session, target, async (user) => {
        await this.hub.kick(user, target.room.id, message.userId, message.ban === true);
        return undefined;
      }),
    ),
  ];

  /** Each connection's budget of Spaces operations (each one is a store query). */
  private readonly budgets = new WeakMap<ClientSession, TokenBucket>();

  constructor(
    private readonly hub: SpacesHub,
    private readonly config: ResolvedSpacesConfig,
  ) {}

  /** Whether a `room:join` of this id must be looked up (only UUIDs can be Spaces rooms). */
  mayBeSpacesRoom(roomId: string): boolean {
    return mayBeSpacesRoomId(roomId);
  }

  /** Whether `roomId` is an active Spaces room (a store lookup, for UUIDs only). */
  async isSpacesRoom(roomId: string): Promise<boolean> {
    return this.mayBeSpacesRoom(roomId) && this.hub.service.seats.isSpacesRoom(roomId);
  }

  /** `room:join`: a Spaces room's join, or null when the id is not a Spaces room. */
  async join(session: ClientSession, message: RoomJoinMessage): Promise<HandlerReply | null> {
    // Spent before the store lookup: any UUID join costs a query.
    this.spend(session);
    if (!(await refusing(() => this.hub.service.seats.isSpacesRoom(message.room)))) return null;
    return refusing(() => this.hub.live.join(session, message));
  }

  /** Whether this membership is a Spaces seat (its `room:leave` is answered with `room:left`). */
  isSeated(connection: Membership): boolean {
    return this.hub.live.isSeated(connection);
  }

  onLeave({ room, connection }: MemberPayload): void {
    this.hub.live.onLeave(room.id, connection);
  }

  /** Runs a room-scoped Spaces operation for a seated, signed-in member. */
  private seated(
    session: ClientSession,
    target: RoomTarget,
    work: (user: SpacesActor) => Promise<HandlerReply>,
  ): Promise<HandlerReply> {
    const user = spacesUserOf(session);
    if (!user || !this.hub.live.isSeated(target.connection)) {
      throw new ProtocolError(
        ErrorCode.Unsupported,
        `"${target.room.id}" is not a Spaces room this connection joined`,
        'room:error',
      );
    }
    this.spend(session);
    return refusing(() => work(user));
  }

  /** Takes one operation from the connection's budget, or refuses with `rate_limited`. */
  private spend(session: ClientSession): void {
    const { perSecond, burst } = this.config.writeRate;
    const now = Date.now();
    let budget = this.budgets.get(session);
    if (!budget) {
      budget = new TokenBucket(perSecond, burst, now);
      this.budgets.set(session, budget);
    }
    if (!budget.take(now)) {
      throw new ProtocolError(
        ErrorCode.RateLimited,
        `too many Spaces operations: at most ${perSecond} per second (bursts of ${burst})`,
        'room:error',
      );
    }
  }

  private async voice(
    user: SpacesActor,
    target: RoomTarget,
    active: boolean,
  ): Promise<HandlerReply> {
    const roomId = target.room.id;
    const displayName = this.hub.live.seatName(target.connection);
    const room = await this.hub.service.seats.setConversationActive(user.id, roomId, active);
    this.hub.live.publish(roomId, {
      type: active ? 'room:voice-started' : 'room:voice-stopped',
      room: roomId,
      userId: user.id,
      displayName,
    });
    this.hub.live.stateUpdated(room, user.id);
    return undefined;
  }
}
