/**
 * Live components from the client (`client.live.use`, `Live.use`) against a real server with
 * components registered: mount, state deltas, live rooms, actions and their errors, dispose,
 * re-mount after a reconnect, and the published LiveRoomChat example (a fixture) with two clients.
 */
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { LiveRoomChat } from '../../../examples/live-chat/LiveRoomChat.js';
import { LiveComponent, type LiveComponentClass, type RoomServer } from '../../server/src/index.js';
import {
  Live,
  type LiveHandle,
  live,
  type RealtimeMessage,
  RoomkitError,
  WebSocketClient,
} from '../src/index.js';
import {
  connectClient,
  dropConnections,
  eventually,
  record,
  startServer,
  stopServer,
  until,
} from './helpers.js';

// For the type checker the example's `LiveComponent` ('@roomkit/server', the built package) and the
// sources' are two declarations, hence the cast; in tests both are the sources (vitest.config.ts).
const ChatComponent = LiveRoomChat as unknown as LiveComponentClass;

const counts = { mounted: 0, unmounted: 0 };

class Counter extends LiveComponent<{ count: number; label: string }> {
  static defaultState = { count: 0, label: 'counter' };

  override onMount() {
    counts.mounted += 1;
  }

  override onUnmount() {
    counts.unmounted += 1;
  }

  async increment(payload: { by: number }) {
    this.setState({ count: this.state.count + payload.by });
    return this.state.count;
  }

  /** Three setState calls in one turn: one `live:state` frame with the merged keys. */
  async burst() {
    this.setState({ count: 1 });
    this.setState({ count: 2, label: 'two' });
    this.setState({ count: 3 });
  }

  async read() {
    return this.state;
  }

  async fail(payload: { message: string }) {
    throw new Error(payload.message);
  }

  async hang() {
    await new Promise(() => {});
  }

  async slow(payload: { ms: number }) {
    await new Promise((resolve) => setTimeout(resolve, payload.ms));
    return 'done';
  }

  async enter(payload: { room: string }) {
    this.$room(payload.room).join();
  }

  async exit(payload: { room: string }) {
    this.$room(payload.room).leave();
  }

  async setRoom(payload: { room: string; key: string; value: unknown }) {
    this.$room(payload.room).setState({ [payload.key]: payload.value });
  }

  /** Puts a key into the state that the server accepts from components but not from clients. */
  async keyed(payload: { key: string }) {
    this.setState({ [payload.key]: 1 } as never);
  }

  async grow(payload: { size: number }) {
    this.setState({ label: 'x'.repeat(payload.size) });
  }

  async defaultRoomState() {
    return this.$room.state;
  }

  /** Not an action: neither async nor public. */
  helper() {
    return 'no';
  }

  async _hidden() {
    return 'no';
  }
}

async function liveServer(extra: Parameters<typeof startServer>[0] = {}): Promise<RoomServer> {
  const server = await startServer({
    components: { Counter, LiveRoomChat: ChatComponent },
    ...extra,
  });
  server.registerComponent(Counter, {
    name: 'StrictCounter',
    actions: { increment: Type.Object({ by: Type.Integer() }) },
  });
  return server;
}

/** Frames of `type` the client receives from now on. */
function frames(client: WebSocketClient, type: string): RealtimeMessage[] {
  const seen: RealtimeMessage[] = [];
  client.on(type, (_payload, message) => seen.push(message));
  return seen;
}

const mounted = <C>(handle: LiveHandle<C>) => until(handle.mounted, Boolean, 5000, 'mounted');

async function rejection(promise: Promise<unknown>): Promise<RoomkitError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(RoomkitError);
  return error as RoomkitError;
}

