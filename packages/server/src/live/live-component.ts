import { isRecord, isValidRoomId } from '@roomkit/protocol';
import type { LiveRoomManager } from './live-room-manager.js';
import { LIVE_ROOM_EVENTS } from './room-event-bus.js';

/**
 * A component's line to its client: the socket's connection id, the user, and `send`. The server
 * gives each mounted component its own (frames sent before the client knows the component wait
 * for its `live:mounted`; after unmount they are dropped).
 */
export interface LiveConnection {
  /** The socket's connection id (the same for every component of that socket). */
  readonly id: string;
  readonly userId: string;
  /** Sends a server message (an object, JSON-encoded here) to this component's client. */
  send(message: object): void;
}

export interface LiveComponentOptions {
  /** The default room: `this.$room.emit(...)` and friends act on it. Joined at mount. */
  room?: string;
  /** The connection's user (set by the server from the socket's identity, never by the client). */
  userId?: string;
}

export type LiveRoomEventHandler<T = unknown> = (data: T) => void;

/** One live room as a component sees it (`this.$room(id)`). */
export interface LiveRoomHandle {
  readonly id: string;
  /** Joins the room (`initialState` seeds the room's state if this join creates it). */
  join(initialState?: Record<string, unknown>): void;
  leave(): void;
  /** Sends an event to every other member component of the room; returns how many were notified. */
  emit(event: string, data?: unknown): number;
  /** Runs `handler` for the room's events from other components; returns an unsubscribe function. */
  on<T = unknown>(event: string, handler: LiveRoomEventHandler<T>): () => void;
  /** The room's shared state (a copy). */
  readonly state: Record<string, unknown>;
  /** Merges `updates` into the room's state and sends it to every member, this one included. */
  setState(updates: Record<string, unknown>): void;
}

/** `this.$room`: `$room(id)` for any room, and the default room's handle on the function itself. */
export interface LiveRoomAccessor extends LiveRoomHandle {
  (roomId: string): LiveRoomHandle;
}

/** What a component mounted by a `RoomServer` gets from it. Internal. */
export interface LiveRuntime {
  readonly rooms: LiveRoomManager;
  /** Live rooms one component may be in at once. */
  readonly maxRoomsPerComponent: number;
  /** Flushes the component's pending frames at the end of this event-loop turn. */
  schedule(core: ComponentCore): void;
  /** Told about every component constructed on one of the server's connections. */
  created(connection: LiveConnection, core: ComponentCore): void;
}

const runtimes = new WeakMap<LiveConnection, LiveRuntime>();
const cores = new WeakMap<object, ComponentCore>();

/** Marks a connection as the server's, so components constructed on it find the server. Internal. */
export function bindRuntime(connection: LiveConnection, runtime: LiveRuntime): void {
  runtimes.set(connection, runtime);
}

/** The server-side bookkeeping of a component. Internal. */
export function coreOf(component: LiveComponent): ComponentCore {
  const core = cores.get(component);
  if (!core) throw new TypeError('not a LiveComponent');
  return core;
}

/**
 * Per-component bookkeeping kept off the instance (so none of it is callable or collides with a
 * subclass's fields): the state patch and rooms change waiting for the end of the turn.
 */
export class ComponentCore {
  private patch: Record<string, unknown> | null = null;
  private roomsDirty = false;
  private queued = false;
  /** True once the client has `live:mounted`: only then do changes go out as frames. */
  private live = false;
  unmounted = false;

  constructor(
    readonly id: string,
    readonly connection: LiveConnection,
    readonly runtime: LiveRuntime | null,
    readonly defaultRoom: string | undefined,
  ) {}

  statePatched(partial: Record<string, unknown>): void {
    this.patch = this.patch === null ? { ...partial } : { ...this.patch, ...partial };
    this.schedule();
  }

  roomsChanged(): void {
    this.roomsDirty = true;
    this.schedule();
  }

  /** The client now has the full state and rooms (`live:mounted`): later changes go out as deltas. */
  start(): void {
    this.patch = null;
    this.roomsDirty = false;
    this.live = true;
  }

  /** Sends what changed since the last flush: `live:state`, then `live:rooms`. */
  flush(): void {
    this.queued = false;
    if (!this.live || this.unmounted) return;
    const patch = this.patch;
    this.patch = null;
    if (patch !== null) this.connection.send({ type: 'live:state', componentId: this.id, patch });
    if (this.roomsDirty && this.runtime) {
      this.roomsDirty = false;
      const rooms = this.runtime.rooms.getComponentRooms(this.id);
      this.connection.send({ type: 'live:rooms', componentId: this.id, rooms });
    }
  }

  private schedule(): void {
    if (this.queued || !this.live || this.unmounted || !this.runtime) return;
    this.queued = true;
    this.runtime.schedule(this);
  }
}

/**
 * A server-side component, one per client that mounts it. Its `state` syncs to that client: each
 * `setState` sends only the keys it was given, merged over the event-loop turn. Its public `async`
 * methods are the actions the client may call. It talks to other clients' components through live
 * rooms (`this.$room`). A subclass may declare `static defaultState` (the state it starts from;
 * the client's `initialState` is merged over it) and `static actions` (exactly the callable
 * methods, instead of every public async method). See docs/live.md.
 */
export class LiveComponent<State extends Record<string, unknown> = Record<string, unknown>> {
  /** The component's state: change it with `setState`, never in place. */
  state: State;
  /** This component's id (`componentId` on the wire). */
  readonly id: string;
  /** The user of the connection that mounted it. */
  readonly userId: string;
  /** `this.$room(id)` for any live room; `this.$room.emit(...)` etc. for the default room. */
  readonly $room: LiveRoomAccessor;
  protected readonly connection: LiveConnection;

