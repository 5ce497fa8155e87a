/**
 * Live components (docs/client.md, "Live components"): a component instance per client on the
 * server, mounted by name. The client sees its state (`$state`, kept in sync by the server's
 * deltas), its live rooms (`$rooms`, `$roomState(id)`) and calls its actions as async methods.
 * Only the component's name travels: the client never loads server code.
 */
import { errorOf } from './replies.js';
import { batch, memo, type ReadonlySignal, signal } from './signals.js';
import { type RealtimeMessage, RoomkitError } from './types.js';
import { WebSocketClient as Connection, type WebSocketClientOptions } from './websocket-client.js';
import { isRecord, text } from './wire.js';

type Json = Record<string, unknown>;

/** A server component class as the client uses it: its name and, for types, its shape. */
export interface LiveComponentClass {
  readonly name: string;
  /** The name it is registered under, if not the class name (set it if your bundler renames classes). */
  readonly componentName?: string;
  readonly defaultState?: object;
}

/** The instance type of a component class (or `C` itself, for an interface of actions). */
type InstanceOf<C> = C extends { prototype: infer I } ? I : C;

/** The state of a component: `C['state']` of its class (typed through a type-only import). */
export type LiveStateOf<C> = InstanceOf<C> extends { state: infer S } ? S : Json;

/** Members of the server's `LiveComponent` base class, never actions. */
type BaseMember =
  | 'state'
  | 'setState'
  | 'id'
  | 'userId'
  | '$room'
  | '$rooms'
  | 'onMount'
  | 'onUnmount';

type ActionArgs<A> = A extends []
  ? []
  : A extends [infer P]
    ? [payload: P]
    : A extends [(infer P)?]
      ? [payload?: P]
      : A extends [infer P, ...unknown[]]
        ? [payload: P]
        : [payload?: unknown];

/** The component's actions as the client calls them: its own public async methods. */
export type LiveActions<C> = {
  readonly [K in keyof InstanceOf<C> as K extends BaseMember | `_${string}`
    ? never
    : K extends string
      ? InstanceOf<C>[K] extends (...args: never[]) => PromiseLike<unknown>
        ? K
        : never
      : never]: InstanceOf<C>[K] extends (...args: infer A) => PromiseLike<infer R>
    ? (...args: ActionArgs<A>) => Promise<R>
    : never;
};

export interface LiveOptions<S = Json> {
  /** Sent with the mount; the server merges it over the class's `defaultState`. */
  initialState?: Partial<S>;
  /** The component's default room (its `options.room` on the server), joined at mount. */
  room?: string;
  /** How long a call made while the component is not mounted waits for the mount (ms, default 10 000). */
  mountTimeout?: number;
}

/** What the client knows of one mounted component, and its actions (see `LiveHandle`). */
export interface LiveHandleBase<S> {
  /** The registered name. */
  readonly component: string;
  /** The component's state now (a new object after every change; tracked inside `effect`). */
  readonly $state: S;
  /** The live rooms the component is in now. */
  readonly $rooms: readonly string[];
  /** A live room's shared state, once the component is in that room. */
  $roomState<R = Json>(roomId: string): R | undefined;
  /** `$state` as a signal, to subscribe to. */
  readonly state: ReadonlySignal<S>;
  readonly rooms: ReadonlySignal<readonly string[]>;
  /** Every joined room's state, by room id. */
  readonly roomStates: ReadonlySignal<Readonly<Record<string, Json>>>;
  /** The server's id for the instance, while mounted. */
  readonly componentId: ReadonlySignal<string | null>;
  readonly mounted: ReadonlySignal<boolean>;
  /** Why the last mount failed, or why the server unmounted the component; null once mounted. */
  readonly error: ReadonlySignal<RoomkitError | null>;
  /** Calls an action by name (for names the handle's own members hide). */
  call<R = unknown>(action: string, payload?: unknown): Promise<R>;
  /** Unmounts the component and stops updating. Calls still waiting for a mount reject. */
  dispose(): void;
}

/** A mounted component: `$state`, `$rooms`, ... and each action of `C` as an async method. */
export type LiveHandle<C = unknown> = LiveHandleBase<LiveStateOf<C>> &
  Omit<LiveActions<C>, keyof LiveHandleBase<unknown>>;

export interface LiveClient {
  /**
   * Mounts `component` (a class, for its name and types, or the registered name) on the server,
   * once connected, and again after every reconnect.
   */
  use<C extends LiveComponentClass>(
    component: C,
    options?: LiveOptions<LiveStateOf<C>>,
  ): LiveHandle<C>;
  use<C = unknown>(component: string, options?: LiveOptions<LiveStateOf<C>>): LiveHandle<C>;
}

