import { decodeStorageFrame } from '@roomkit/protocol/storage-frame';
import { reconnectDelay } from './backoff.js';
import {
  type CloseInfo,
  connectUrl,
  type ResolvedOptions,
  type RetryInfo,
  resolveOptions,
  type WebSocketClientOptions,
} from './client-options.js';
import { HEARTBEAT_REF, type Heartbeat, startHeartbeat } from './heartbeat.js';
import { Pacer } from './pacer.js';
import { OPEN, resolveWebSocket, type WebSocketLike } from './platform.js';
import { errorOf, isReply, PendingReplies, type Reply } from './replies.js';
import { RoomClient } from './room-client.js';
import { type ReadonlySignal, signal } from './signals.js';
import {
  type ConnectionStatus,
  type RealtimeMessage,
  RoomkitError,
  type Session,
} from './types.js';
import { readMessage, readSession } from './wire.js';

export type { CloseInfo, RetryInfo, WebSocketClientOptions } from './client-options.js';
export type { Reply } from './replies.js';

export type MessageHandler<P = unknown> = (payload: P, message: RealtimeMessage<P>) => void;

/** App messages that may wait for their turn while connected, at the least. */
const PACED_BACKLOG_LIMIT = 1000;

/**
 * A reconnecting WebSocket connection to a Roomkit server. Rooms, presence, cursors, shared state
 * and storage hang off it (`client.room(id)`); after a reconnect they rejoin and resync on their own.
 */
export class WebSocketClient {
  /** Called for every message received (after the feature state and `on` handlers saw it). */
  onMessage: ((message: RealtimeMessage) => void) | null;
  readonly status: ReadonlySignal<ConnectionStatus>;
  readonly lastMessage: ReadonlySignal<RealtimeMessage | null>;
  /** Who the server says this connection is, while connected. */
  readonly session: ReadonlySignal<Session | null>;
  /** The scheduled reconnect, while waiting for one. */
  readonly retry: ReadonlySignal<RetryInfo | null>;

  private readonly options: ResolvedOptions;
  private readonly statusSignal = signal<ConnectionStatus>('disconnected');
  private readonly lastMessageSignal = signal<RealtimeMessage | null>(null);
  private readonly sessionSignal = signal<Session | null>(null);
  private readonly retrySignal = signal<RetryInfo | null>(null);
  private readonly handlers = new Map<string, Set<MessageHandler>>();
  private readonly rooms = new Map<string, RoomClient>();
  private readonly replies = new PendingReplies();
  /**
   * Frames waiting for their turn. App messages (`durable`) stay in it while disconnected, and go
   * out after the next connect's rejoins.
   */
  private readonly pacer: Pacer;
  private socket: WebSocketLike | null = null;
  private active = false;
  private attempt = 0;
  /** Set while `welcome` rejoins the rooms: nothing is written until their joins are all queued. */
  private rejoining = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeat: Heartbeat | undefined;

  constructor(options: WebSocketClientOptions) {
    this.options = resolveOptions(options);
    const rate = this.options.maxMessagesPerSecond;
    this.pacer = new Pacer(rate, rate * 2, (data) => {
      if (this.rejoining || !this.isReady()) return false;
      this.socket!.send(data);
      return true;
    });
    this.onMessage = options.onMessage ?? null;
    this.status = this.statusSignal;
    this.lastMessage = this.lastMessageSignal;
    this.session = this.sessionSignal;
    this.retry = this.retrySignal;
  }

  /**
   * Opens the connection (and keeps it open until `disconnect()`). Safe to call again: while
   * waiting to reconnect, it tries at once (e.g. on the browser's `online` event).
   */
  connect(): void {
    if (this.active) {
      if (this.retrySignal.peek() === null) return;
      clearTimeout(this.retryTimer);
      void this.open();
      return;
    }
    this.active = true;
    this.attempt = 0;
    void this.open();
  }

  /** Closes the connection and stops reconnecting. Rooms stay registered for a later `connect()`. */
  disconnect(): void {
    this.active = false;
    clearTimeout(this.retryTimer);
    this.retrySignal.set(null);
    const socket = this.socket;
    if (socket) this.drop(socket, 'client disconnected', 1000);
    this.statusSignal.set('disconnected');
  }

  /**
   * Sends an application message `{type, payload, room}`. While disconnected it is queued and
   * sent after the next connect, once the client's rooms are rejoined.
   */
  send(type: string, payload?: unknown, room?: string): void {
    // Sent as JSON: an undefined field is left out.
    const message: RealtimeMessage = { type, room, payload };
    const target = room === undefined ? undefined : this.rooms.get(room);
    if (target) target.send(message);
    else this.sendOrQueue(message);
  }

  /** Calls `handler(payload, message)` for every message of `type`. Returns the unsubscribe. */
  on<P = unknown>(type: string, handler: MessageHandler<P>): () => void {
    let set = this.handlers.get(type);
    if (!set) {
      set = new Set();
      this.handlers.set(type, set);
    }
    const entry = handler as MessageHandler;
    set.add(entry);
    return () => {
      set.delete(entry);
    };
  }

