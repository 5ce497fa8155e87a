import {
  CloseCode,
  decodeClientMessage,
  decodeStorageFrame,
  type Envelope,
  ErrorCode,
  encodeServerMessage,
  isValidRoomId,
  type Ref,
  SPACES_CLIENT_TYPES,
} from '@roomkit/protocol';
import { STORAGE_FRAME_HEADROOM } from './config.js';
import type {
  Feature,
  FeatureContext,
  HandlerOutcome,
  HandlerReply,
  MessageHandler,
  RoomTarget,
} from './features/feature.js';
import { LaterReply, ProtocolError } from './features/feature.js';
import { guarded } from './observability/guard.js';
import type { ClientSession } from './rooms/connection.js';
import { socketOf } from './rooms/frame.js';

const EMPTY = Buffer.alloc(0);

type RefusalType = 'error' | 'room:error';

/** Why a built-in type has no handler: the option that turns its feature on is off. */
function offReason(messageType: string): string {
  if (messageType === 'room:authenticate') return 'no JWT auth is configured: the jwt option';
  return SPACES_CLIENT_TYPES.has(messageType) ? 'Spaces is off' : 'storage is turned off';
}

/** Refusals of Spaces messages are `room:error` (docs/protocol.md §19.8); all others `error`. */
function refusalType(messageType: string | undefined): RefusalType {
  return messageType !== undefined && SPACES_CLIENT_TYPES.has(messageType) ? 'room:error' : 'error';
}

/** The one feature that does `method`: the dispatcher routes by what features do, not by name. */
function featureWith<K extends 'handleAppMessage' | 'handleBinaryFrame'>(
  features: readonly Feature[],
  method: K,
): Required<Pick<Feature, K>> | null {
  const found = features.filter((feature) => feature[method] !== undefined);
  if (found.length > 1) throw new Error(`two features have ${method}`);
  return (found[0] ?? null) as Required<Pick<Feature, K>> | null;
}

/** Violations are counted over this window before the connection is closed. */
const VIOLATION_WINDOW_MS = 10_000;
/** Names of binary storage frames by kind, for replies and logs. */
const FRAME_NAMES = ['storage:sync-step-1', 'storage:sync-step-2', 'storage:update'] as const;
/** Frames held while an async handler (e.g. an authorized `room:join`) runs: count and bytes. */
const MAX_BACKLOG = 1000;
const MAX_BACKLOG_BYTES = 1024 * 1024;

/**
 * The inbound edge: rate limit, size, decode and validate, resolve the room, run the handler,
 * answer `ack`/`error`. Nothing a client sends can throw out of `handleFrame`. Handlers are
 * synchronous on the hot path; one that returns a promise holds the connection's later frames
 * until it settles, so a client's messages are always handled in the order it sent them.
 */
export class Dispatcher {
  private readonly handlers = new Map<string, MessageHandler>();
  /** Where binary frames of Roomkit sockets go (storage), or null: they are refused. */
  private readonly binary: Required<Pick<Feature, 'handleBinaryFrame'>> | null;
  /** Where the frames of sockets speaking another wire protocol go, by wire. */
  private readonly wires = new Map<string, Required<Pick<Feature, 'handleWireFrame'>>>();
  /** Where application messages without a declared handler go (the relay). */
  private readonly appMessages: Required<Pick<Feature, 'handleAppMessage'>> | null;

  /** Largest binary frame handled (an update plus its header); larger gets `update_too_large`. */
  private readonly maxBinaryBytes: number;
  /** Bytes held while an async handler runs; past it the connection is closed (4008). */
  private readonly maxBacklogBytes: number;

  constructor(
    private readonly ctx: FeatureContext,
    features: readonly Feature[],
  ) {
    this.maxBinaryBytes = (ctx.config.storage?.maxUpdateBytes ?? 0) + STORAGE_FRAME_HEADROOM;
    // Room for the two largest updates allowed on top of small traffic.
    this.maxBacklogBytes = MAX_BACKLOG_BYTES + (ctx.config.storage ? 2 * this.maxBinaryBytes : 0);
    this.appMessages = featureWith(features, 'handleAppMessage');
    this.binary = featureWith(features, 'handleBinaryFrame');
    for (const feature of features) {
      if (feature.wire !== undefined && feature.handleWireFrame) {
        this.wires.set(feature.wire, feature as Required<Pick<Feature, 'handleWireFrame'>>);
      }
    }
    for (const feature of features) {
      for (const handler of feature.handlers ?? []) {
        if (this.handlers.has(handler.type)) {
          throw new Error(`two features handle "${handler.type}"`);
        }
        this.handlers.set(handler.type, handler);
      }
    }
  }

