import { isRecord, isValidRoomId } from '@roomkit/protocol';
import type { Bus } from '../bus/bus.js';
import {
  type BusQueries,
  type BusQueryKind,
  LIVE_STATS_KEY,
  type LiveBusMessage,
  type LiveRoomCounts,
  type LiveRoomEvent,
  type LiveRoomPart,
  type LiveStateEntry,
  liveRoomTopic,
} from '../bus/messages.js';
import type { MaybePromise } from '../bus/room-directory.js';
import { HybridLogicalClock } from '../hlc.js';
import type { Logger } from '../observability/logger.js';
import { andThen, type LiveBusReceiver, type RoomManager } from '../rooms/room-manager.js';
import { assertEncodable, type LiveConnection } from './live-component.js';
import { LiveRoomState, stamp } from './live-room-state.js';
import { LIVE_ROOM_EVENTS, type RoomEventBus } from './room-event-bus.js';

export interface LiveRoomDetails {
  /** Member components, on every node. */
  components: number;
  /** Event handlers registered on the room (`roomEvents`, type `'room'`), on every node. */
  events: number;
  /** Top-level keys of the room's state. */
  stateKeys: number;
}

export interface LiveRoomStats {
  /** Live rooms with at least one member, on any node. */
  rooms: number;
  /** Components in at least one live room, on every node. */
  components: number;
  roomDetails: Record<string, LiveRoomDetails>;
}

/** A node's place in a cluster, for live rooms that span its nodes. */
export interface LiveRoomCluster {
  /** The node's bus: this node's room changes go out on it. */
  readonly bus: Bus;
  /** The node's rooms: they hand over the bus's live messages and the other nodes' queries. */
  readonly rooms: RoomManager;
  /** The node's hybrid logical clock: it stamps room state writes. */
  readonly clock: HybridLogicalClock;
  readonly logger: Logger;
}

/** A live room as a node holds it: while it has member components on that node. */
interface LiveRoom {
  /** Members on this node → their connection (null: a member without a client, e.g. server code). */
  readonly members: Map<string, LiveConnection | null>;
  /** Members on other nodes → their node. */
  readonly remote: Map<string, string>;
  readonly state: LiveRoomState;
  /**
   * False until the other nodes' parts of the room are in (at once on a bus that answers at
   * once); this node's members get the room's state then.
   */
  ready: boolean;
}

/** A bus answer the synchronous API needs now; the in-process cluster always answers at once. */
function atOnce<T>(value: MaybePromise<T>, what: string): T {
  if (value instanceof Promise) {
    value.catch(() => {});
    throw new Error(`LiveRoomManager.${what}: this call needs a bus that answers at once`);
  }
  return value;
}

/** Adds up the nodes' counts. A room exists while it has members: handlers alone do not make one. */
function combine(parts: readonly LiveRoomCounts[]): LiveRoomStats {
  const rooms = new Map<string, LiveRoomDetails>();
  let components = 0;
  for (const part of parts) {
    components += part.components;
    for (const [roomId, count] of Object.entries(part.rooms)) {
      const sum = rooms.get(roomId);
      if (!sum) {
        rooms.set(roomId, { ...count });
        continue;
      }
      sum.components += count.components;
      sum.events += count.events;
      // Every holder has the same state once it converged; a node without members says 0.
      sum.stateKeys = Math.max(sum.stateKeys, count.stateKeys);
    }
  }
  const live = [...rooms].filter(([, details]) => details.components > 0);
  return { rooms: live.length, components, roomDetails: Object.fromEntries(live) };
}

/**
 * Live rooms: which components are in which room, each room's shared state, and emitting events
 * to a room's members (through the `RoomEventBus`, so over the server's Bus). Live rooms are their
 * own namespace, independent of the sockets' rooms (`room:join`).
 *
 * On a cluster, a room spans its nodes: a node holds a copy of the room while it has member
 * components there (it then hears the room's membership and state changes on the Bus), takes the
 * other nodes' parts when it starts holding it, and lets its copy go when its last member there
 * leaves. The room, and its state, go with the last member on any node. State is last writer
 * wins per top-level key, by the writing node's hybrid logical clock (then node id).
 */
export class LiveRoomManager implements LiveBusReceiver {
  /** The rooms this node holds: those with member components on this node. */
  private readonly rooms = new Map<string, LiveRoom>();
  /** This node's member components → their rooms. */
  private readonly componentRooms = new Map<string, Set<string>>();
  private membershipListener: ((componentId: string) => void) | null = null;
  private readonly clock: HybridLogicalClock;
  private readonly nodeId: string;

