import { isValidRoomId } from '@roomkit/protocol';
import type { Bus, BusReceiver } from '../bus/bus.js';
import {
  type BusMessage,
  type BusQueries,
  type BusQueryKind,
  type Delivery,
  isLiveMessage,
  isSpacesMessage,
  type LiveBusMessage,
  type MemberRecord,
  type RoomDescription,
  type RoomEvent,
  type RoomSnapshot,
  roomTopic,
  type SpacesBusMessage,
} from '../bus/messages.js';
import type { MaybePromise, RoomDirectory } from '../bus/room-directory.js';
import type { StateLimits } from '../features/live-state-store.js';
import type { HybridLogicalClock } from '../hlc.js';
import { guarded } from '../observability/guard.js';
import type { Logger } from '../observability/logger.js';
import { passwordDigest } from './admission.js';
import { Room, type RoomListener } from './room.js';
import { checkSettings, type RoomSettings } from './room-settings.js';

export type RoomUnloadListener = (room: Room, reason: string | null) => void;

/** The deliveries a feature may take over from the room's default (deliver to local members). */
export type FeatureDelivery = Extract<Delivery, { kind: 'storage' | 'awareness' }>;
type DeliveryHandler<K extends FeatureDelivery['kind']> = (
  room: Room,
  message: Extract<FeatureDelivery, { kind: K }>,
) => void;
type QueryAnswerer<K extends BusQueryKind> = (roomId: string) => BusQueries[K] | null;

/** Where the live-component side of the bus goes (the server's live rooms): they are not `Room`s. */
export interface LiveBusReceiver {
  receive(message: LiveBusMessage): void;
  /** Another node is gone: its member components too. */
  nodeDown(nodeId: string): void;
}

/** Where Spaces' orders from other nodes go, for a room this node holds (see `SpacesBusMessage`). */
export type SpacesBusReceiver = (room: Room, message: SpacesBusMessage) => void;

/** What the rooms tell the rest of the node; a listener implements the parts it needs. */
export interface RoomManagerListener {
  /** A user's aggregated presence in `room` may have changed. */
  presenceChanged?(room: Room): void;
  /**
   * Another node left or died, and `lost` (its members of `room`, on that node's sockets) were
   * dropped from this node's copy. Their connections never went through a leave on this node, so
   * this is the only word a feature gets of them (a seat to take offline, awareness to remove).
   * Called once per room this node holds that had such members, after the directory gave their
   * seats back, and on every node that holds the room: a listener that tells the room must pick
   * one teller itself.
   */
  membersLost?(room: Room, lost: readonly MemberRecord[], nodeId: string): void;
}

/** Then: `fn(value)` now if `value` is not a promise, later if it is. */
export function andThen<T, R>(
  value: MaybePromise<T>,
  fn: (value: T) => MaybePromise<R>,
): MaybePromise<R> {
  return value instanceof Promise ? value.then(fn) : fn(value);
}

/**
 * A directory or bus answer the synchronous server API needs at once. The in-process directory
 * and bus always answer at once; a networked one is used through the asynchronous paths.
 */
function now<T>(value: MaybePromise<T>): T {
  if (value instanceof Promise) {
    throw new Error('RoomManager: this call needs a bus and directory that answer at once');
  }
  return value;
}

/**
 * The rooms this node holds, each a replica kept up to date by applying room events: its own
 * (applied here, then published) and the other nodes' (from the bus). Also answers membership
 * queries (who is in which room, counts, stats), over
 * every node's members for the rooms this node holds.
 */
export class RoomManager implements BusReceiver {
  private readonly rooms = new Map<string, Room>();
  private readonly cleanupTimers = new Map<string, NodeJS.Timeout>();
  private readonly unloadListeners: RoomUnloadListener[] = [];
  private readonly listeners: RoomManagerListener[] = [];
  private live: LiveBusReceiver | null = null;
  private spaces: SpacesBusReceiver | null = null;
  private readonly deliveryHandlers: { [K in FeatureDelivery['kind']]?: DeliveryHandler<K> } = {};
  private readonly answerers: { [K in BusQueryKind]?: QueryAnswerer<K> } = {
    'room-snapshot': (roomId) => this.snapshot(roomId),
  };
  private readonly roomListener: RoomListener;