describe('mount and state', () => {
  it('mounts with initialState over defaultState; $state shows the server state', async () => {
    const server = await liveServer();
    const client = connectClient(server, 'alice');
    const counter = client.live.use(Counter, { initialState: { count: 5 } });
    // Before the mount: the class's defaultState with initialState over it.
    expect(counter.$state).toEqual({ count: 5, label: 'counter' });
    expect(counter.mounted()).toBe(false);
    expect(counter.component).toBe('Counter');
    await mounted(counter);
    expect(counter.componentId()).toMatch(/^[0-9a-f-]{36}$/);
    expect(counter.$state).toEqual({ count: 5, label: 'counter' });
    expect(counter.$rooms).toEqual([]);
    expect(counter.error()).toBeNull();
    expect(await counter.read()).toEqual({ count: 5, label: 'counter' });
  });

  it('applies deltas: only the keys set, one frame per turn, a new object per change', async () => {
    const server = await liveServer();
    const client = connectClient(server, 'alice');
    const counter = client.live.use(Counter);
    await mounted(counter);
    const patches = frames(client, 'live:state');
    const states = record(counter.state);

    expect(await counter.increment({ by: 2 })).toBe(2);
    // The state the action set arrives before its result.
    expect(counter.$state).toEqual({ count: 2, label: 'counter' });
    expect(patches.map((m) => m.patch)).toEqual([{ count: 2 }]);

    await counter.burst();
    expect(patches.map((m) => m.patch)).toEqual([{ count: 2 }, { count: 3, label: 'two' }]);
    expect(counter.$state).toEqual({ count: 3, label: 'two' });
    states.stop();
    expect(states.values).toHaveLength(3);
    expect(new Set(states.values).size).toBe(3);
  });

  it('resolves action results (undefined as null) and is not a thenable', async () => {
    const server = await liveServer();
    const client = connectClient(server, 'alice');
    const counter = client.live.use(Counter);
    expect(await counter.burst()).toBeNull();
    expect(await counter.call('increment', { by: 1 })).toBe(4);
    expect(await counter.slow({ ms: 5 })).toBe('done');
    // Awaiting the handle (returning it from an async function) gives the handle back.
    expect(await Promise.resolve(counter)).toBe(counter);
    const loose = counter as unknown as Record<string, unknown>;
    expect(loose.then).toBeUndefined();
    expect(loose._hidden).toBeUndefined();
    expect(loose.increment).toBe(loose.increment);
  });

  it('mounts by name without the class, and through Live.use on a default client', async () => {
    const server = await liveServer();
    const client = connectClient(server, 'alice');
    const byName = client.live.use<typeof Counter>('Counter', { initialState: { count: 1 } });
    expect(byName.$state).toEqual({ count: 1 });
    expect(await byName.increment({ by: 1 })).toBe(2);

    Live.client = null;
    expect(() => Live.use(Counter)).toThrow(/Live.connect/);
    const other = new WebSocketClient({
      url: `ws://127.0.0.1:${server.port}/rooms`,
      params: { userId: 'bob' },
    });
    try {
      expect(Live.connect(other)).toBe(other);
      const chat = Live.use(LiveRoomChat, {
        initialState: { ...LiveRoomChat.defaultState, username: 'bob' },
      });
      await chat.joinRoom({ roomId: 'geral', roomName: 'Geral' });
      expect(chat.$state.activeRoom).toBe('geral');
      expect(chat.$rooms.includes('geral')).toBe(true);
      expect(other.live).toBe(live(Live.client!));
    } finally {
      other.disconnect();
      Live.client = null;
    }
  });

  it('a component class may name itself with static componentName', async () => {
    const server = await liveServer();
    const client = connectClient(server, 'alice');
    class Renamed extends Counter {
      static componentName = 'StrictCounter';
    }
    const counter = client.live.use(Renamed);
    expect(counter.component).toBe('StrictCounter');
    expect(await counter.increment({ by: 3 })).toBe(3);
  });
});

