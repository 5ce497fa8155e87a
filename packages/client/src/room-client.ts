import type { PresenceUser, StateEntry } from '@roomkit/protocol';
import { isValidRoomId } from '@roomkit/protocol/limits';
import type { StorageFrame } from '@roomkit/protocol/storage-frame';
import {
  type BroadcastChannel,
  type BroadcastOptions,
  createBroadcastChannel,
} from './features/broadcast-channel.js';
import { type Cursors, type CursorsOptions, createCursors } from './features/cursors.js';
import {
  createMembership,
  type MembershipOptions,
  type RoomMembership,
} from './features/membership.js';
import { createPresence, type Presence, type PresenceOptions } from './features/presence.js';
import {
  createSharedState,
  type SharedState,
  type SharedStateOptions,
} from './features/shared-state.js';
import { RoomStorage, type Storage } from './features/storage.js';
import { batch, effect, memo, type ReadonlySignal, signal } from './signals.js';
import { type RealtimeMessage, RoomkitError, type User } from './types.js';
import { toUser } from './users.js';
import type { WebSocketClient } from './websocket-client.js';

/** What the server says about a room when it is joined (`room:info`). */
export interface RoomInfo {
  createdAt: number;
  metadata: Record<string, unknown>;
  maxUsers: number | null;
  hasPassword: boolean;
}

/** Settings a room is joined with; `maxUsers` and `metadata` apply only if the join creates it. */
export interface JoinSettings {
  password?: string;
  maxUsers?: number;
  metadata?: Record<string, unknown>;
}

type Listener = (message: RealtimeMessage) => void;

/** Messages a room keeps while its join has not gone out yet. */
const OUTBOX_LIMIT = 1000;
type FrameListener = (frame: StorageFrame) => void;

/**
 * One room on one client. Features (`presence`, `cursors`, `sharedState`, `broadcast`, `storage`)
 * hold it; while anything holds it, the client is in the room, and after a reconnect it rejoins,
 * re-sends this client's presence and lets each feature resync. Holds taken and dropped in the
 * same tick (a component re-mounting) never reach the server.
 */
export class RoomClient {
  readonly isJoined: ReadonlySignal<boolean>;
  readonly error: ReadonlySignal<RoomkitError | null>;
  readonly info: ReadonlySignal<RoomInfo | null>;
  /** The server's member list, one entry per user. */
  readonly members: ReadonlySignal<readonly PresenceUser[]>;
  /** Members as `User`s (declared fields over the server's). */
  readonly users: ReadonlySignal<User[]>;
  /** This client's presence data, as `updatePresence` left it. */
  readonly presenceData: ReadonlySignal<Record<string, unknown>>;
  /** The room's live state (last-writer-wins entries) as the server last sent it. */
  readonly liveState: ReadonlySignal<Readonly<Record<string, StateEntry>>>;

  private readonly joinedSignal = signal(false);
  private readonly errorSignal = signal<RoomkitError | null>(null);
  private readonly infoSignal = signal<RoomInfo | null>(null);
  private readonly membersSignal = signal<readonly PresenceUser[]>([]);
  private readonly dataSignal = signal<Record<string, unknown>>({});
  private readonly stateSignal = signal<Readonly<Record<string, StateEntry>>>({});
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly frameListeners = new Set<FrameListener>();
  private readonly outbox: RealtimeMessage[] = [];
  private readonly joinedListeners = new Set<() => void>();
  private readonly leftListeners = new Set<() => void>();
  private settings: JoinSettings = {};
  private roomStorage: RoomStorage | undefined;
  private declaredUser: Record<string, unknown> | null = null;
  private holders = 0;
  /** Whether this client wants to be in the room (the server may not have said yes yet). */
  private wanted = false;
  private joining = false;
  private pendingJoin: Promise<boolean> | null = null;
  private reconcileQueued = false;
  private presenceTimer: ReturnType<typeof setTimeout> | undefined;
  private lastPresenceSent = 0;
  private presenceInterval = 0;

  constructor(
    readonly client: WebSocketClient,
    readonly id: string,
  ) {
    if (!isValidRoomId(id)) {
      throw new TypeError(
        `invalid room id ${JSON.stringify(id)}: 1-128 characters of A-Z a-z 0-9 _ . : @ ~ -, starting with a letter or digit`,
      );
    }
    this.isJoined = this.joinedSignal;
    this.error = this.errorSignal;
    this.info = this.infoSignal;
    this.members = this.membersSignal;
    this.presenceData = this.dataSignal;
    this.liveState = this.stateSignal;
    this.users = memo(() => this.membersSignal().map(toUser));
  }

  // ---- features ----

  /** Who is here, and this user's presence data. Holds the room until `dispose()`. */
  presence<T extends object = Record<string, unknown>>(options?: PresenceOptions<T>): Presence<T> {
    return createPresence<T>(this, options);
  }