  constructor(
    private readonly bus: Bus,
    private readonly logger: Logger,
    /** Observes other nodes' state timestamps, so this node's later writes order after them. */
    private readonly clock: HybridLogicalClock,
    private readonly stateLimits: StateLimits = { maxKeys: 1000, maxBytes: 1024 * 1024 },
  ) {
    bus.attach(this);
    this.roomListener = {
      presenceChanged: (room) => {
        for (const listener of this.listeners) listener.presenceChanged?.(room);
      },
      described: (room) => {
        this.record(this.bus.directory.setMetadata(room.id, room.metadata));
        this.publish({ kind: 'room-described', room: room.id, description: room.description });
      },
      publishFailed: (error) => this.logger.error({ err: error }, 'bus publish failed'),
    };
  }

  get nodeId(): string {
    return this.bus.nodeId;
  }

  /** The cluster's record of rooms and seats. */
  get directory(): RoomDirectory {
    return this.bus.directory;
  }

  /** Registers a part of the node that reacts to room changes. */
  listen(listener: RoomManagerListener): void {
    this.listeners.push(listener);
  }

  /** Receives the live-component messages the bus delivers to this node, and lost nodes. */
  onLive(receiver: LiveBusReceiver): void {
    this.live = receiver;
  }

  /** Receives the Spaces messages the bus delivers to this node (for rooms it holds). */
  onSpaces(receiver: SpacesBusReceiver): void {
    this.spaces = receiver;
  }

  /** Runs when a room is removed (cleanup expiry, `remove`, or server stop). */
  onUnload(listener: RoomUnloadListener): void {
    this.unloadListeners.push(listener);
  }

  /**
   * Takes over another node's deliveries of one kind (storage: apply the update to this node's
   * copy of the document first). Without a handler they go to the room's local members.
   */
  onDelivery<K extends FeatureDelivery['kind']>(kind: K, handler: DeliveryHandler<K>): void {
    (this.deliveryHandlers as Record<K, DeliveryHandler<K>>)[kind] = handler;
  }

  /** Answers the other nodes' queries of one kind (see `BusQueries`). */
  answerQueries<K extends BusQueryKind>(kind: K, answerer: QueryAnswerer<K>): void {
    (this.answerers as Record<K, QueryAnswerer<K>>)[kind] = answerer;
  }

  /** Asks the other nodes about a room (see `BusQueries`): one answer per node that holds it. */
  query<K extends BusQueryKind>(kind: K, roomId: string): MaybePromise<BusQueries[K][]> {
    return this.bus.query(kind, roomId);
  }

  // ---- the bus side ----

  /** A message from another node. */
  receive(message: BusMessage): void {
    guarded(this.logger, `bus ${message.kind}`, () => {
      if (isLiveMessage(message)) {
        this.live?.receive(message);
        return;
      }
      const room = this.rooms.get(message.room);
      if (!room) return;
      if (isSpacesMessage(message)) {
        this.spaces?.(room, message);
        return;
      }
      switch (message.kind) {
        case 'broadcast':
          room.deliver(message.data, message.exclude, message.lossy);
          break;
        case 'batch':
          room.deliverBatch(message.items);
          break;
        case 'storage': {
          const handler = this.deliveryHandlers.storage;
          if (handler) handler(room, message);
          else room.deliverStorage(message.update, message.clock, message.from, message.exclude);
          break;
        }
        case 'awareness': {
          const handler = this.deliveryHandlers.awareness;
          if (handler) handler(room, message);
          else room.deliverToYjsPeers(message.message);
          break;
        }
        default:
          this.apply(room, message);
      }
    });
  }

  /** This node's answer to another node's query about a room. */
  answer<K extends BusQueryKind>(kind: K, roomId: string): BusQueries[K] | null {
    const answerer = this.answerers[kind] as QueryAnswerer<K> | undefined;
    if (!answerer) return null;
    let answer: BusQueries[K] | null = null;
    guarded(this.logger, `bus query ${kind}`, () => {
      answer = answerer(roomId);
    });
    return answer;
  }

  /** This node's part of a room, for a node opening it. */
  private snapshot(roomId: string): RoomSnapshot | null {
    const room = this.rooms.get(roomId);
    if (!room) return null;
    const members: MemberRecord[] = [];
    for (const member of room.members.values()) {
      if (member.nodeId === this.bus.nodeId) members.push(member);
    }
    return { description: room.description, members, state: room.liveState.snapshot() };
  }

  /** Another node is gone: its members leave every room here, and the listeners hear who. */
  nodeDown(nodeId: string): void {
    this.live?.nodeDown(nodeId);
    for (const room of [...this.rooms.values()]) {
      const lost = this.dropMembersOf(room, nodeId);
      if (lost.length === 0) continue;
      for (const listener of this.listeners) {
        guarded(this.logger, 'members lost', () => listener.membersLost?.(room, lost, nodeId));
      }
    }
  }

