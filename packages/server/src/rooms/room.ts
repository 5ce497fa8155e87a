import {
  bytesToBase64,
  encodeServerMessage,
  encodeStorageFrame,
  type PresenceUser,
  type RoomInfoServerMessage,
  StorageFrameKind,
} from '@roomkit/protocol';
import type { Bus } from '../bus/bus.js';
import type {
  BusMessage,
  MemberRecord,
  PresenceChanges,
  RoomDescription,
} from '../bus/messages.js';
import { LiveStateStore, type StateLimits } from '../features/live-state-store.js';
import type { StorageDocument } from '../storage/room-document.js';
import { encodeYjsUpdateMessage } from '../yjs/y-websocket-protocol.js';
import type { Membership } from './connection.js';
import { binaryFrame, textFrame } from './frame.js';
import { aggregatePresence } from './presence-user.js';
import { copyMetadata } from './room-settings.js';

/** Where a room reports changes that other parts of its node react to. */
export interface RoomListener {
  /** A user's aggregated presence may have changed (a member joined, left or updated). */
  presenceChanged(room: Room): void;
  /** This node changed the room's settings: record them and tell the other nodes. */
  described(room: Room): void;
  /** The bus could not send a message to the other nodes. */
  publishFailed(error: unknown): void;
}

/**
 * A room as this node holds it. Its members on every node (`members`) and its settings and live
 * state are a replica, kept by applying the room's events (`RoomManager.apply`), the same way
 * whichever node produced them; its sockets (`connections`) are this node's own.
 */
export class Room {
  /** This node's connections in the room: the sockets it writes to. */
  readonly connections = new Map<string, Membership>();
  /** Every member on every node, by connection id. */
  readonly members = new Map<string, MemberRecord>();
  readonly liveState: LiveStateStore;
  /** The room's document once storage was first used (set by the storage feature). */
  storageDocument: StorageDocument | null = null;
  private descriptionValue: RoomDescription;
  private infoFrameCache: string | null = null;
  /** Members by `userId`, on every node: distinct users, tabs, and presence per user. */
  /** Each user's members: the record itself for one tab (nearly always), a Map for several. */
  private readonly byUser = new Map<string, MemberRecord | Map<string, MemberRecord>>();
  /** Users whose aggregated presence may differ from what members were last sent. */
  readonly dirtyUsers = new Set<string>();
  /** Presence as this node's members were last sent it, one entry per user (the flush's base). */
  readonly presenceView = new Map<string, PresenceUser>();
  /** Counts presence changes: a list built at one version is current while it holds. */
  presenceVersion = 0;

  constructor(
    readonly id: string,
    private readonly bus: Bus,
    private readonly listener: RoomListener,
    stateLimits: StateLimits,
    description: RoomDescription,
  ) {
    this.liveState = new LiveStateStore(stateLimits);
    this.descriptionValue = description;
  }

  /** Connections in the room, on every node. */
  get size(): number {
    return this.members.size;
  }

  /** This node's connections in the room. */
  get localSize(): number {
    return this.connections.size;
  }

  /** Distinct users connected, on every node (a user with three tabs counts once). */
  get userCount(): number {
    return this.byUser.size;
  }

  /** How many connections `userId` has in the room, on every node. */
  connectionsOf(userId: string): number {
    const tabs = this.byUser.get(userId);
    return tabs === undefined ? 0 : tabs instanceof Map ? tabs.size : 1;
  }

  /** The user's member records on every node. */
  private tabsOf(userId: string): MemberRecord[] {
    const tabs = this.byUser.get(userId);
    return tabs === undefined ? [] : tabs instanceof Map ? [...tabs.values()] : [tabs];
  }

  get description(): RoomDescription {
    return this.descriptionValue;
  }

  /** When the room was created (ms since epoch), as every node knows it. */
  get createdAt(): number {
    return this.descriptionValue.createdAt;
  }

  /** Kept while empty, until the application removes it (`RoomManager.create`). */
  get pinned(): boolean {
    return this.descriptionValue.pinned;
  }

  /** The most distinct users the room admits (`room_full` past it), or null for no limit. */
  get maxUsers(): number | null {
    return this.descriptionValue.maxUsers;
  }

  get hasPassword(): boolean {
    return this.descriptionValue.hasPassword;
  }

  /** The room's metadata as members see it in `room:info`. Change it with `setMetadata`. */
  get metadata(): Readonly<Record<string, unknown>> {
    return this.descriptionValue.metadata;
  }

  /**
   * Replaces the room's metadata (a JSON object; a copy is kept) and sends the new `room:info` to
   * every member on every node. Not limited by `limits.maxRoomMetadataBytes`: the application
   * decides.
   */
  setMetadata(metadata: Record<string, unknown>): void {
    const copy = copyMetadata('Room.setMetadata', metadata);
    this.describe({ ...this.descriptionValue, metadata: copy });
    this.listener.described(this);
  }

  /** Applies new settings (from this node or another): members get the new `room:info`. */
  describe(description: RoomDescription): void {
    this.descriptionValue = description;
    this.infoFrameCache = null;
    this.deliver(this.infoFrame(), undefined, false);
  }