describe('types', () => {
  it('actions come from the class: its own public async methods, with their payloads', () => {
    const client = new WebSocketClient({ url: 'ws://127.0.0.1:9/rooms' });
    const counter = client.live.use(Counter);
    const chat = client.live.use(LiveRoomChat, { initialState: { username: 'ana' } });
    const typed = async () => {
      const count: number = await counter.increment({ by: 1 });
      const active: string | null = chat.$state.activeRoom;
      const { message } = await chat.sendMessage({ text: 'hi' });
      const text: string = message.text;
      await chat.startTyping();
      // @ts-expect-error a payload of the wrong shape
      await counter.increment({ by: 'one' });
      // @ts-expect-error not async: not an action
      await counter.helper();
      // @ts-expect-error LiveComponent's own members are not actions
      await counter.setState({ count: 1 });
      // @ts-expect-error names starting with _ are not actions
      await counter._hidden();
      // @ts-expect-error private helpers are not actions
      await chat.addMessageToState('geral', message);
      return [count, active, text];
    };
    expect(typeof typed).toBe('function');
    counter.dispose();
    chat.dispose();
  });
});

describe('live rooms', () => {
  it('$rooms, $roomState and room state reaching every member', async () => {
    const server = await liveServer();
    const alice = connectClient(server, 'alice').live.use(Counter);
    const bob = connectClient(server, 'bob').live.use(Counter);

    await alice.enter({ room: 'lobby' });
    await until(alice.rooms, (rooms) => rooms.includes('lobby'), 5000, 'alice in lobby');
    expect(alice.$roomState('lobby')).toEqual({});
    await alice.setRoom({ room: 'lobby', key: 'topic', value: 'hello' });
    await until(alice.roomStates, (s) => s.lobby?.topic === 'hello', 5000, 'alice sees topic');

    // Bob joins later and gets the whole room state at once; a change reaches both, the setter too.
    await bob.enter({ room: 'lobby' });
    await until(bob.roomStates, (s) => s.lobby?.topic === 'hello', 5000, 'bob sees topic');
    await bob.setRoom({ room: 'lobby', key: 'count', value: 2 });
    for (const handle of [alice, bob]) {
      await until(handle.roomStates, (s) => s.lobby?.count === 2, 5000, 'count');
      expect(handle.$roomState('lobby')).toEqual({ topic: 'hello', count: 2 });
    }

    await bob.exit({ room: 'lobby' });
    await until(bob.rooms, (rooms) => rooms.length === 0, 5000, 'bob left');
    expect(bob.$roomState('lobby')).toBeUndefined();
    expect(server.liveRooms.getStats().roomDetails.lobby?.components).toBe(1);
  });

  it('the room option is the default room, joined at mount with its state', async () => {
    const server = await liveServer();
    const client = connectClient(server, 'alice');
    const first = client.live.use(Counter, { room: 'home' });
    await mounted(first);
    expect(first.$rooms).toEqual(['home']);
    await first.setRoom({ room: 'home', key: 'lights', value: 'on' });
    const second = client.live.use(Counter, { room: 'home' });
    await until(second.roomStates, (s) => s.home?.lights === 'on', 5000, 'room state at mount');
    expect(await second.defaultRoomState()).toEqual({ lights: 'on' });
  });
});

describe('errors', () => {
  it('rejects with the server codes: unknown_action, invalid_payload, action_failed', async () => {
    const server = await liveServer();
    const client = connectClient(server, 'alice');
    const counter = client.live.use(Counter);
    const strict = client.live.use<typeof Counter>('StrictCounter');

    for (const action of ['nope', 'helper', '_hidden', 'setState', 'onMount', 'constructor']) {
      const error = await rejection(counter.call(action));
      expect([action, error.code]).toEqual([action, 'unknown_action']);
    }
    const invalid = await rejection(strict.increment({ by: 'two' as unknown as number }));
    expect(invalid.code).toBe('invalid_payload');
    expect(invalid.message).toMatch(/by/);
    const failed = await rejection(counter.fail({ message: 'No active room' }));
    expect(failed.code).toBe('action_failed');
    expect(failed.message).toBe('No active room');
    // The component survives its failed actions.
    expect(await counter.increment({ by: 1 })).toBe(1);
  });

  it('rejects with action_timeout past the server limit', async () => {
    const server = await liveServer({ limits: { actionTimeoutMs: 50 } });
    const counter = connectClient(server, 'alice').live.use(Counter);
    expect((await rejection(counter.hang())).code).toBe('action_timeout');
  });

  it('an unknown component: error() says so and calls reject with its code', async () => {
    const server = await liveServer();
    const client = connectClient(server, 'alice');
    const ghost = client.live.use('Ghost');
    await until(ghost.error, (error) => error !== null, 5000, 'mount error');
    expect(ghost.error()?.code).toBe('unknown_component');
    expect(ghost.mounted()).toBe(false);
    expect((await rejection(ghost.call('anything'))).code).toBe('unknown_component');
  });

  it('calls made before the mount wait for it, and give up after mountTimeout', async () => {
    const server = await liveServer();
    // Not connected yet: the call waits for the connect and the mount.
    const client = new WebSocketClient({
      url: `ws://127.0.0.1:${server.port}/rooms`,
      params: { userId: 'alice' },
    });
    try {
      const counter = client.live.use(Counter);
      const result = counter.increment({ by: 4 });
      client.connect();
      expect(await result).toBe(4);
    } finally {
      client.disconnect();
    }
    const offline = new WebSocketClient({ url: 'ws://127.0.0.1:9/rooms', reconnect: false });
    const lonely = offline.live.use(Counter, { mountTimeout: 30 });
    const error = await rejection(lonely.increment({ by: 1 }));
    expect(error.code).toBe('disconnected');
    lonely.dispose();
  });
});