  /** Takes the members on `nodeId`'s sockets out of this node's copy of the room. */
  private dropMembersOf(room: Room, nodeId: string): MemberRecord[] {
    const lost: MemberRecord[] = [];
    for (const member of [...room.members.values()]) {
      if (member.nodeId === nodeId && room.applyLeft(member.connectionId)) lost.push(member);
    }
    return lost;
  }

  /** Applies a room event from this node: here now, then on every other node holding the room. */
  applyLocal(room: Room, event: RoomEvent): void {
    this.apply(room, event);
    this.publish(event);
  }

  private publish(message: BusMessage): void {
    this.bus.publish(message).catch((error: unknown) => {
      this.logger.error({ err: error, kind: message.kind }, 'bus publish failed');
    });
  }

  /** Applies a room event, the same way whichever node produced it. */
  private apply(room: Room, event: RoomEvent): void {
    switch (event.kind) {
      case 'member-joined':
        this.cancelCleanup(room.id);
        room.applyJoined(event.member);
        break;
      case 'member-left':
        room.applyLeft(event.connectionId);
        break;
      case 'member-updated':
        room.applyUpdated(event.connectionId, event.changes);
        break;
      case 'room-described':
        if (event.description.incarnation === room.description.incarnation) {
          room.describe(event.description);
        }
        break;
      case 'state-set':
        this.clock.observe(event.entry.timestamp);
        room.liveState.set(event.key, event.entry, event.size);
        break;
      case 'room-removed':
        this.unload(room, event.reason);
        break;
    }
  }

  // ---- holding rooms ----

  /**
   * The room as this node holds it, opened from the directory's `description` if needed: a new
   * copy subscribes to the room's events and takes the other nodes' members and state. A copy of
   * an older incarnation of the room (removed and created anew meanwhile) is replaced.
   */
  open(roomId: string, description: RoomDescription): MaybePromise<Room> {
    this.cancelCleanup(roomId);
    const held = this.rooms.get(roomId);
    if (held && held.description.incarnation === description.incarnation) return held;
    if (held) this.unload(held, null);
    const room = new Room(roomId, this.bus, this.roomListener, this.stateLimits, description);
    this.rooms.set(roomId, room);
    return andThen(this.bus.subscribe(roomTopic(roomId)), () =>
      andThen(this.bus.query('room-snapshot', roomId), (snapshots) => {
        for (const snapshot of snapshots) {
          if (snapshot.description.incarnation !== description.incarnation) continue;
          for (const member of snapshot.members) room.applyJoined(member);
          for (const [key, entry] of Object.entries(snapshot.state)) {
            room.liveState.set(key, entry, Buffer.byteLength(JSON.stringify(entry)));
          }
        }
        room.settlePresence();
        return room;
      }),
    );
  }

  /**
   * The room, opened on this node and created (unpinned: an empty room is cleaned up after its
   * grace period) if it does not exist anywhere. Cancels a pending cleanup, so a rejoin keeps the
   * room's state. An existing room keeps its own settings; `settings` apply to one this creates.
   */
  getOrCreate(roomId: string, settings: RoomSettings = {}): Room {
    this.cancelCleanup(roomId);
    const held = this.rooms.get(roomId);
    if (held) return held;
    if (!isValidRoomId(roomId)) {
      throw new TypeError(`RoomManager.getOrCreate: "${roomId}" is not a valid room id`);
    }
    const checked = checkSettings('RoomManager.getOrCreate', settings);
    const directory = this.bus.directory;
    const description =
      now(directory.describe(roomId)) ??
      now(
        directory.create(
          roomId,
          { maxUsers: checked.maxUsers ?? null, metadata: checked.metadata ?? {}, pinned: false },
          passwordDigest(checked.password),
          Date.now(),
        ),
      );
    if (description === null) throw new Error(`RoomManager.getOrCreate: room "${roomId}" vanished`);
    return now(this.open(roomId, description));
  }

  /**
   * Creates an empty room with `settings` ahead of its members (server API). The room is pinned:
   * it is not cleaned up while empty, so its password holds until the application calls `remove`.
   * It counts toward `limits.maxRooms` but is not refused by it. Throws a `TypeError` for an invalid
   * room id or setting, and an `Error` if the room already exists in the cluster (one in its empty
   * grace period too: `remove` it first to recreate it).
   */
  create(roomId: string, settings: RoomSettings = {}): Room {
    if (!isValidRoomId(roomId)) {
      throw new TypeError(`RoomManager.create: "${roomId}" is not a valid room id`);
    }
    const checked = checkSettings('RoomManager.create', settings);
    const description = now(
      this.bus.directory.create(
        roomId,
        { maxUsers: checked.maxUsers ?? null, metadata: checked.metadata ?? {}, pinned: true },
        passwordDigest(checked.password),
        Date.now(),
      ),
    );
    if (description === null) {
      throw new Error(`RoomManager.create: room "${roomId}" already exists`);
    }
    return now(this.open(roomId, description));
  }