  /** The encoded `room:info`, encoded once per metadata change (every joiner gets it). */
  infoFrame(): string {
    const { createdAt, metadata, maxUsers, hasPassword } = this.descriptionValue;
    this.infoFrameCache ??= encodeServerMessage({
      type: 'room:info',
      room: this.id,
      createdAt,
      metadata,
      maxUsers,
      hasPassword,
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

  /** Connected users on every node, one entry per `userId` (tabs fold into one, with a count). */
  getUsers(): PresenceUser[] {
    return aggregatePresence(Array.from(this.members.values(), (member) => member.user));
  }

  /** The user's entry as the others see it (tabs folded into one), or undefined if not here. */
  presenceOf(userId: string): PresenceUser | undefined {
    const tabs = this.tabsOf(userId);
    if (tabs.length === 0) return undefined;
    return aggregatePresence(tabs.map((member) => member.user))[0];
  }

  /** The ids of this node's connections of `userId`. */
  localConnectionsOf(userId: string): string[] {
    const own: string[] = [];
    for (const { connectionId } of this.tabsOf(userId)) {
      if (this.connections.has(connectionId)) own.push(connectionId);
    }
    return own;
  }

  // ---- applying the room's events (RoomManager.apply calls these, for every node's events) ----

  /** A member joined (here or on another node). Idempotent. */
  applyJoined(member: MemberRecord): void {
    this.members.set(member.connectionId, member);
    const { userId } = member.user;
    const tabs = this.byUser.get(userId);
    if (
      tabs === undefined ||
      (!(tabs instanceof Map) && tabs.connectionId === member.connectionId)
    ) {
      this.byUser.set(userId, member);
    } else if (tabs instanceof Map) {
      tabs.set(member.connectionId, member);
    } else {
      this.byUser.set(
        userId,
        new Map([
          [tabs.connectionId, tabs],
          [member.connectionId, member],
        ]),
      );
    }
    this.presenceChanged(userId);
  }

  /** A member left. Returns its record, or undefined if it was not a member. */
  applyLeft(connectionId: string): MemberRecord | undefined {
    const member = this.members.get(connectionId);
    if (!member) return undefined;
    this.members.delete(connectionId);
    const { userId } = member.user;
    const tabs = this.byUser.get(userId);
    if (tabs instanceof Map) {
      tabs.delete(connectionId);
      if (tabs.size === 0) this.byUser.delete(userId);
    } else if (tabs?.connectionId === connectionId) {
      this.byUser.delete(userId);
    }
    this.presenceChanged(userId);
    return member;
  }

  /** A member's presence fields changed. */
  applyUpdated(connectionId: string, changes: PresenceChanges): void {
    const member = this.members.get(connectionId);
    if (!member) return;
    // Own properties only: the fields come from a typed event, never a prototype key.
    Object.assign(member.user, changes);
    this.presenceChanged(member.user.userId);
  }

  /**
   * Takes the members present when this node opened the room as already known: nobody here was
   * told anything yet, so they are no news to announce (a joiner's snapshot shows them).
   */
  settlePresence(): void {
    for (const userId of this.byUser.keys()) {
      const entry = this.presenceOf(userId);
      if (entry) this.presenceView.set(userId, entry);
    }
    this.dirtyUsers.clear();
  }

  /** Marks a user's presence for the next flush. */
  presenceChanged(userId: string): void {
    this.presenceVersion++;
    this.dirtyUsers.add(userId);
    this.listener.presenceChanged(this);
  }

  /**
   * Sends `data` to every member on every node except `excludeIds`, reliably: written to this
   * node's sockets now, and published for the other nodes'.
   */
  broadcast(data: string, excludeIds?: readonly string[]): void {
    this.deliver(data, excludeIds, false);
    this.publish({ kind: 'broadcast', room: this.id, data, exclude: excludeIds, lossy: false });
  }

  /** Like `broadcast`, but members with a full send buffer skip it (cursors). */
  broadcastLossy(data: string, excludeIds?: readonly string[]): void {
    this.deliver(data, excludeIds, true);
    this.publish({ kind: 'broadcast', room: this.id, data, exclude: excludeIds, lossy: true });
  }

  /** Lossy messages each for everyone but its sender, delivered as one batch (cursor flushes). */
  broadcastBatch(items: readonly { data: string; exclude: string }[]): void {
    if (items.length === 0) return;
    this.deliverBatch(items);
    this.publish({ kind: 'batch', room: this.id, items });
  }

  /** Sends a document change to every subscribed member on every node (never dropped). */
  broadcastStorage(update: Uint8Array, clock: number, from: string, exclude?: string): void {
    this.deliverStorage(update, clock, from, exclude);
    this.publish({ kind: 'storage', room: this.id, update, clock, from, exclude });
  }

  /** Sends a y-websocket awareness message to the room's y-websocket connections. */
  broadcastAwareness(message: Uint8Array): void {
    this.deliverToYjsPeers(message);
    this.publish({ kind: 'awareness', room: this.id, message });
  }

  /** Publishes for the other nodes; a failure is logged by the bus's owner, never thrown here. */
  private publish(message: BusMessage): void {
    this.bus.publish(message).catch((error: unknown) => this.listener.publishFailed(error));
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
}