describe('dispose', () => {
  it('unmounts on the server; later calls reject with disposed', async () => {
    const server = await liveServer();
    const client = connectClient(server, 'alice');
    const before = { ...counts };
    const counter = client.live.use(Counter, { room: 'lobby' });
    await mounted(counter);
    expect(server.liveRooms.isInRoom(counter.componentId()!, 'lobby')).toBe(true);
    counter.dispose();
    expect(counter.mounted()).toBe(false);
    await eventually(() => counts.unmounted === before.unmounted + 1, 5000, 'unmounted');
    expect(server.liveRooms.getStats().rooms).toBe(0);
    expect((await rejection(counter.increment({ by: 1 }))).code).toBe('disposed');
    counter.dispose(); // twice is fine
  });

  it('a handle disposed in the tick it was made never reaches the server (StrictMode)', async () => {
    const server = await liveServer();
    const client = connectClient(server, 'alice');
    await until(client.status, (s) => s === 'connected', 5000, 'connected');
    const mounts = frames(client, 'live:mounted');
    const before = counts.mounted;
    client.live.use(Counter).dispose();
    const kept = client.live.use(Counter);
    await mounted(kept);
    expect(counts.mounted).toBe(before + 1);
    expect(mounts.map((m) => m.componentId)).toEqual([kept.componentId()]);
  });

  it('a handle disposed while its mount is in flight unmounts what the server mounted', async () => {
    const server = await liveServer();
    const client = connectClient(server, 'alice');
    await until(client.status, (s) => s === 'connected', 5000, 'connected');
    const before = { ...counts };
    const counter = client.live.use(Counter);
    await Promise.resolve(); // the mount is sent on the next microtask
    counter.dispose();
    await eventually(() => counts.mounted === before.mounted + 1, 5000, 'mounted');
    await eventually(() => counts.unmounted === before.unmounted + 1, 5000, 'unmounted');
  });

  it('a thousand mount/dispose cycles leave nothing behind', async () => {
    const server = await liveServer({ rateLimit: { messagesPerSecond: 100_000, burst: 100_000 } });
    const client = connectClient(server, 'alice', { maxMessagesPerSecond: 100_000 });
    const before = { ...counts };
    const handlers = (client as unknown as { handlers: Map<string, Set<unknown>> }).handlers;
    const listenerCount = () => [...handlers.values()].reduce((n, set) => n + set.size, 0);
    client.live.use(Counter).dispose();
    const listeners = listenerCount();
    for (let i = 0; i < 50; i++) {
      const batch = Array.from({ length: 20 }, () => client.live.use(Counter, { room: 'lobby' }));
      await Promise.all(batch.map((handle) => mounted(handle)));
      for (const handle of batch) handle.dispose();
    }
    await eventually(() => counts.unmounted === before.unmounted + 1000, 10_000, 'all unmounted');
    expect(counts.mounted).toBe(before.mounted + 1000);
    expect(server.liveRooms.getStats()).toMatchObject({ rooms: 0, components: 0 });
    expect(server.roomEvents.getStats().subscriptions).toBe(0);
    // The client listens once for all its components, however many come and go.
    expect(listenerCount()).toBe(listeners);
  });

  it('the server unmounting the component: error() is unmounted, calls reject', async () => {
    const server = await liveServer();
    const counter = connectClient(server, 'alice').live.use(Counter);
    await mounted(counter);
    expect(server.unmountComponent(counter.componentId()!, 'kicked')).toBe(true);
    await until(counter.mounted, (m) => !m, 5000, 'unmounted');
    expect(counter.error()).toMatchObject({ code: 'unmounted', message: 'kicked' });
    expect((await rejection(counter.increment({ by: 1 }))).code).toBe('unmounted');
  });
});