  /** The room `id` on this client (one object per id). */
  room(id: string): RoomClient {
    let room = this.rooms.get(id);
    if (!room) {
      room = new RoomClient(this, id);
      this.rooms.set(id, room);
    }
    return room;
  }

  // ---- for the room features ----

  /**
   * Sends while connected (paced, in order); returns false (and drops it) when not connected.
   * A frame still waiting for its turn when the connection drops is dropped too (a request it
   * made fails then, with every other request awaiting a reply).
   */
  sendMessage(message: RealtimeMessage): boolean {
    return this.transmit(JSON.stringify(message));
  }

  /**
   * Sends while connected, else keeps it for the next connect (bounded by `maxQueuedMessages`;
   * past it the oldest kept message is dropped and reported).
   */
  sendOrQueue(message: RealtimeMessage): void {
    const data = JSON.stringify(message);
    // While connected, messages wait only for their turn (pacing); the bound is for runaway senders.
    const limit = this.isReady()
      ? Math.max(this.options.maxQueuedMessages, PACED_BACKLOG_LIMIT)
      : this.options.maxQueuedMessages;
    if (this.pacer.durableCount() >= limit) {
      this.reportError(
        new RoomkitError(
          'queue_full',
          'send queue is full (maxQueuedMessages): dropped the oldest',
        ),
      );
      if (limit === 0) return;
      this.pacer.shiftDurable();
    }
    this.pacer.push({ data, durable: true });
  }

  /** Sends a binary storage frame, like `sendMessage`. */
  sendBinary(bytes: Uint8Array): boolean {
    return this.transmit(bytes);
  }

  private transmit(data: string | Uint8Array): boolean {
    if (!this.isReady()) return false;
    this.pacer.push({ data });
    return true;
  }

  /** Sends `message` with a fresh `ref` and resolves with the server's reply to it. */
  request(message: RealtimeMessage): Promise<Reply> {
    return new Promise((resolve) => this.requestNow(message, resolve));
  }

  /** A fresh numeric `ref` (binary frames carry refs as numbers); `expect(ref)` awaits its reply. */
  makeRef(): number {
    return this.replies.makeRef();
  }

  expect(ref: number): Promise<Reply> {
    return this.replies.expect(ref);
  }

  /** Like `request`, with the reply handed to `onReply` synchronously as it arrives. */
  requestNow(message: RealtimeMessage, onReply: (reply: Reply) => void): void {
    const ref = this.makeRef();
    if (this.sendMessage({ ...message, ref })) this.replies.onReply(ref, onReply);
    else onReply({ ok: false, error: new RoomkitError('disconnected', 'not connected') });
  }

  /**
   * Delivers a message to this client's `on` handlers (a room's echo of its own broadcasts). It
   * never reaches the room features: an app message named like a built-in one must not rewrite
   * the room's members or state.
   */
  emitLocal(message: RealtimeMessage): void {
    for (const handler of [...(this.handlers.get(message.type) ?? [])]) {
      this.safely(() => handler(message.payload, message));
    }
  }

  reportError(error: Error): void {
    try {
      this.options.onError?.(error);
    } catch {
      // an app's error handler must not break the connection
    }
  }

  /** Runs app code (a handler, a callback); what it throws is reported, not thrown. */
  safely(run: () => void): void {
    try {
      run();
    } catch (error) {
      this.reportError(asError(error));
    }
  }

  // ---- connection ----

  private isReady(): boolean {
    return this.socket?.readyState === OPEN && this.sessionSignal.peek() !== null;
  }