  constructor(
    initialState: Partial<State>,
    connection: LiveConnection,
    options: LiveComponentOptions = {},
  ) {
    // `static defaultState` and `static actions` are read off the subclass, not declared here, so a
    // subclass declares them without `override`.
    const defaults = (new.target as { defaultState?: Record<string, unknown> }).defaultState;
    this.state = { ...defaults, ...initialState } as State;
    this.id = globalThis.crypto.randomUUID();
    this.connection = connection;
    this.userId = options.userId ?? connection.userId;
    const runtime = runtimes.get(connection) ?? null;
    const core = new ComponentCore(this.id, connection, runtime, options.room);
    cores.set(this, core);
    this.$room = createRoomAccessor(this.id, core);
    runtime?.created(connection, core);
  }

  /** The live rooms this component is in. */
  get $rooms(): string[] {
    return coreOf(this).runtime?.rooms.getComponentRooms(this.id) ?? [];
  }

  /**
   * Merges `partial` into the state and sends those keys to this component's client (one
   * `live:state` per event-loop turn, whatever the number of calls).
   */
  setState(partial: Partial<State>): void {
    if (!isRecord(partial)) throw new TypeError('setState: expected an object of changes');
    assertEncodable(partial, 'setState');
    this.state = { ...this.state, ...partial };
    coreOf(this).statePatched(partial);
  }

  /** After the component is constructed and has joined its default room; may be async. */
  onMount(): void | Promise<void> {
    // Nothing by default.
  }

  /** Before it leaves its rooms at unmount (client request, disconnect or server); may be async. */
  onUnmount(): void | Promise<void> {
    // Nothing by default.
  }
}

function mountedRuntime(core: ComponentCore, what: string): LiveRuntime {
  if (!core.runtime) {
    throw new Error(`${what}: this component was not mounted by a RoomServer`);
  }
  if (core.unmounted) throw new Error(`${what}: the component is unmounted`);
  return core.runtime;
}

function roomHandle(componentId: string, core: ComponentCore, roomId: string): LiveRoomHandle {
  if (!isValidRoomId(roomId)) {
    throw new TypeError(`$room: ${JSON.stringify(roomId)} is not a valid room id`);
  }
  return {
    id: roomId,
    join(initialState) {
      const runtime = mountedRuntime(core, `$room("${roomId}").join`);
      const { rooms, maxRoomsPerComponent } = runtime;
      // This component's own rooms: no need to ask the other nodes of a cluster.
      const mine = rooms.getComponentRooms(componentId);
      if (mine.includes(roomId)) return;
      if (mine.length >= maxRoomsPerComponent) {
        throw new Error(`a component may be in at most ${maxRoomsPerComponent} live rooms`);
      }
      rooms.joinRoom(componentId, roomId, core.connection, initialState);
    },
    leave() {
      core.runtime?.rooms.leaveRoom(componentId, roomId);
    },
    emit(event, data) {
      const runtime = mountedRuntime(core, `$room("${roomId}").emit`);
      return runtime.rooms.emitToRoom(roomId, event, data, componentId);
    },
    on(event, handler) {
      const runtime = mountedRuntime(core, `$room("${roomId}").on`);
      return runtime.rooms.events.on(
        LIVE_ROOM_EVENTS,
        roomId,
        event,
        componentId,
        handler as LiveRoomEventHandler,
      );
    },
    get state() {
      return core.runtime?.rooms.getRoomState(roomId) ?? {};
    },
    setState(updates) {
      const runtime = mountedRuntime(core, `$room("${roomId}").setState`);
      if (!runtime.rooms.getComponentRooms(componentId).includes(roomId)) {
        throw new Error(`$room("${roomId}").setState: join the room first`);
      }
      runtime.rooms.setRoomState(roomId, updates);
    },
  };
}

/** `$room`: callable for any room, with the default room's handle spread onto the function. */
function createRoomAccessor(componentId: string, core: ComponentCore): LiveRoomAccessor {
  const accessor = ((roomId: string) => roomHandle(componentId, core, roomId)) as LiveRoomAccessor;
  const defaultRoom = (): LiveRoomHandle => {
    if (core.defaultRoom === undefined) {
      throw new Error(
        'this.$room has no default room: mount the component with a room, or use this.$room(id)',
      );
    }
    return roomHandle(componentId, core, core.defaultRoom);
  };
  Object.defineProperties(accessor, {
    id: { get: () => defaultRoom().id },
    join: { value: (initialState?: Record<string, unknown>) => defaultRoom().join(initialState) },
    leave: { value: () => defaultRoom().leave() },
    emit: { value: (event: string, data?: unknown) => defaultRoom().emit(event, data) },
    on: {
      value: (event: string, handler: LiveRoomEventHandler) => defaultRoom().on(event, handler),
    },
    state: { get: () => defaultRoom().state },
    setState: { value: (updates: Record<string, unknown>) => defaultRoom().setState(updates) },
  });
  return accessor;
}

/**
 * Throws a `TypeError` now unless `value` encodes as JSON (a BigInt, a cycle): the change is sent
 * later, in one frame with the turn's other changes, and a value that cannot be encoded there
 * would silently drop them all.
 */
export function assertEncodable(value: unknown, what: string): void {
  try {
    JSON.stringify(value);
  } catch (error) {
    throw new TypeError(`${what}: the value cannot be sent as JSON (${(error as Error).message})`);
  }
}