  /** Without a `cluster`, a node alone: nothing to tell or ask. */
  constructor(
    readonly events: RoomEventBus,
    private readonly cluster: LiveRoomCluster | null = null,
  ) {
    this.clock = cluster?.clock ?? new HybridLogicalClock();
    this.nodeId = cluster?.bus.nodeId ?? 'local';
    if (cluster) {
      cluster.rooms.onLive(this);
      cluster.rooms.answerQueries('live-room', (roomId) => this.partOf(roomId));
      cluster.rooms.answerQueries('live-stats', () => this.counts());
    }
  }

  /** Told whenever a component's rooms change (the server sends `live:rooms`). Internal. */
  onMembershipChange(listener: (componentId: string) => void): void {
    this.membershipListener = listener;
  }

  /**
   * Adds the component to the room as a member on this node, creating the room (with
   * `initialState`) if no node has it, and sends the room's state to `ws`. Returns false if it was
   * already a member. Throws a `TypeError` for an invalid room id.
   */
  joinRoom(
    componentId: string,
    roomId: string,
    ws?: LiveConnection,
    initialState?: Record<string, unknown>,
  ): boolean {
    if (typeof componentId !== 'string' || componentId === '') {
      throw new TypeError('LiveRoomManager.joinRoom: componentId must be a non-empty string');
    }
    if (!isValidRoomId(roomId)) {
      throw new TypeError(`LiveRoomManager.joinRoom: "${roomId}" is not a valid room id`);
    }
    if (initialState !== undefined && !isRecord(initialState)) {
      throw new TypeError('LiveRoomManager.joinRoom: initialState must be an object');
    }
    const held = this.rooms.get(roomId);
    if (held?.members.has(componentId)) {
      if (ws && !held.members.get(componentId)) held.members.set(componentId, ws);
      return false;
    }
    const room = held ?? this.open(roomId, initialState);
    room.members.set(componentId, ws ?? null);
    let mine = this.componentRooms.get(componentId);
    if (!mine) {
      mine = new Set();
      this.componentRooms.set(componentId, mine);
    }
    mine.add(roomId);
    this.publish({ kind: 'live-member-joined', room: roomId, componentId, nodeId: this.nodeId });
    if (room.ready) ws?.send(stateFrame(componentId, roomId, room));
    this.membershipListener?.(componentId);
    return true;
  }

  /**
   * Takes a member component of this node out of the room and drops its handlers there. False if
   * it was not a member here.
   */
  leaveRoom(componentId: string, roomId: string): boolean {
    const room = this.rooms.get(roomId);
    if (!room?.members.delete(componentId)) return false;
    this.publish({ kind: 'live-member-left', room: roomId, componentId });
    if (room.members.size === 0) this.release(roomId);
    const mine = this.componentRooms.get(componentId);
    mine?.delete(roomId);
    if (mine?.size === 0) this.componentRooms.delete(componentId);
    this.events.unsubscribeRoom(componentId, LIVE_ROOM_EVENTS, roomId);
    this.membershipListener?.(componentId);
    return true;
  }

  /**
   * Emits `event` to the room's member components, except `excludeComponentId` (through the Bus,
   * so on every node). Returns how many member components, on every node, it was sent to. Throws
   * a `TypeError` if `data` cannot be JSON-encoded.
   */
  emitToRoom(roomId: string, event: string, data: unknown, excludeComponentId?: string): number {
    this.events.emit(LIVE_ROOM_EVENTS, roomId, event, data, excludeComponentId);
    return this.memberCount(roomId, excludeComponentId);
  }

  /**
   * Merges `updates` into the room's state and sends the whole state (`live:room-state`) to every
   * member, on every node, but `excludeComponentId`. Returns false (and does nothing) if the room
   * exists on no node.
   */
  setRoomState(
    roomId: string,
    updates: Record<string, unknown>,
    excludeComponentId?: string,
  ): boolean {
    if (!isRecord(updates)) {
      throw new TypeError('LiveRoomManager.setRoomState: updates must be an object');
    }
    // Checked before it is stored: one value that cannot be encoded would break every later
    // `live:room-state` of the room for every member.
    assertEncodable(updates, 'setRoomState');
    const room = this.rooms.get(roomId);
    if (!room && !this.heldElsewhere(roomId)) return false;
    const changes = stamp(updates, this.clock.now(), this.nodeId);
    if (room?.state.merge(changes)) this.sendState(roomId, room, excludeComponentId);
    const event: LiveRoomEvent = { kind: 'live-state-set', room: roomId, changes };
    if (excludeComponentId !== undefined) event.exclude = excludeComponentId;
    this.publish(event);
    return true;
  }

