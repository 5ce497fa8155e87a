import type { IncomingMessage } from 'node:http';
import type {
  AppMessage,
  BuiltInClientMessage,
  BuiltInClientType,
  ErrorCode,
  Ref,
  StorageFrame,
} from '@roomkit/protocol';
import type { ResolvedConfig } from '../config.js';
import type { HybridLogicalClock } from '../hlc.js';
import type { Logger } from '../observability/logger.js';
import type { ClientSession, Identity, Membership, Wire } from '../rooms/connection.js';
import type { Room } from '../rooms/room.js';
import type { RoomManager } from '../rooms/room-manager.js';

/** Shared services every feature gets at construction. */
export interface FeatureContext {
  config: ResolvedConfig;
  rooms: RoomManager;
  clock: HybridLogicalClock;
  logger: Logger;
}

/** A handled message's room, resolved and membership-checked by the dispatcher. */
export interface RoomTarget {
  room: Room;
  connection: Membership;
}

/** What a handler may answer with; the dispatcher adds the request's `ref`. No reply: `ack` if `ref`. */
export type HandlerReply = { type: string; [field: string]: unknown } | undefined;
/**
 * An answer that comes later without holding up the connection's next messages: a document
 * update is applied and broadcast at once, but acknowledged only once it is durable.
 */
export class LaterReply {
  constructor(readonly reply: Promise<HandlerReply>) {}
}

/**
 * A handler answers at once; or later, holding the connection's next messages until it does (a
 * Promise: e.g. an authorized join, a document load); or later without holding them (`LaterReply`).
 */
export type HandlerOutcome = HandlerReply | Promise<HandlerReply | LaterReply> | LaterReply;

type MessageOf<T extends BuiltInClientType> = Extract<BuiltInClientMessage, { type: T }>;

/** A message the dispatcher hands to a handler: a built-in one, or an extension's type. */
export type ClientMessage = BuiltInClientMessage | AppMessage;

/** A message handler, registered by type (built-in types, and the types extensions declare). */
export type MessageHandler =
  | {
      type: string;
      /** The dispatcher resolves `message.room` (or the default room) and requires membership. */
      scope: 'room';
      handle(message: ClientMessage, session: ClientSession, target: RoomTarget): HandlerOutcome;
    }
  | {
      type: string;
      /** Connection-level message: no room resolution. */
      scope: 'session';
      handle(message: ClientMessage, session: ClientSession): HandlerOutcome;
    };

/** Declares a handler for a room-scoped message type, typed by that type's schema. */
export function onRoomMessage<T extends BuiltInClientType>(
  type: T,
  handle: (message: MessageOf<T>, session: ClientSession, target: RoomTarget) => HandlerOutcome,
): MessageHandler {
  return { type, scope: 'room', handle: handle as MessageHandlerFn<'room'> };
}

/** Declares a handler for a connection-level message type. */
export function onSessionMessage<T extends BuiltInClientType>(
  type: T,
  handle: (message: MessageOf<T>, session: ClientSession) => HandlerOutcome,
): MessageHandler {
  return { type, scope: 'session', handle: handle as MessageHandlerFn<'session'> };
}

type MessageHandlerFn<S extends MessageHandler['scope']> = Extract<
  MessageHandler,
  { scope: S }
>['handle'];

/**
 * Thrown by handlers to refuse a message; becomes an `error` reply with this code (`room:error`
 * for Spaces operations: a Spaces message type, or `replyType: 'room:error'`).
 */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly replyType: 'error' | 'room:error' = 'error',
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** A connection's membership of a room, for the membership hooks. */
export interface MemberPayload {
  room: Room;
  connection: Membership;
}

export interface RoomUnloadedPayload {
  room: Room;
  /** Null when the room emptied (cleanup), else why it was removed. */
  reason: string | null;
}

/** An upgrade that established who connects, before the handshake. */
export interface AuthenticatePayload {
  request: IncomingMessage;
  identity: Identity;
  /** The room on the path, or null. */
  roomId: string | null;
}

export interface SessionPayload {
  session: ClientSession;
}

/**
 * One part of the server: the message types it handles and the lifecycle hooks it needs, each
 * hook taking one payload object. Roomkit's own parts (presence, cursors, live state, storage,
 * y-websocket, live components, Spaces, the relay) are features, and so is every application
 * `Extension` (through `ExtensionFeature`, whose payloads carry public views instead of the
 * server's objects). The dispatcher and the join path know features only through this interface:
 * adding one means listing it in the server, never editing them.
 */
export interface Feature {
  readonly name: string;
  readonly handlers?: readonly MessageHandler[];
  /** After a connection was added to a room: send it snapshots, tell the others. */
  onJoin?(payload: MemberPayload): void;
  /**
   * After a join completed and was announced (the `onJoin` hook follows): not for a join that was
   * rolled back or cut short by its connection closing. A throw is logged, the join stands.
   */
  onAnnounce?(payload: MemberPayload): void;
  /** After a connection was removed from a room (also a rolled-back join, and a removed room's members). */
  onLeave?(payload: MemberPayload): void;
  /** When a room leaves this node (`reason`: null when it emptied, else why it was removed). */
  onRoomUnload?(payload: RoomUnloadedPayload): void;
  /**
   * An upgrade whose identity is known, before its handshake: throwing (or rejecting) refuses it
   * with 403 `forbidden` and the error's message. Waited for up to `limits.authTimeoutMs`.
   */
  onAuthenticate?(payload: AuthenticatePayload): void | Promise<void>;
  /** A connection was accepted and got its `welcome` (after its path room's join). */
  onConnect?(payload: SessionPayload): void;
  /** A connection ended, after it left its rooms. */
  onDisconnect?(payload: SessionPayload): void;
  /**
   * Binary frames of Roomkit sockets (decoded storage frames, room resolved and membership
   * checked): one feature takes them (storage); without it they are refused.
   */
  handleBinaryFrame?(frame: StorageFrame, target: RoomTarget): HandlerOutcome;
  /** The other wire protocol this feature speaks (its sockets' frames go to `handleWireFrame`). */
  readonly wire?: Exclude<Wire, 'roomkit'>;
  /** A frame of a socket speaking `wire`, after the dispatcher's liveness and rate limit. */
  handleWireFrame?(session: ClientSession, data: Buffer, isBinary: boolean): void;
  /** Application messages of a type no handler declared (one feature takes them: the relay). */
  handleAppMessage?(
    message: AppMessage,
    session: ClientSession,
    target: RoomTarget,
  ): HandlerOutcome;
  /** Server stop: clear timers. */
  close?(): void;
}

export type { Ref };