  /** Live cursors of the others, and a throttled `broadcast(x, y)`. */
  cursors(options?: CursorsOptions): Cursors {
    return createCursors(this, options);
  }

  /** Explicit `join()` / `leave()`, the room, its users, the last error (the spec's `useRoom`). */
  membership(options?: MembershipOptions): RoomMembership {
    return createMembership(this, options);
  }

  /** A broadcast channel in this room, with a local history. */
  channel<T extends object = Record<string, unknown>>(
    channel: string,
    options?: Omit<BroadcastOptions, 'channel'>,
  ): BroadcastChannel<T> {
    return createBroadcastChannel<T>(this, { ...options, channel });
  }

  /** The room's last-writer-wins state as an object. */
  sharedState<T extends object>(options: SharedStateOptions<T>): SharedState<T> {
    return createSharedState<T>(this, options);
  }

  /** The room's Yjs document, synced (one per room on this client). */
  storage(): Storage {
    this.roomStorage ??= new RoomStorage(this);
    return this.roomStorage.handle();
  }

  /** The server's id for this client (while connected). */
  get selfId(): string | undefined {
    return this.client.session.peek()?.userId;
  }

  /** Adds settings for the next join; a password given here is used by every later (re)join. */
  configure(settings: JoinSettings & { user?: Partial<User> | undefined }): void {
    const { user, ...join } = settings;
    for (const [key, value] of Object.entries(join)) {
      if (value !== undefined) (this.settings as Record<string, unknown>)[key] = value;
    }
    if (user) this.declareUser(user);
  }