/** The registered name `component` stands for. */
export function liveComponentName(component: LiveComponentClass | string): string {
  return typeof component === 'string' ? component : (component.componentName ?? component.name);
}

/**
 * `target` with every other string property read as an action of the component: a stable
 * function calling `call(name, payload)`. Names a component cannot have as actions (`then`,
 * `_...`, `$...`) read as undefined, so a handle is not mistaken for a promise.
 */
export function withLiveActions<T extends object>(
  target: T,
  call: (action: string, payload?: unknown) => Promise<unknown>,
): T {
  const actions = new Map<string, (payload?: unknown) => Promise<unknown>>();
  return new Proxy(target, {
    get(object, key) {
      if (
        typeof key !== 'string' ||
        key in object ||
        /^([_$@]|then$|toJSON$|asymmetricMatch$)/.test(key)
      )
        return Reflect.get(object, key);
      let action = actions.get(key);
      if (!action) {
        action = (payload) => call(key, payload);
        actions.set(key, action);
      }
      return action;
    },
  });
}

const fail = (code: string, message = code) => new RoomkitError(code, message);
/** The error a reply (or its absence: the connection is gone) stands for. */
const failure = (reply: RealtimeMessage | null) => (reply ? errorOf(reply) : fail('disconnected'));

/** A mounted handle as its client drives it: `true`/`false` when a session starts/ends, or a message. */
type Internal = (event: boolean | RealtimeMessage) => void;

const clients = new WeakMap<Connection, LiveClient>();

/** The live components of `client` (the same object as `client.live`). */
export function live(client: Connection): LiveClient {
  let found = clients.get(client);
  if (!found) {
    found = createLiveClient(client);
    clients.set(client, found);
  }
  return found;
}

/**
 * The package's `WebSocketClient`: the connection (websocket-client.ts) with `live`. A getter on
 * the class itself, not patched onto the prototype by this module, so a bundler that drops
 * unused modules (the package has no side effects) can never drop it.
 */
export class WebSocketClient extends Connection {
  /** Live components on this connection: `client.live.use(Component, { initialState })`. */
  get live(): LiveClient {
    return live(this);
  }
}

