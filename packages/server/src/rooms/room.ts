import {
  bytesToBase64,
  encodeServerMessage,
  encodeStorageFrame,
  type PresenceUser,
  type RoomInfoServerMessage,
  StorageFrameKind,
} from '@roomkit/protocol';
import type { Bus } from '../bus/bus.js';
import { LiveStateStore, type StateLimits } from '../features/live-state-store.js';
import type { StorageDocument } from '../storage/room-document.js';
import { encodeYjsUpdateMessage } from '../yjs/y-websocket-protocol.js';
import type { RoomConnection } from './connection.js';
import { binaryFrame, textFrame } from './frame.js';
import { aggregatePresence } from './presence-user.js';
import { copyMetadata, RoomPassword, type RoomSettings } from './room-settings.js';

export class Room {
  readonly connections = new Map<string, RoomConnection>();
  readonly liveState: LiveStateStore;
  readonly createdAt = Date.now();
  /** The most distinct users the room admits (`room_full` past it), or null for no limit. */
  readonly maxUsers: number | null;
  /**
   * Created by the application (`RoomManager.create`): kept while empty, until the application
   * removes it, so its password cannot lapse with an idle spell.
   */
  readonly pinned: boolean;
  /** The room's document once storage was first used (set by the storage feature). */
  storageDocument: StorageDocument | null = null;
  private readonly password: RoomPassword | null;
  private metadataValue: Record<string, unknown>;
  private infoFrameCache: string | null = null;
  /** Connections per `userId`: distinct users for `maxUsers`, first and last tabs for room events. */
  private readonly userConnections = new Map<string, number>();
  private presenceVersion = 0;
  private usersCache: PresenceUser[] | null = null;
  private presenceFrameCache: string | null = null;

  constructor(
    readonly id: string,
    private readonly bus: Bus,
    stateLimits: StateLimits,
    settings: RoomSettings = {},
    pinned = false,
  ) {
    this.liveState = new LiveStateStore(stateLimits);
    this.maxUsers = settings.maxUsers ?? null;
    this.password = settings.password === undefined ? null : new RoomPassword(settings.password);
    this.metadataValue = settings.metadata ?? {};
    this.pinned = pinned;
  }

  get size(): number {
    return this.connections.size;
  }

  /** Distinct users connected (a user with three tabs counts once). */
  get userCount(): number {
    return this.userConnections.size;
  }

  /** How many connections `userId` has in the room. */
  connectionsOf(userId: string): number {
    return this.userConnections.get(userId) ?? 0;
  }

  /** The distinct user ids connected. */
  userIds(): IterableIterator<string> {
    return this.userConnections.keys();
  }

  get hasPassword(): boolean {
    return this.password !== null;
  }

  /** True if the room has no password, or `candidate` is it (compared in constant time). */
  admitsPassword(candidate: string | undefined): boolean {
    return this.password === null || this.password.matches(candidate);
  }

  /** The room's metadata as members see it in `room:info`. Change it with `setMetadata`. */
  get metadata(): Readonly<Record<string, unknown>> {
    return this.metadataValue;
  }

  /**
   * Replaces the room's metadata (a JSON object; a copy is kept) and sends the new `room:info` to
   * every member. Not limited by `limits.maxRoomMetadataBytes`: the application decides.
   */
  setMetadata(metadata: Record<string, unknown>): void {
    this.metadataValue = copyMetadata('Room.setMetadata', metadata);
    this.infoFrameCache = null;
    this.broadcast(this.infoFrame());
  }

  /** The encoded `room:info`, encoded once per metadata change (every joiner gets it). */
  infoFrame(): string {
    this.infoFrameCache ??= encodeServerMessage({
      type: 'room:info',
      room: this.id,
      createdAt: this.createdAt,
      metadata: this.metadataValue,
      maxUsers: this.maxUsers,
      hasPassword: this.password !== null,
    } satisfies RoomInfoServerMessage);
    return this.infoFrameCache;
  }

  /** Whether the room's CRDT document has been loaded. */
  get storageInitialized(): boolean {
    return this.storageDocument !== null;
  }

  getStorageDocument(): StorageDocument | null {
    return this.storageDocument;
  }

  /** Connected users, one entry per `userId` (several tabs fold into one, with a count). */
  getUsers(): PresenceUser[] {
    this.usersCache ??= aggregatePresence(
      Array.from(this.connections.values(), (connection) => connection.user),
    );
    return this.usersCache;
  }

  /** Sends `data` to every member except `excludeIds`, reliably, through the bus. */
  broadcast(data: string, excludeIds?: readonly string[]): void {
    this.bus.publish({ kind: 'broadcast', room: this.id, data, exclude: excludeIds, lossy: false });
  }

  /** Like `broadcast`, but members with a full send buffer skip it (cursors, presence). */
  broadcastLossy(data: string, excludeIds?: readonly string[]): void {
    this.bus.publish({ kind: 'broadcast', room: this.id, data, exclude: excludeIds, lossy: true });
  }

  /** Lossy messages each for everyone but its sender, delivered as one batch (cursor flushes). */
  broadcastBatch(items: readonly { data: string; exclude: string }[]): void {
    if (items.length > 0) this.bus.publish({ kind: 'batch', room: this.id, items });
  }

