import { isRecord, isValidRoomId } from '@roomkit/protocol';
import { assertEncodable, type LiveConnection } from './live-component.js';
import { LIVE_ROOM_EVENTS, type RoomEventBus } from './room-event-bus.js';

export interface LiveRoomDetails {
  /** Member components on this node. */
  components: number;
  /** Event handlers registered on the room (`roomEvents`, type `'room'`). */
  events: number;
  /** Top-level keys of the room's state. */
  stateKeys: number;
}

export interface LiveRoomStats {
  /** Live rooms with at least one member on this node. */
  rooms: number;
  /** Components in at least one live room on this node. */
  components: number;
  roomDetails: Record<string, LiveRoomDetails>;
}

interface LiveRoom {
  /** Member component id → its connection (null: a member without a client, e.g. server code). */
  readonly members: Map<string, LiveConnection | null>;
  state: Record<string, unknown>;
}

/**
 * Live rooms: which components are in which room, each room's shared state, and emitting events
 * to a room's members (through the `RoomEventBus`, so over the server's Bus). A room exists while
 * it has members; its state goes with its last member. Live rooms are their own namespace,
 * independent of the sockets' rooms (`room:join`). Membership and room state are per node.
 */
export class LiveRoomManager {
  private readonly rooms = new Map<string, LiveRoom>();
  private readonly componentRooms = new Map<string, Set<string>>();
  private membershipListener: ((componentId: string) => void) | null = null;

  constructor(readonly events: RoomEventBus) {}

  /** Told whenever a component's rooms change (the server sends `live:rooms`). Internal. */
  onMembershipChange(listener: (componentId: string) => void): void {
    this.membershipListener = listener;
  }

  /**
   * Adds the component to the room, creating the room (with `initialState`) if needed, and sends
   * the room's state to `ws`. Returns false if it was already a member. Throws a `TypeError` for an
   * invalid room id.
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
    let room = this.rooms.get(roomId);
    if (room?.members.has(componentId)) {
      if (ws && !room.members.get(componentId)) room.members.set(componentId, ws);
      return false;
    }
    if (!room) {
      room = { members: new Map(), state: { ...initialState } };
      this.rooms.set(roomId, room);
    }
    room.members.set(componentId, ws ?? null);
    let mine = this.componentRooms.get(componentId);
    if (!mine) {
      mine = new Set();
      this.componentRooms.set(componentId, mine);
    }
    mine.add(roomId);
    ws?.send({ type: 'live:room-state', componentId, room: roomId, state: room.state });
    this.membershipListener?.(componentId);
    return true;
  }

  /** Takes the component out of the room and drops its handlers there. False if not a member. */
  leaveRoom(componentId: string, roomId: string): boolean {
    const room = this.rooms.get(roomId);
    if (!room?.members.delete(componentId)) return false;
    if (room.members.size === 0) this.rooms.delete(roomId);
    const mine = this.componentRooms.get(componentId);
    mine?.delete(roomId);
    if (mine?.size === 0) this.componentRooms.delete(componentId);
    this.events.unsubscribeRoom(componentId, LIVE_ROOM_EVENTS, roomId);
    this.membershipListener?.(componentId);
    return true;
  }

  /**
   * Emits `event` to the room's member components, except `excludeComponentId` (through the Bus,
   * so on every node). Returns how many member components on this node were notified. Throws a
   * `TypeError` if `data` cannot be JSON-encoded.
   */
  emitToRoom(roomId: string, event: string, data: unknown, excludeComponentId?: string): number {
    this.events.emit(LIVE_ROOM_EVENTS, roomId, event, data, excludeComponentId);
    const members = this.rooms.get(roomId)?.members;
    if (!members) return 0;
    const excluded = excludeComponentId !== undefined && members.has(excludeComponentId);
    return members.size - (excluded ? 1 : 0);
  }

  /**
   * Merges `updates` into the room's state and sends the whole state (`live:room-state`) to every
   * member but `excludeComponentId`. Returns false (and does nothing) if the room does not exist.
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
    if (!room) return false;
    room.state = { ...room.state, ...updates };
    for (const [componentId, ws] of room.members) {
      if (componentId === excludeComponentId || !ws) continue;
      ws.send({ type: 'live:room-state', componentId, room: roomId, state: room.state });
    }
    return true;
  }

  /** A copy of the room's state (`{}` for a room that does not exist). */
  getRoomState(roomId: string): Record<string, unknown> {
    return { ...this.rooms.get(roomId)?.state };
  }

  isInRoom(componentId: string, roomId: string): boolean {
    return this.rooms.get(roomId)?.members.has(componentId) ?? false;
  }

  getComponentRooms(componentId: string): string[] {
    return [...(this.componentRooms.get(componentId) ?? [])];
  }

  /** Member component ids of the room on this node. */
  getRoomMembers(roomId: string): string[] {
    return [...(this.rooms.get(roomId)?.members.keys() ?? [])];
  }

  /** Takes the component out of every room and drops all its handlers. Returns the rooms it left. */
  cleanupComponent(componentId: string): number {
    const rooms = this.getComponentRooms(componentId);
    for (const roomId of rooms) this.leaveRoom(componentId, roomId);
    this.events.unsubscribeAll(componentId);
    return rooms.length;
  }

  getStats(): LiveRoomStats {
    const roomDetails: Record<string, LiveRoomDetails> = {};
    for (const [roomId, room] of this.rooms) {
      roomDetails[roomId] = {
        components: room.members.size,
        events: this.events.handlerCount(LIVE_ROOM_EVENTS, roomId),
        stateKeys: Object.keys(room.state).length,
      };
    }
    return { rooms: this.rooms.size, components: this.componentRooms.size, roomDetails };
  }
}