describe('reconnect', () => {
  it('re-mounts with the last state; in-flight calls reject, waiting calls go through', async () => {
    const server = await liveServer();
    const client = connectClient(server, 'alice');
    // A room held on the socket lets the test find it on the server and cut it.
    client.room('anchor').presence();
    const counter = client.live.use(Counter, { initialState: { count: 10 } });
    expect(await counter.increment({ by: 5 })).toBe(15);
    const firstId = counter.componentId();
    await until(client.room('anchor').isJoined, Boolean, 5000, 'anchor joined');

    const inFlight = counter.slow({ ms: 200 });
    await eventually(() => dropConnections(server, 'alice') > 0, 5000, 'dropped');
    expect((await rejection(inFlight)).code).toBe('disconnected');
    expect(counter.mounted()).toBe(false);
    // Made while disconnected: sent once the component is mounted again.
    const waiting = counter.increment({ by: 1 });
    expect(await waiting).toBe(16);
    expect(counter.componentId()).not.toBe(firstId);
    expect(await counter.read()).toEqual({ count: 16, label: 'counter' });
  });

  it('after a server restart, the component comes back with its state', async () => {
    let server = await liveServer();
    const client = connectClient(server, 'alice');
    const counter = client.live.use(Counter, { room: 'lobby' });
    expect(await counter.increment({ by: 7 })).toBe(7);
    const { port } = server;
    await stopServer(server);
    await until(counter.mounted, (m) => !m, 5000, 'gone');
    expect(counter.$state.count).toBe(7); // the last state stays shown while away
    expect(counter.$rooms).toEqual([]); // but no instance on the server is in a room
    server = await startServer({ components: { Counter } }, port);
    await until(counter.mounted, Boolean, 10_000, 'back');
    expect(counter.$state.count).toBe(7);
    expect(counter.$rooms).toEqual(['lobby']);
    expect(await counter.increment({ by: 1 })).toBe(8);
  });

  it('re-mounts from initialState when the last state no longer fits in a frame', async () => {
    const server = await liveServer({ limits: { maxMessageBytes: 2048 } });
    const client = connectClient(server, 'alice');
    client.room('anchor').presence();
    const counter = client.live.use(Counter, { initialState: { count: 1 } });
    await counter.grow({ size: 4000 }); // server to client frames have no such limit
    expect(counter.$state.label).toHaveLength(4000);
    await until(client.room('anchor').isJoined, Boolean, 5000, 'anchor joined');
    const firstId = counter.componentId();
    await eventually(() => dropConnections(server, 'alice') > 0, 5000, 'dropped');
    await until(counter.componentId, (id) => id !== null && id !== firstId, 5000, 're-mounted');
    expect(counter.error()).toBeNull();
    expect(counter.$state).toEqual({ count: 1, label: 'counter' });
  });
});

describe('reconnect with a state the server refuses from clients', () => {
  it('re-mounts from initialState when the last state holds a key clients may not send', async () => {
    const server = await liveServer();
    const client = connectClient(server, 'alice');
    client.room('anchor').presence();
    const counter = client.live.use(Counter, { initialState: { count: 1 } });
    await counter.keyed({ key: 'constructor' });
    expect(Object.hasOwn(counter.$state, 'constructor')).toBe(true);
    await until(client.room('anchor').isJoined, Boolean, 5000, 'anchor joined');
    const firstId = counter.componentId();
    await eventually(() => dropConnections(server, 'alice') > 0, 5000, 'dropped');
    await until(counter.componentId, (id) => id !== null && id !== firstId, 5000, 're-mounted');
    expect(counter.error()).toBeNull();
    expect(counter.$state).toEqual({ count: 1, label: 'counter' });
  });
});