  get(roomId: string): Room | undefined {
    return this.rooms.get(roomId);
  }

  /**
   * Removes a room now, on every node, from any node (one without a copy of the room too): its
   * members stay connected but roomless (they get `room:left` with `reason`), and the room's
   * settings are forgotten.
   */
  remove(roomId: string, reason = 'room removed'): void {
    this.record(this.bus.directory.remove(roomId));
    // Published whether or not this node holds a copy: the room's members may all be elsewhere,
    // and a node needs no subscription to a topic to publish on it.
    this.publish({ kind: 'room-removed', room: roomId, reason });
    const room = this.rooms.get(roomId);
    if (room) this.unload(room, reason);
  }

  /**
   * Drops this node's copy of the room after `timeoutMs` unless someone joins first; the room's
   * record goes too if it is still empty everywhere. A pinned room is kept.
   */
  scheduleCleanup(roomId: string, timeoutMs: number): void {
    this.cancelCleanup(roomId);
    if (this.rooms.get(roomId)?.pinned) return;
    const timer = setTimeout(() => {
      this.cleanupTimers.delete(roomId);
      const room = this.rooms.get(roomId);
      if (!room || room.localSize > 0) return;
      guarded(this.logger, 'room cleanup', () => {
        if (room.size === 0) {
          this.record(this.bus.directory.removeIfEmpty(roomId, room.description.incarnation));
        }
        this.unload(room, null);
      });
    }, timeoutMs);
    timer.unref();
    this.cleanupTimers.set(roomId, timer);
  }

  /** A directory call whose answer nobody waits for: a failure is logged. */
  record(result: MaybePromise<unknown>): void {
    if (result instanceof Promise) {
      result.catch((error: unknown) => this.logger.error({ err: error }, 'room directory failed'));
    }
  }

  /** Takes a room off this node: `reason` (null for a quiet cleanup) goes to its members. */
  private unload(room: Room, reason: string | null): void {
    if (this.rooms.get(room.id) !== room) return;
    this.cancelCleanup(room.id);
    this.rooms.delete(room.id);
    this.record(this.bus.unsubscribe(roomTopic(room.id)));
    for (const listener of this.unloadListeners) listener(room, reason);
  }

  hasPendingCleanup(roomId: string): boolean {
    return this.cleanupTimers.has(roomId);
  }

  all(): IterableIterator<Room> {
    return this.rooms.values();
  }

  /** Rooms this node holds. */
  get roomCount(): number {
    return this.rooms.size;
  }

  /**
   * Sends `data` to every member of the room on every node (but `excludeIds`). False if the room
   * exists nowhere in the cluster.
   */
  broadcast(roomId: string, data: string, excludeIds?: readonly string[]): boolean {
    const room = this.rooms.get(roomId);
    if (room) {
      room.broadcast(data, excludeIds);
      return true;
    }
    if (now(this.bus.directory.describe(roomId)) === null) return false;
    this.publish({ kind: 'broadcast', room: roomId, data, exclude: excludeIds, lossy: false });
    return true;
  }

  // ---- membership queries: the whole cluster's, from its directory ----

  /** Distinct user ids connected to the room, on every node. */
  getUsers(roomId: string): string[] {
    return now(this.bus.directory.users(roomId));
  }

  /** Ids of the rooms the user has at least one connection in, on every node. */
  getRooms(userId: string): string[] {
    return now(this.bus.directory.roomsOf(userId));
  }

  isInRoom(roomId: string, userId: string): boolean {
    return this.getUsers(roomId).includes(userId);
  }

  /** Rooms in the cluster (`roomCount` is this node's). */
  getRoomCount(): number {
    return now(this.bus.directory.roomCount());
  }

  /** Distinct users in the room on every node (a user with three tabs counts once). */
  getUserCount(roomId: string): number {
    return this.getUsers(roomId).length;
  }

  private cancelCleanup(roomId: string): void {
    const timer = this.cleanupTimers.get(roomId);
    if (timer) {
      clearTimeout(timer);
      this.cleanupTimers.delete(roomId);
    }
  }

  /** Takes every room off this node (server stop). */
  clear(): void {
    for (const room of [...this.rooms.values()]) this.unload(room, null);
  }
}