  /** Sends `data` to one member. Returns false if no such connection is in the room. */
  send(connectionId: string, data: string | Buffer): boolean {
    const connection = this.connections.get(connectionId);
    if (!connection) return false;
    connection.session.send(data);
    return true;
  }

  /**
   * Local fan-out, called by the bus: the WebSocket frame is built once and the same bytes are
   * written to every member's socket. No per-member allocation or encoding.
   */
  deliver(data: string, exclude: readonly string[] | undefined, lossy: boolean): void {
    const frame = textFrame(data);
    for (const connection of this.connections.values()) {
      if (exclude?.includes(connection.id) || connection.session.wire !== 'roomkit') continue;
      connection.session.writeFrames(frame, lossy);
    }
  }

  /** Sends a document change to every subscribed member, through the bus (never dropped). */
  broadcastStorage(update: Uint8Array, clock: number, from: string, exclude?: string): void {
    this.bus.publish({ kind: 'storage', room: this.id, update, clock, from, exclude });
  }

  /** Sends a y-websocket awareness message to the room's y-websocket connections. */
  broadcastAwareness(message: Uint8Array): void {
    this.bus.publish({ kind: 'awareness', room: this.id, message });
  }

  /**
   * Local delivery of a document change: each subscriber gets it in the encoding it asked for
   * (a binary storage frame, base64 JSON, or a y-websocket message), each encoded once.
   */
  deliverStorage(update: Uint8Array, clock: number, from: string, exclude?: string): void {
    let binary: Buffer | undefined;
    let json: Buffer | undefined;
    let yjs: Buffer | undefined;
    for (const connection of this.connections.values()) {
      if (connection.storage === null || connection.id === exclude) continue;
      let frame: Buffer;
      if (connection.storage === 'binary') {
        frame = binary ??= binaryFrame(
          encodeStorageFrame({
            kind: StorageFrameKind.Update,
            room: this.id,
            tag: clock,
            payload: update,
          }),
        );
      } else if (connection.storage === 'base64') {
        frame = json ??= textFrame(
          encodeServerMessage({
            type: 'storage:ops',
            room: this.id,
            update: bytesToBase64(update),
            from,
            clock,
          }),
        );
      } else {
        frame = yjs ??= binaryFrame(encodeYjsUpdateMessage(update));
      }
      connection.session.writeFrames(frame, false);
    }
  }

  /** Local delivery of a y-websocket message to the room's y-websocket connections. */
  deliverToYjsPeers(message: Uint8Array): void {
    let frame: Buffer | undefined;
    for (const connection of this.connections.values()) {
      if (connection.session.wire !== 'y-websocket') continue;
      frame ??= binaryFrame(message);
      connection.session.writeFrames(frame, true);
    }
  }

  /**
   * Local delivery of a batch of lossy messages (a cursor flush), each to everyone but its own
   * sender: all frames go into one buffer, and each member gets it in one write (minus its own
   * frame) instead of one write per message. On the wire they are still separate messages.
   */
  deliverBatch(items: readonly { data: string; exclude: string }[]): void {
    const frames = items.map((item) => textFrame(item.data));
    const all = Buffer.concat(frames);
    const ownRange = new Map<string, [number, number]>();
    let offset = 0;
    for (let i = 0; i < items.length; i++) {
      const end = offset + frames[i]!.length;
      ownRange.set(items[i]!.exclude, [offset, end]);
      offset = end;
    }
    for (const connection of this.connections.values()) {
      if (connection.session.wire !== 'roomkit') continue;
      const own = ownRange.get(connection.id);
      if (own === undefined) connection.session.writeFrames(all, true);
      else if (own[0] > 0 || own[1] < all.length) {
        connection.session.writeFrames(all.subarray(0, own[0]), true, all.subarray(own[1]));
      }
    }
  }

  add(connection: RoomConnection): void {
    this.connections.set(connection.id, connection);
    const { userId } = connection.user;
    this.userConnections.set(userId, (this.userConnections.get(userId) ?? 0) + 1);
    this.presenceChanged();
  }

  remove(connectionId: string): RoomConnection | undefined {
    const connection = this.connections.get(connectionId);
    if (connection) {
      this.connections.delete(connectionId);
      const { userId } = connection.user;
      const left = (this.userConnections.get(userId) ?? 1) - 1;
      if (left > 0) this.userConnections.set(userId, left);
      else this.userConnections.delete(userId);
      this.presenceChanged();
    }
    return connection;
  }

  /** Invalidates the presence snapshot; returns the new version. */
  presenceChanged(): number {
    this.usersCache = null;
    this.presenceFrameCache = null;
    return ++this.presenceVersion;
  }

  /** Drops the cached list and frame (memory), without changing the version. */
  releasePresenceCache(): void {
    this.usersCache = null;
    this.presenceFrameCache = null;
  }

  get currentPresenceVersion(): number {
    return this.presenceVersion;
  }

  /** The encoded `presence` message for the current version, encoded at most once per version. */
  presenceFrame(): string {
    this.presenceFrameCache ??= encodeServerMessage({
      type: 'presence',
      room: this.id,
      users: this.getUsers(),
    });
    return this.presenceFrameCache;
  }
}