  /** A copy of the room's state (`{}` for a room that exists on no node). */
  getRoomState(roomId: string): Record<string, unknown> {
    const room = this.rooms.get(roomId);
    if (room) return { ...room.state.values };
    const state = new LiveRoomState();
    for (const part of this.parts(roomId, 'getRoomState')) state.merge(part.state);
    return { ...state.values };
  }

  /** Whether the component is a member of the room, on any node. */
  isInRoom(componentId: string, roomId: string): boolean {
    const room = this.rooms.get(roomId);
    if (room) return room.members.has(componentId) || room.remote.has(componentId);
    return this.parts(roomId, 'isInRoom').some((part) => part.members.includes(componentId));
  }

  /** The rooms a member component of this node is in. */
  getComponentRooms(componentId: string): string[] {
    return [...(this.componentRooms.get(componentId) ?? [])];
  }

  /** Member component ids of the room, on every node: this node's first. */
  getRoomMembers(roomId: string): string[] {
    const room = this.rooms.get(roomId);
    if (room) return [...room.members.keys(), ...room.remote.keys()];
    return this.parts(roomId, 'getRoomMembers').flatMap((part) => part.members);
  }

  /**
   * Takes a component of this node out of every room and drops all its handlers. Returns the
   * rooms it left.
   */
  cleanupComponent(componentId: string): number {
    const rooms = this.getComponentRooms(componentId);
    for (const roomId of rooms) this.leaveRoom(componentId, roomId);
    this.events.unsubscribeAll(componentId);
    return rooms.length;
  }

  /** The live rooms of the whole cluster, counted (every node's members and handlers). */
  getStats(): LiveRoomStats {
    const others = atOnce(this.ask('live-stats', LIVE_STATS_KEY), 'getStats');
    return combine([this.counts(), ...others]);
  }

  /** The room's members on every node, `exclude` not counted: without a list for a held room. */
  private memberCount(roomId: string, exclude: string | undefined): number {
    const room = this.rooms.get(roomId);
    if (!room) {
      const members = this.parts(roomId, 'emitToRoom').flatMap((part) => part.members);
      return members.filter((componentId) => componentId !== exclude).length;
    }
    const excluded =
      exclude !== undefined && (room.members.has(exclude) || room.remote.has(exclude));
    return room.members.size + room.remote.size - (excluded ? 1 : 0);
  }

  // ---- the bus side (internal) ----

  /** A live-component message from another node. */
  receive(message: LiveBusMessage): void {
    if (message.kind === 'live-event') {
      this.events.deliver(message);
      return;
    }
    const room = this.rooms.get(message.room);
    switch (message.kind) {
      case 'live-member-joined':
        room?.remote.set(message.componentId, message.nodeId);
        break;
      case 'live-member-left':
        room?.remote.delete(message.componentId);
        break;
      case 'live-state-set':
        // Observed even without the room: this node's later writes order after what it has seen.
        this.observe(message.changes);
        if (room?.state.merge(message.changes)) this.sendState(message.room, room, message.exclude);
        break;
    }
  }

  /** Another node is gone: so are its member components, from every room this node holds. */
  nodeDown(nodeId: string): void {
    for (const room of this.rooms.values()) {
      for (const [componentId, node] of [...room.remote]) {
        if (node === nodeId) room.remote.delete(componentId);
      }
    }
  }

  // ---- holding rooms ----

  /**
   * Starts holding the room on this node: hears its changes and takes the other nodes' parts, or
   * seeds it with `initialState` if no node holds it.
   */
  private open(roomId: string, initialState: Record<string, unknown> | undefined): LiveRoom {
    const room: LiveRoom = {
      members: new Map(),
      remote: new Map(),
      state: new LiveRoomState(),
      ready: false,
    };
    this.rooms.set(roomId, room);
    // Stamped at the join: a write made while the other nodes answer is later and wins over it.
    const seed = stamp(initialState ?? {}, this.clock.now(), this.nodeId);
    const opened = andThen(this.subscribe(roomId), () =>
      andThen(this.ask('live-room', roomId), (parts) => this.adopt(roomId, room, parts, seed)),
    );
    if (opened instanceof Promise) {
      opened.catch((error: unknown) => {
        this.cluster?.logger.error({ err: error, room: roomId }, 'live room not taken from nodes');
        this.adopt(roomId, room, [], {});
      });
    }
    return room;
  }