  /** Keeps the client in the room until the returned release is called (once). */
  hold(): () => void {
    this.holders += 1;
    this.reconcile();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holders -= 1;
      this.reconcile();
    };
  }

  /** Resolves once the room is joined (true) or the join was refused (false; see `error()`). */
  whenJoined(): Promise<boolean> {
    if (this.joinedSignal.peek()) return Promise.resolve(true);
    if (this.pendingJoin) return this.pendingJoin;
    const errorBefore = this.errorSignal.peek();
    return new Promise((resolve) => {
      let settled = false;
      const stop = effect(() => {
        const joined = this.joinedSignal();
        const error = this.errorSignal();
        if (settled || (!joined && (error === null || error === errorBefore))) return;
        settled = true;
        queueMicrotask(() => stop());
        resolve(joined);
      });
    });
  }

  /** Sets this client's presence data in the room, sent at most once per `intervalMs`. */
  setPresence(data: Record<string, unknown>, intervalMs: number): void {
    this.dataSignal.set(data);
    this.presenceInterval = intervalMs;
    this.schedulePresence();
  }

  declareUser(user: Partial<User>): void {
    const { id: _id, ...declared } = user;
    this.declaredUser = { ...this.declaredUser, ...declared };
    this.schedulePresence();
  }

  /**
   * Sends a message into the room. Before the room's join has gone out (it is sent on the next
   * microtask after the first hold, and again after each reconnect) the message waits, so it
   * always reaches the server after the join.
   */
  send(message: RealtimeMessage): void {
    if (this.joining || this.joinedSignal.peek() || this.holders === 0) {
      if (this.client.sendMessage(message)) return;
    }
    if (this.outbox.length >= OUTBOX_LIMIT) {
      this.outbox.shift();
      this.client.reportError(
        new RoomkitError('queue_full', `room ${this.id}: send queue is full; dropped the oldest`),
      );
    }
    this.outbox.push(message);
  }

  /** An application message to the room; `echo` (default) also delivers it to this client's `on` handlers. */
  broadcast(type: string, payload?: unknown, echo = true): void {
    const message: RealtimeMessage = { type, room: this.id };
    if (payload !== undefined) message.payload = payload;
    this.send(message);
    if (echo) {
      this.client.emitLocal({
        type,
        payload,
        room: this.id,
        from: this.selfId ?? '',
        timestamp: Date.now(),
      });
    }
  }

  /** Messages of `type` for this room (JSON). */
  listen(type: string, listener: Listener): () => void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  listenFrames(listener: FrameListener): () => void {
    this.frameListeners.add(listener);
    return () => this.frameListeners.delete(listener);
  }

  /** Runs after every successful (re)join, and once now if the room is joined. */
  onJoined(listener: () => void): () => void {
    this.joinedListeners.add(listener);
    if (this.joinedSignal.peek()) listener();
    return () => this.joinedListeners.delete(listener);
  }

  /** Runs when the room is left: by `leave`, by a lost connection, or by the server. */
  onLeft(listener: () => void): () => void {
    this.leftListeners.add(listener);
    return () => this.leftListeners.delete(listener);
  }

  // ---- called by the client ----

  receive(message: RealtimeMessage): void {
    switch (message.type) {
      case 'presence':
        if (Array.isArray(message.users)) this.membersSignal.set(message.users as PresenceUser[]);
        break;
      case 'room:info':
        this.infoSignal.set({
          createdAt: Number(message.createdAt),
          metadata: (message.metadata as Record<string, unknown>) ?? {},
          maxUsers: typeof message.maxUsers === 'number' ? message.maxUsers : null,
          hasPassword: message.hasPassword === true,
        });
        break;
      case 'state:init':
        if (isRecord(message.states))
          this.stateSignal.set({ ...(message.states as Record<string, StateEntry>) });
        break;
      case 'state:update':
        if (typeof message.key === 'string') {
          const entry: StateEntry = {
            value: message.value,
            timestamp: Number(message.timestamp),
            userId: String(message.userId),
          };
          this.stateSignal.set({ ...this.stateSignal.peek(), [message.key]: entry });
        }
        break;
      case 'room:left':
        this.wanted = false;
        this.left(new RoomkitError('room_left', String(message.reason ?? 'removed from the room')));
        break;
    }
    const set = this.listeners.get(message.type);
    if (set) for (const listener of [...set]) listener(message);
  }

  receiveFrame(frame: StorageFrame): void {
    for (const listener of [...this.frameListeners]) listener(frame);
  }

  sessionStarted(): void {
    if (this.wanted) this.join();
  }

  sessionEnded(): void {
    this.joining = false;
    if (this.joinedSignal.peek() || this.membersSignal.peek().length > 0) this.left(null);
  }

  // ---- membership ----

  private reconcile(): void {
    if (this.reconcileQueued) return;
    this.reconcileQueued = true;
    queueMicrotask(() => {
      this.reconcileQueued = false;
      if (this.holders > 0) {
        this.wanted = true;
        this.join();
      } else if (this.holders === 0 && this.wanted) {
        this.wanted = false;
        if (this.joinedSignal.peek() || this.joining) {
          this.client.sendMessage({ type: 'room:leave', room: this.id });
        }
        this.joining = false;
        this.left(null);
      }
    });
  }

  /** (Re)sends the join; safe to call while one is in flight. */
  join(): void {
    if (this.joining || this.joinedSignal.peek() || this.client.session.peek() === null) return;
    this.joining = true;
    const message: RealtimeMessage = { type: 'room:join', room: this.id };
    const { password, maxUsers, metadata } = this.settings;
    if (password !== undefined) message.password = password;
    if (maxUsers !== undefined) message.maxUsers = maxUsers;
    if (metadata !== undefined) message.metadata = metadata;
    const attempt = this.client.request(message).then((reply) => {
      if (this.pendingJoin === attempt) this.pendingJoin = null;
      if (!this.joining) return this.joinedSignal.peek();
      this.joining = false;
      if (!this.wanted) return false;
      if (!reply.ok) {
        if (reply.error.code !== 'disconnected') this.errorSignal.set(reply.error);
        return false;
      }
      batch(() => {
        this.errorSignal.set(null);
        this.joinedSignal.set(true);
      });
      this.lastPresenceSent = 0;
      this.sendPresence();
      for (const listener of [...this.joinedListeners]) listener();
      return true;
    });
    this.pendingJoin = attempt;
    for (const queued of this.outbox.splice(0)) this.client.sendMessage(queued);
  }

  private left(error: RoomkitError | null): void {
    clearTimeout(this.presenceTimer);
    this.presenceTimer = undefined;
    batch(() => {
      this.joinedSignal.set(false);
      this.membersSignal.set([]);
      if (error) this.errorSignal.set(error);
    });
    for (const listener of [...this.leftListeners]) listener();
  }

  // ---- presence ----

  private schedulePresence(): void {
    if (!this.joinedSignal.peek() || this.presenceTimer !== undefined) return;
    const wait = this.lastPresenceSent + this.presenceInterval - Date.now();
    if (wait <= 0) {
      this.sendPresence();
      return;
    }
    this.presenceTimer = setTimeout(() => {
      this.presenceTimer = undefined;
      this.sendPresence();
    }, wait);
  }

  private sendPresence(): void {
    if (!this.joinedSignal.peek()) return;
    const data = this.dataSignal.peek();
    if (this.declaredUser === null && Object.keys(data).length === 0) return;
    this.lastPresenceSent = Date.now();
    const metadata: Record<string, unknown> = { data };
    if (this.declaredUser) metadata.user = this.declaredUser;
    void this.client.request({ type: 'presence:update', room: this.id, metadata }).then((reply) => {
      if (!reply.ok && reply.error.code !== 'disconnected') this.client.reportError(reply.error);
    });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