  handleFrame(session: ClientSession, data: Buffer, isBinary: boolean): void {
    if (session.isClosing) return;
    const now = Date.now();
    session.lastSeen = now;
    if (!this.admit(session, now)) return;
    if (session.wire !== 'roomkit') {
      // Another protocol's socket (y-websocket): same liveness and rate limit, its own frames.
      const wire = this.wires.get(session.wire);
      if (wire)
        guarded(this.ctx.logger, `${session.wire} frame`, () =>
          wire.handleWireFrame(session, data, isBinary),
        );
      return;
    }
    // A frame refused for its kind or size is held as an empty marker, so its error still goes
    // out in order without the held bytes counting against the server.
    const refused = isBinary
      ? this.binary === null || data.length > this.maxBinaryBytes
      : data.length > this.ctx.config.limits.maxMessageBytes;
    if (session.backlog !== null) {
      const held = refused ? EMPTY : data;
      session.backlogBytes += held.length;
      if (session.backlog.length >= MAX_BACKLOG || session.backlogBytes > this.maxBacklogBytes) {
        session.close(CloseCode.RateLimited, 'too many messages while a request was pending');
      } else {
        session.backlog.push({ data: held, isBinary, size: data.length });
      }
      return;
    }
    // Everything answered at once (a join's presence, state and settings, then its ack) leaves
    // in one write: corked for the call, not the turn, so nothing waits past it.
    const socket = socketOf(session.ws);
    socket.cork();
    try {
      this.process(session, data, isBinary, data.length);
    } finally {
      socket.uncork();
    }
  }

  private process(session: ClientSession, data: Buffer, isBinary: boolean, size: number): void {
    const { limits } = this.ctx.config;
    if (isBinary) {
      this.processBinary(session, data, size);
      return;
    }
    if (size > limits.maxMessageBytes) {
      this.fail(
        session,
        ErrorCode.MessageTooLarge,
        `message is ${size} bytes; the limit is ${limits.maxMessageBytes}`,
      );
      return;
    }
    const decoded = decodeClientMessage(data.toString('utf8'), { maxDepth: limits.maxDepth });
    if (!decoded.ok) {
      const replyType = refusalType(decoded.type);
      this.fail(session, decoded.code, decoded.message, decoded.ref, undefined, replyType);
      return;
    }
    // Envelope view: `room` and `ref` as the codec validated them, whatever the type.
    const message: Envelope = decoded.message;
    this.run(session, message, () => {
      const handler = this.handlers.get(decoded.message.type);
      if (!handler && decoded.kind === 'app') {
        if (!this.appMessages) {
          throw new ProtocolError(
            ErrorCode.Unsupported,
            `"${message.type}" is not handled by this server`,
          );
        }
        const target = this.target(session, message.room);
        return this.appMessages.handleAppMessage(decoded.message, session, target);
      }
      if (!handler) {
        throw new ProtocolError(
          ErrorCode.Unsupported,
          `"${message.type}" is not handled by this server (${offReason(message.type)})`,
        );
      }
      return handler.scope === 'room'
        ? handler.handle(decoded.message, session, this.target(session, message.room))
        : handler.handle(decoded.message, session);
    });
  }

  /** A binary frame: a Yjs storage frame (docs/protocol.md, "Storage"). */
  private processBinary(session: ClientSession, data: Buffer, size: number): void {
    const binary = this.binary;
    if (binary === null) {
      this.fail(
        session,
        ErrorCode.BinaryNotSupported,
        'binary frames are not accepted: storage is turned off on this server',
      );
      return;
    }
    if (size > this.maxBinaryBytes) {
      this.fail(
        session,
        ErrorCode.UpdateTooLarge,
        `binary frame is ${size} bytes; the limit is ${this.maxBinaryBytes} (storage.maxUpdateBytes plus header)`,
      );
      return;
    }
    const decoded = decodeStorageFrame(data);
    if (!decoded.ok) {
      this.fail(session, ErrorCode.InvalidUpdate, decoded.message);
      return;
    }
    const { frame } = decoded;
    if (frame.room !== '' && !isValidRoomId(frame.room)) {
      this.fail(session, ErrorCode.InvalidRoomId, "the binary frame's room is not a valid room id");
      return;
    }
    const envelope: Envelope = { type: FRAME_NAMES[frame.kind] };
    if (frame.room !== '') envelope.room = frame.room;
    if (frame.tag !== 0) envelope.ref = frame.tag;
    this.run(session, envelope, () =>
      binary.handleBinaryFrame(frame, this.target(session, envelope.room)),
    );
  }