  /** Takes the other nodes' parts of the room, or the seed if none has it; then sends the state. */
  private adopt(
    roomId: string,
    room: LiveRoom,
    parts: readonly LiveRoomPart[],
    seed: Record<string, LiveStateEntry>,
  ): void {
    // Its members here may all have left while the other nodes answered.
    if (this.rooms.get(roomId) !== room || room.ready) return;
    for (const part of parts) {
      for (const componentId of part.members) room.remote.set(componentId, part.nodeId);
      this.observe(part.state);
      room.state.merge(part.state);
    }
    // Published too: a node creating the same room at the same moment converges on one seed.
    if (parts.length === 0 && room.state.merge(seed)) {
      this.publish({ kind: 'live-state-set', room: roomId, changes: seed });
    }
    room.ready = true;
    this.sendState(roomId, room);
  }

  /** This node's last member of the room left: the room lives on where members remain. */
  private release(roomId: string): void {
    this.rooms.delete(roomId);
    const done = this.cluster?.bus.unsubscribe(liveRoomTopic(roomId));
    if (done instanceof Promise) done.catch((error: unknown) => this.logFailure(error, roomId));
  }

  /** Sends the room's whole state to this node's members with a client (but `exclude`). */
  private sendState(roomId: string, room: LiveRoom, exclude?: string): void {
    if (!room.ready) return;
    for (const [componentId, ws] of room.members) {
      if (componentId !== exclude) ws?.send(stateFrame(componentId, roomId, room));
    }
  }

  /** This node's part of a room, for a node that starts holding it; null if it holds none. */
  private partOf(roomId: string): LiveRoomPart | null {
    const room = this.rooms.get(roomId);
    if (!room) return null;
    return { nodeId: this.nodeId, members: [...room.members.keys()], state: room.state.snapshot() };
  }

  /** This node's live rooms, counted: those it has members in, and those it has handlers for. */
  private counts(): LiveRoomCounts {
    const rooms = new Map<string, { components: number; events: number; stateKeys: number }>();
    for (const roomId of this.events.roomsWithHandlers(LIVE_ROOM_EVENTS)) {
      rooms.set(roomId, { components: 0, events: 0, stateKeys: 0 });
    }
    for (const [roomId, room] of this.rooms) {
      rooms.set(roomId, { components: room.members.size, events: 0, stateKeys: room.state.size });
    }
    for (const [roomId, count] of rooms) {
      count.events = this.events.handlerCount(LIVE_ROOM_EVENTS, roomId);
    }
    return { components: this.componentRooms.size, rooms: Object.fromEntries(rooms) };
  }

  /**
   * Whether other nodes hold a room this node does not. Their state's stamps are observed, so a
   * write from here orders after the state they have, as a member's would.
   */
  private heldElsewhere(roomId: string): boolean {
    const parts = this.parts(roomId, 'setRoomState');
    for (const part of parts) this.observe(part.state);
    return parts.length > 0;
  }

  /** The other nodes' parts of a room this node does not hold. */
  private parts(roomId: string, what: string): LiveRoomPart[] {
    return atOnce(this.ask('live-room', roomId), what);
  }

  private ask<K extends BusQueryKind>(kind: K, key: string): MaybePromise<BusQueries[K][]> {
    return this.cluster ? this.cluster.rooms.query(kind, key) : [];
  }

  private subscribe(roomId: string): MaybePromise<void> {
    return this.cluster?.bus.subscribe(liveRoomTopic(roomId));
  }

  private publish(event: LiveRoomEvent): void {
    this.cluster?.bus.publish(event).catch((error: unknown) => this.logFailure(error, event.room));
  }

  private observe(changes: Readonly<Record<string, LiveStateEntry>>): void {
    for (const entry of Object.values(changes)) this.clock.observe(entry.timestamp);
  }

  private logFailure(error: unknown, roomId: string): void {
    this.cluster?.logger.error({ err: error, room: roomId }, 'live room change not sent to nodes');
  }
}

function stateFrame(componentId: string, roomId: string, room: LiveRoom): object {
  return { type: 'live:room-state', componentId, room: roomId, state: room.state.values };
}
