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
import { MyPresence } from './my-presence.js';
import { batch, effect, memo, type ReadonlySignal, signal } from './signals.js';
import { type RealtimeMessage, RoomkitError, type User } from './types.js';
import { toUser } from './users.js';
import type { WebSocketClient } from './websocket-client.js';
import {
  applyPresenceDelta,
  isSafeKey,
  readPresenceUsers,
  readRoomInfo,
  readStateEntry,
  readStates,
  text,
} from './wire.js';

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
  private readonly stateSignal = signal<Readonly<Record<string, StateEntry>>>({});
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly frameListeners = new Set<FrameListener>();
  private readonly outbox: RealtimeMessage[] = [];
  private readonly joinedListeners = new Set<() => void>();
  private readonly leftListeners = new Set<() => void>();
  private settings: JoinSettings = {};
  private roomStorage: RoomStorage | undefined;
  private readonly mine: MyPresence;
  private holders = 0;
  /** Whether this client wants to be in the room (the server may not have said yes yet). */
  private wanted = false;
  private joining = false;
  /** The url named this room, so the server put the connection in it at connect. */
  private implicit = false;
  /** Numbers the joins sent, so a late reply to a superseded join is ignored. */
  private joinSeq = 0;
  private reconcileQueued = false;

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
    this.mine = new MyPresence(client, id, () => this.joinedSignal.peek());
    this.presenceData = this.mine.data;
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

  /** Explicit `join()` / `leave()`, the room, its users, the last error (what `useRoom` returns). */
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

  /**
   * The room's Yjs document, synced (one per room on this client). Holds the room until
   * `dispose()`, unless `hold: false`: then it only reads the document and its signals (a view for
   * a renderer; something else must hold the room for it to sync).
   */
  storage(options: { hold?: boolean } = {}): Storage {
    this.roomStorage ??= new RoomStorage(this);
    return this.roomStorage.handle(options.hold !== false);
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

  /**
   * Keeps the client in the room until the returned release is called (once). A release takes
   * effect on the next microtask, so a hold dropped and taken again in one tick (a component
   * re-mounting) never reaches the server; `release({ now: true })` (an explicit `leave()`)
   * leaves at once if nothing else holds the room: `isJoined()` is false when it returns.
   */
  hold(): (options?: { now?: boolean }) => void {
    this.holders += 1;
    this.reconcile();
    let released = false;
    return (options) => {
      if (released) return;
      released = true;
      this.holders -= 1;
      if (options?.now && this.holders === 0) this.leaveUnheld();
      else this.reconcile();
    };
  }

  /**
   * Resolves once the room is joined (true) or a join is refused (false; see `error()`). A lost
   * connection is not a refusal: the join is retried after the reconnect.
   */
  whenJoined(): Promise<boolean> {
    if (this.joinedSignal.peek()) return Promise.resolve(true);
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
    this.mine.set(data, intervalMs);
  }

  declareUser(user: Partial<User>): void {
    this.mine.declareUser(user);
  }

  /**
   * Sends a message into the room. Before the room's join has gone out (it is sent on the next
   * microtask after the first hold, and again after each reconnect) the message waits, so it
   * always reaches the server after the join.
   */
  send(message: RealtimeMessage): void {
    // Not held: no join is coming to flush an outbox, so the client's own queue takes it.
    if (this.holders === 0) {
      this.client.sendOrQueue(message);
      return;
    }
    if (this.joining || this.joinedSignal.peek()) {
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
    this.send({ type, room: this.id, payload });
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
    // A frame about a room this client has left (one already in flight at the leave) is stale,
    // unless the room is the connection's default one, which the server joined without asking.
    if (!this.wanted && !this.implicit) return;
    switch (message.type) {
      case 'presence': {
        const users = readPresenceUsers(message.users);
        if (users) this.membersSignal.set(users);
        break;
      }
      case 'presence:delta':
        this.applyDelta(message);
        break;
      case 'room:info':
        this.infoSignal.set(readRoomInfo(message));
        break;
      case 'state:init': {
        const states = readStates(message.states);
        if (states) this.stateSignal.set(states);
        break;
      }
      case 'state:update': {
        const entry = readStateEntry(message);
        const { key } = message;
        if (entry && typeof key === 'string' && isSafeKey(key)) {
          this.stateSignal.set({ ...this.stateSignal.peek(), [key]: entry });
        }
        break;
      }
      case 'room:left':
        this.wanted = false;
        this.joining = false;
        this.implicit = false;
        this.left(new RoomkitError('room_left', text(message.reason, 'removed from the room')));
        break;
    }
    for (const listener of [...(this.listeners.get(message.type) ?? [])]) {
      this.client.safely(() => listener(message));
    }
  }

  /**
   * Applies a presence delta. The server tells a delta connection who came and went only in the
   * delta, so the `room:user:joined` / `room:user:left` events are raised here, for users that
   * were not (or were) members before it.
   */
  private applyDelta(message: RealtimeMessage): void {
    const before = new Set(this.membersSignal.peek().map((user) => user.userId));
    const after = applyPresenceDelta(this.membersSignal.peek(), message);
    this.membersSignal.set(after);
    const event = (type: string, payload: unknown) =>
      this.client.emitLocal({ type, room: this.id, payload, timestamp: Date.now() });
    for (const { userId, displayName, color, avatarUrl } of after) {
      if (!before.delete(userId)) {
        event('room:user:joined', { userId, user: { userId, displayName, color, avatarUrl } });
      }
    }
    for (const userId of before) event('room:user:left', userId);
  }

  receiveFrame(frame: StorageFrame): void {
    if (!this.wanted) return;
    for (const listener of [...this.frameListeners]) this.client.safely(() => listener(frame));
  }

  sessionStarted(): void {
    this.implicit = this.client.session.peek()?.room === this.id;
    if (this.wanted) this.sendJoin();
  }

  sessionEnded(): void {
    this.joining = false;
    this.implicit = false;
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
        this.sendJoin();
      } else {
        this.leaveUnheld();
      }
    });
  }

  /** Leaves the room if this client wanted to be in it and nothing holds it any more. */
  private leaveUnheld(): void {
    if (this.holders > 0 || !this.wanted) return;
    this.wanted = false;
    if (this.joinedSignal.peek() || this.joining || this.implicit) {
      this.client.sendMessage({ type: 'room:leave', room: this.id });
    }
    this.joining = false;
    this.implicit = false;
    this.left(null);
  }

  /**
   * Joins again after a refusal or after the server removed this client from the room (`room:left`),
   * if anything still holds the room. Safe to call while a join is in flight.
   */
  join(): void {
    if (this.holders === 0) return;
    this.wanted = true;
    this.sendJoin();
  }

  /**
   * What a join carries (an undefined field is left out of the frame). Once the server has
   * described the room (`room:info`), a rejoin carries the room as the server described it, not
   * as this client asked: after a server restart the first member back recreates the room, and it
   * must come back as it was (its `maxUsers` and metadata, a password only if it had one), whoever
   * created it.
   */
  private joinSettings(): JoinSettings {
    const { password, maxUsers, metadata } = this.settings;
    const info = this.infoSignal.peek();
    if (!info) return { password, maxUsers, metadata };
    return {
      password: info.hasPassword ? password : undefined,
      maxUsers: info.maxUsers ?? undefined,
      metadata: Object.keys(info.metadata).length > 0 ? info.metadata : undefined,
    };
  }

  private sendJoin(): void {
    if (this.joining || this.joinedSignal.peek() || this.client.session.peek() === null) return;
    this.joining = true;
    const seq = ++this.joinSeq;
    const message: RealtimeMessage = {
      type: 'room:join',
      room: this.id,
      ...this.joinSettings(),
      // A protocol 2 server takes this client's presence with the join, so the others never see
      // it without it. A room the url named is joined already: its join changes nothing.
      presence: this.mine.forJoin(!this.implicit && this.client.session.peek()!.protocol >= 2),
    };
    void this.client.request(message).then((reply) => {
      // Superseded: left (and maybe joined again) or disconnected since this join was sent.
      if (seq !== this.joinSeq || !this.joining || !this.wanted) return;
      this.joining = false;
      if (!reply.ok) {
        const code = reply.error.code;
        // The room was recreated with a password since the server last described it: try the
        // configured one (once: the description is gone now).
        if (
          code === 'wrong_password' &&
          message.password === undefined &&
          this.settings.password !== undefined &&
          this.infoSignal.peek()
        ) {
          this.infoSignal.set(null);
          this.sendJoin();
          return;
        }
        if (code !== 'disconnected') this.errorSignal.set(reply.error);
        return;
      }
      batch(() => {
        this.errorSignal.set(null);
        this.joinedSignal.set(true);
      });
      this.mine.joined();
      this.notify(this.joinedListeners);
    });
    for (const queued of this.outbox.splice(0)) this.client.sendMessage(queued);
  }

  private left(error: RoomkitError | null): void {
    this.mine.left();
    batch(() => {
      this.joinedSignal.set(false);
      this.membersSignal.set([]);
      if (error) this.errorSignal.set(error);
    });
    this.notify(this.leftListeners);
  }

  /** Runs feature callbacks; one that throws is reported and does not stop the others. */
  private notify(listeners: Iterable<() => void>): void {
    for (const listener of [...listeners]) this.client.safely(listener);
  }
}