describe('LiveRoomChat (the example component), two clients', () => {
  it('chat, typing and leave', async () => {
    const server = await liveServer();
    const alice = connectClient(server, 'alice').live.use(LiveRoomChat, {
      initialState: { username: 'alice' },
    });
    const bob = connectClient(server, 'bob').live.use(LiveRoomChat, {
      initialState: { username: 'bob' },
    });
    expect(await alice.joinRoom({ roomId: 'geral', roomName: 'Geral' })).toEqual({
      success: true,
      roomId: 'geral',
    });
    await bob.joinRoom({ roomId: 'geral' });
    expect(alice.$state.rooms).toEqual([{ id: 'geral', name: 'Geral' }]);
    expect(alice.$rooms.includes('geral')).toBe(true);

    // Typing reaches the others, never the typist.
    await bob.startTyping();
    await until(alice.state, (s) => s.typingUsers.geral?.includes('bob') === true, 5000, 'typing');
    expect(bob.$state.typingUsers.geral).toEqual([]);

    // A message shows once on both sides (emit never reaches the sender) and ends the typing.
    const sent = await bob.sendMessage({ text: 'olá' });
    expect(sent.message).toMatchObject({ user: 'bob', text: 'olá' });
    expect(bob.$state.messages.geral?.map((m) => m.text)).toEqual(['olá']);
    await until(alice.state, (s) => s.messages.geral?.length === 1, 5000, 'message');
    expect(alice.$state.messages.geral![0]).toEqual(sent.message);
    expect(alice.$state.typingUsers.geral).toEqual([]);

    await alice.startTyping();
    await until(bob.state, (s) => s.typingUsers.geral?.includes('alice') === true, 5000, 'typing');
    await alice.stopTyping();
    await until(bob.state, (s) => s.typingUsers.geral?.length === 0, 5000, 'stopped');

    // Errors from the component reach the caller.
    const error = await rejection(alice.sendMessage({ text: '   ' }));
    expect(error).toMatchObject({ code: 'action_failed', message: 'Empty message' });

    // Bob leaves: out of the room, its messages gone; alice's next message does not reach him.
    await bob.leaveRoom({ roomId: 'geral' });
    expect(bob.$state).toMatchObject({ activeRoom: null, rooms: [], messages: {} });
    await until(bob.rooms, (rooms) => rooms.length === 0, 5000, 'bob left');
    await alice.sendMessage({ text: 'still there?' });
    expect(alice.$state.messages.geral).toHaveLength(2);
    expect((await rejection(bob.sendMessage({ text: 'x' }))).message).toBe('No active room');
    expect(bob.$state.messages).toEqual({});
    expect(server.liveRooms.getStats().roomDetails.geral?.components).toBe(1);
  });

  it('an HTTP-style emit into the room (liveRooms.emitToRoom) shows up in both', async () => {
    const server = await liveServer();
    const alice = connectClient(server, 'alice').live.use(LiveRoomChat, {
      initialState: { username: 'alice' },
    });
    const bob = connectClient(server, 'bob').live.use(LiveRoomChat, {
      initialState: { username: 'bob' },
    });
    await alice.joinRoom({ roomId: 'geral' });
    await bob.joinRoom({ roomId: 'geral' });
    const message = { id: 'api-1', user: 'API Bot', text: 'deploy done', timestamp: Date.now() };
    expect(server.liveRooms.emitToRoom('geral', 'message:new', message)).toBe(2);
    for (const chat of [alice, bob]) {
      await until(chat.state, (s) => s.messages.geral?.length === 1, 5000, 'api message');
      expect(chat.$state.messages.geral![0]).toEqual(message);
    }
  });
});