  /**
   * Runs a handler and answers: at once; after a promise (holding the connection's later frames
   * meanwhile, so they are handled in order); or after a `LaterReply` (without holding them).
   */
  private run(session: ClientSession, message: Envelope, handle: () => HandlerOutcome): void {
    let outcome: HandlerOutcome;
    try {
      outcome = handle();
    } catch (error) {
      this.failWith(session, error, message);
      return;
    }
    if (outcome instanceof LaterReply) {
      this.answerLater(session, outcome, message);
      return;
    }
    if (!(outcome instanceof Promise)) {
      this.answer(session, outcome, message);
      return;
    }
    session.backlog = [];
    session.backlogBytes = 0;
    outcome
      .then(
        // A held message may end in a later reply (a first update after a document load): the
        // queue moves on now; the answer follows when that reply settles.
        (reply) =>
          reply instanceof LaterReply
            ? this.answerLater(session, reply, message)
            : this.answer(session, reply, message),
        (error: unknown) => this.failWith(session, error, message),
      )
      .catch((error: unknown) => this.ctx.logger.error({ err: error }, 'reply failed'))
      .finally(() => guarded(this.ctx.logger, 'backlog drain', () => this.drain(session)));
  }

  private answerLater(session: ClientSession, later: LaterReply, message: Envelope): void {
    later.reply
      .then(
        (reply) => this.answer(session, reply, message),
        (error: unknown) => this.failWith(session, error, message),
      )
      .catch((error: unknown) => this.ctx.logger.error({ err: error }, 'reply failed'));
  }

  /** Handles the frames held during an async handler, until another one goes async. */
  private drain(session: ClientSession): void {
    const held = session.backlog ?? [];
    session.backlog = null;
    while (held.length > 0 && !session.isClosing) {
      if (session.backlog !== null) {
        (session.backlog as typeof held).push(...held.splice(0));
        return;
      }
      const next = held.shift()!;
      this.process(session, next.data, next.isBinary, next.size);
    }
  }

  private answer(session: ClientSession, reply: HandlerReply, message: Envelope): void {
    if (reply) {
      const encoded = encodeServerMessage(
        message.ref === undefined ? reply : { ...reply, ref: message.ref },
      );
      // An answer past the soft buffer limit is a document snapshot: a bulk send.
      session.send(encoded, encoded.length > this.ctx.config.limits.lossyBufferedBytes);
    } else if (message.ref !== undefined) {
      const ack: Record<string, unknown> = { type: 'ack', ref: message.ref };
      if (message.room !== undefined) ack.room = message.room;
      session.send(encodeServerMessage(ack));
    }
  }

  private failWith(session: ClientSession, error: unknown, message: Envelope): void {
    if (error instanceof ProtocolError) {
      const replyType =
        error.replyType === 'room:error' ? error.replyType : refusalType(message.type);
      this.fail(session, error.code, error.message, message.ref, message.room, replyType);
      return;
    }
    this.ctx.logger.error({ err: error, type: message.type }, 'message handler failed');
    this.fail(
      session,
      ErrorCode.InternalError,
      `the server failed to handle "${message.type}"`,
      message.ref,
      message.room,
      refusalType(message.type),
    );
  }

  /** Resolves the message's room (or the connection's default) and requires membership. */
  private target(session: ClientSession, room: string | undefined): RoomTarget {
    const roomId = room ?? session.defaultRoom;
    if (roomId === null) {
      throw new ProtocolError(
        ErrorCode.RoomRequired,
        'field "room" is required: this connection has no default room',
      );
    }
    const connection = session.memberships.get(roomId);
    if (!connection) {
      throw new ProtocolError(ErrorCode.NotInRoom, `not in room "${roomId}"; send room:join first`);
    }
    return { room: connection.room, connection };
  }

  /** Token-bucket rate limit. One error per episode of drops; too many drops close the socket. */
  admit(session: ClientSession, now: number): boolean {
    if (session.bucket.take(now)) {
      session.inViolation = false;
      return true;
    }
    if (now - session.violationWindowStart > VIOLATION_WINDOW_MS) {
      session.violationWindowStart = now;
      session.violations = 0;
    }
    session.violations++;
    if (session.violations > this.ctx.config.rateLimit.maxViolations) {
      session.close(CloseCode.RateLimited, 'rate limit exceeded repeatedly');
    } else if (!session.inViolation) {
      session.inViolation = true;
      this.fail(
        session,
        ErrorCode.RateLimited,
        `too many messages: the limit is ${this.ctx.config.rateLimit.messagesPerSecond}/s; messages are being dropped`,
      );
    }
    return false;
  }

  private fail(
    session: ClientSession,
    code: ErrorCode,
    message: string,
    ref?: Ref,
    room?: string,
    replyType: RefusalType = 'error',
  ): void {
    const error: Record<string, unknown> = { type: replyType, code, message };
    if (ref !== undefined) error.ref = ref;
    if (room !== undefined) error.room = room;
    session.send(encodeServerMessage(error));
  }
}