function createLiveClient(client: Connection): LiveClient {
  const handles = new Set<Internal>();
  /**
   * Sends `message`; `settle` gets the reply, the refusal as an `error` message, or null if the
   * connection is gone. Synchronously, as the reply arrives: the frames that follow it (the
   * component's room states, the next patches) may come in the same network read.
   */
  const send = (message: RealtimeMessage, settle: (reply: RealtimeMessage | null) => void) =>
    client.requestNow(message, (reply) => {
      if (reply.ok) settle(reply.message);
      else if (reply.error.code === 'disconnected') settle(null);
      else settle({ type: 'error', code: reply.error.code, message: reply.error.message });
    });

  /** Numbers mount attempts, so a superseded attempt's reply is ignored. */
  let mounts = 0;

  const receive = (_: unknown, message: RealtimeMessage) => {
    for (const handle of handles) handle(message);
  };
  for (const type of ['state', 'rooms', 'room-state', 'unmounted'])
    client.on(`live:${type}`, receive);
  // The server's components die with the connection (the answers they owed fail with it).
  client.session.subscribe((session) => {
    for (const handle of [...handles]) handle(session !== null);
  });

  function use(component: LiveComponentClass | string, options: LiveOptions<Json> = {}) {
    const name = liveComponentName(component);
    const { initialState, room, mountTimeout = 10_000 } = options;
    const state = signal<Json>({
      ...(component as LiveComponentClass).defaultState,
      ...initialState,
    });
    const rooms = signal<readonly string[]>([]);
    const roomStates = signal<Readonly<Record<string, Json>>>({});
    const id = signal<string | null>(null);
    const error = signal<RoomkitError | null>(null);
    /** Calls waiting for a mount. */
    const waiting = new Set<(reason: RoomkitError | null) => void>();
    // 0 new, 1 live, 2 unmounted by the server, 3 disposed.
    let phase = 0;
    /** The mount in flight (its number), or 0. */
    let mounting = 0;
    let resumed = false;

    const release = (reason: RoomkitError | null) => {
      for (const settle of [...waiting]) settle(reason);
    };

    const internal: Internal = (event) => {
      if (event === false) {
        // The server's instance is gone, and it was in no room any more; the state stays shown.
        mounting = 0;
        batch(() => {
          id.set(null);
          rooms.set([]);
        });
      } else if (event === true) {
        if (phase !== 1 || mounting || id.peek()) return;
        const attempt = ++mounts;
        mounting = attempt;
        // A re-mount (after a reconnect) resumes from the last state, if it fits in a frame.
        const message: RealtimeMessage = {
          type: 'live:mount',
          component: name,
          room,
          initialState: resumed ? state.peek() : initialState,
        };
        const bytes = new TextEncoder().encode(JSON.stringify(message)).length;
        if (bytes > client.session.peek()!.maxMessageBytes - 100)
          message.initialState = initialState;
        send(message, (reply) => {
          if (reply?.type === 'live:mounted') {
            const cid = text(reply.componentId);
            if (phase > 2) client.sendMessage({ type: 'live:unmount', componentId: cid });
            else if (attempt === mounting) {
              mounting = 0;
              resumed = true;
              batch(() => {
                if (isRecord(reply.state)) state.set(reply.state);
                rooms.set(strings(reply.rooms));
                error.set(null);
                id.set(cid);
              });
              release(null);
            }
          } else if (reply && attempt === mounting) {
            // Refused (null: the connection is gone, and the next session mounts again).
            mounting = 0;
            if (message.initialState !== initialState) {
              // The synced state was refused coming back (a key or depth the server does not
              // accept from clients): mount once more from the original initialState.
              resumed = false;
              internal(true);
              return;
            }
            error.set(failure(reply));
            release(error.peek());
          }
        });
      } else if (event.componentId === id.peek()) {
        switch (event.type) {
          case 'live:state':
            if (isRecord(event.patch)) state.set({ ...state.peek(), ...event.patch });
            break;
          case 'live:rooms':
            rooms.set(strings(event.rooms));
            break;
          case 'live:room-state':
            if (isRecord(event.state))
              roomStates.set({ ...roomStates.peek(), [text(event.room)]: event.state });
            break;
          case 'live:unmounted':
            phase = 2;
            handles.delete(internal);
            internal(false);
            error.set(fail('unmounted', text(event.reason)));
            release(error.peek());
        }
      }
    };

    const call = async (action: string, payload?: unknown): Promise<unknown> => {
      if (phase > 2) throw fail('disposed');
      if (!id.peek()) {
        if (error.peek() && !mounting) throw error.peek();
        // Not mounted yet (or re-mounting after a reconnect): wait for it, for a while.
        await new Promise<void>((resolve, reject) => {
          const settle = (reason: RoomkitError | null) => {
            clearTimeout(timer);
            waiting.delete(settle);
            if (reason) reject(reason);
            else resolve();
          };
          const timer = setTimeout(
            settle,
            mountTimeout,
            fail('disconnected', `${name}: not mounted`),
          );
          waiting.add(settle);
        });
      }
      return new Promise((resolve, reject) =>
        send({ type: 'live:call', componentId: id.peek(), action, payload }, (reply) => {
          if (reply?.type === 'live:result') resolve(reply.result);
          else reject(failure(reply));
        }),
      );
    };

    const handle: LiveHandleBase<Json> = {
      component: name,
      get $state() {
        return state();
      },
      get $rooms() {
        return rooms();
      },
      // A room left keeps its last state in `roomStates`, but is not shown.
      $roomState: <R>(roomId: string) =>
        (rooms().includes(roomId) ? roomStates()[roomId] : undefined) as R | undefined,
      state,
      rooms,
      roomStates,
      componentId: id,
      mounted: memo(() => id() !== null),
      error,
      call: call as LiveHandleBase<Json>['call'],
      dispose() {
        if (phase > 2) return;
        const cid = id.peek();
        if (cid) client.sendMessage({ type: 'live:unmount', componentId: cid });
        phase = 3;
        handles.delete(internal);
        internal(false);
        release(fail('disposed'));
      },
    };

    // The mount goes out on the next microtask: a handle disposed in the same tick (a component
    // mounted twice by React StrictMode) never reaches the server.
    queueMicrotask(() => {
      if (phase) return;
      phase = 1;
      handles.add(internal);
      internal(client.session.peek() !== null);
    });
    return withLiveActions(handle, call);
  }

  return { use } as LiveClient;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item) => typeof item === 'string') : [];
}

/** Where `Live.use` finds its client: `Live.client`, set directly or by `Live.connect`. */
export interface LiveEntry extends LiveClient {
  client: WebSocketClient | null;
  /** Makes `client` (or a new client with these options) the default and connects it. */
  connect(client: WebSocketClient | WebSocketClientOptions): WebSocketClient;
}

/**
 * `Live.use(Component, { initialState })` on a default client:
 * `Live.connect({ url })` once, then `Live.use(...)` anywhere.
 */
export const Live: LiveEntry = {
  client: null,
  connect(target) {
    const client = target instanceof WebSocketClient ? target : new WebSocketClient(target);
    Live.client = client;
    client.connect();
    return client;
  },
  use(component: LiveComponentClass | string, options?: LiveOptions<Json>) {
    if (!Live.client) throw new Error('Live.use: call Live.connect(client) first');
    return live(Live.client).use(component as string, options);
  },
};