  private async open(): Promise<void> {
    this.retrySignal.set(null);
    this.statusSignal.set(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let socket: WebSocketLike;
    try {
      const Ctor = await resolveWebSocket(this.options.WebSocket);
      const url = await connectUrl(this.options);
      if (!this.active || this.socket) return;
      socket = new Ctor(url, this.options.protocols);
    } catch (error) {
      this.reportError(asError(error));
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.binaryType = 'arraybuffer';
    this.connectTimer = setTimeout(
      () => this.drop(socket, 'connect timeout'),
      this.options.connectTimeout,
    );
    socket.onmessage = (event) => {
      if (this.socket !== socket) return;
      if (this.heartbeat) this.heartbeat.heard = true;
      // Nothing a frame holds may throw out of here: in Node it would be an uncaught exception.
      this.safely(() => {
        if (typeof event.data === 'string') this.receiveText(event.data);
        else this.receiveBinary(event.data);
      });
    };
    socket.onclose = (event) => {
      if (this.socket === socket) {
        this.closed({ code: event.code, reason: event.reason, wasClean: event.wasClean });
      }
    };
    socket.onerror = (event) => {
      if (this.socket !== socket) return;
      const detail = (event as { message?: unknown } | null)?.message;
      this.reportError(
        new Error(`WebSocket error (${this.options.url})${detail ? `: ${String(detail)}` : ''}`),
      );
    };
  }

  private receiveText(text: string): void {
    const message = readMessage(text);
    if (!message) return;
    if (message.type === 'welcome') this.welcome(message);
    // The heartbeat's ack only proves the connection alive; it is not the app's business.
    else if (message.type === 'ack' && message.ref === HEARTBEAT_REF) return;
    this.dispatch(message);
  }

  private receiveBinary(data: unknown): void {
    const bytes =
      data instanceof ArrayBuffer ? new Uint8Array(data) : data instanceof Uint8Array ? data : null;
    if (!bytes) return;
    const decoded = decodeStorageFrame(bytes);
    if (!decoded.ok) return;
    // An empty room stands for the connection's default (path) room.
    const room = decoded.frame.room || this.sessionSignal.peek()?.room;
    if (room) this.rooms.get(room)?.receiveFrame(decoded.frame);
  }

  private welcome(message: RealtimeMessage): void {
    clearTimeout(this.connectTimer);
    const session = readSession(message, this.options.heartbeatInterval);
    // A url naming a room (`/rooms/demo`) puts the connection in it at once: its presence and
    // state arrive now, so its RoomClient must exist to keep them for features created later.
    if (session.room !== null) this.room(session.room);
    this.attempt = 0;
    // Rooms rejoin first, so the app messages kept while offline reach the server after their
    // room:join: what the new session sends is queued ahead of them, then written in order.
    this.rejoining = true;
    try {
      this.sessionSignal.set(session);
      this.statusSignal.set('connected');
      clearInterval(this.heartbeat?.timer);
      this.heartbeat = startHeartbeat(
        Math.min(this.options.heartbeatInterval, session.heartbeatIntervalMs),
        () => this.sendMessage({ type: 'heartbeat', ref: HEARTBEAT_REF }),
        () => this.socket && this.drop(this.socket, 'no reply from the server'),
      );
      for (const room of this.rooms.values()) room.sessionStarted();
    } finally {
      this.rejoining = false;
      this.pacer.drain();
    }
    this.safely(() => this.options.onOpen?.());
  }

  private dispatch(message: RealtimeMessage): void {
    // A reply to the client's own request (a join, a state write, a document update, a live
    // component's mount or call) settles it. Generic replies stop here: they are not app
    // messages; live components' answers (`live:mounted`, `live:result`) go on to `on` handlers.
    const settled = this.replies.settle(message);
    if (isReply(message)) {
      if (settled) return;
      if (message.type === 'error') this.reportError(errorOf(message));
    }
    if (typeof message.room === 'string') this.rooms.get(message.room)?.receive(message);
    this.lastMessageSignal.set(message);
    this.emitLocal(message);
    this.safely(() => this.onMessage?.(message));
  }

  /**
   * Forgets `socket` now (a dead peer may never finish a close handshake) and closes it, with
   * 1000 when the app disconnects, else 4000.
   */
  private drop(socket: WebSocketLike, reason: string, code = 4000): void {
    socket.onmessage = null;
    socket.onclose = null;
    // `ws` throws an 'error' with no listener (closing while connecting emits one).
    socket.onerror = () => {};
    try {
      socket.close(code, reason);
    } catch {
      // closing a socket that never opened may throw; it is gone either way
    }
    (socket as { terminate?: () => void }).terminate?.();
    if (this.socket === socket) this.closed({ code, reason, wasClean: code === 1000 });
  }

  private closed(info: CloseInfo): void {
    this.socket = null;
    clearTimeout(this.connectTimer);
    clearInterval(this.heartbeat?.timer);
    const hadSession = this.sessionSignal.peek() !== null;
    this.sessionSignal.set(null);
    // Unsent app messages wait for the next connect (up to `maxQueuedMessages`, the newest);
    // unsent feature frames are dropped (each feature resyncs after the rejoin) and their requests
    // fail now, with the others in flight.
    this.pacer.dropUnsent(this.options.maxQueuedMessages);
    this.replies.failAll(new RoomkitError('disconnected', 'connection lost'));
    if (hadSession) for (const room of this.rooms.values()) room.sessionEnded();
    this.safely(() => this.options.onClose?.(info));
    if (this.active) this.scheduleReconnect();
    else this.statusSignal.set('disconnected');
  }

  private scheduleReconnect(): void {
    const {
      reconnect,
      reconnectAttempts,
      reconnectDelay: initial,
      maxReconnectDelay,
    } = this.options;
    if (!this.active || !reconnect || this.attempt >= reconnectAttempts) {
      this.active = false;
      this.statusSignal.set('disconnected');
      return;
    }
    this.attempt += 1;
    const delayMs = reconnectDelay(this.attempt, initial, maxReconnectDelay);
    this.statusSignal.set('reconnecting');
    this.retrySignal.set({ attempt: this.attempt, delayMs, at: Date.now() + delayMs });
    this.retryTimer = setTimeout(() => {
      if (this.active) void this.open();
    }, delayMs);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
