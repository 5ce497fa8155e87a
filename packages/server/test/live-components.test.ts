import { describe, expect, it } from 'vitest';
import { LiveComponent, type RoomServer } from '../src/index.js';
import {
  AsyncMount,
  Counter,
  Explicit,
  Greeter,
  greeterOptions,
  lifecycle,
  SubCounter,
  ThrowsInConstructor,
  ThrowsOnMount,
  Tracked,
} from './fixtures/live-components.js';
import { startServer, type TestClient } from './helpers.js';
import {
  allOf,
  call,
  connectAs,
  EMPTY_HOLDINGS,
  liveHoldings,
  mount,
  mountRaw,
  nextOf,
  result,
  unmount,
} from './live-helpers.js';

async function setup(limits: Record<string, number> = {}): Promise<[RoomServer, TestClient]> {
  const server = await startServer({
    components: { Counter, SubCounter, Explicit, Tracked, AsyncMount },
    limits,
  });
  server.registerComponent(Greeter, greeterOptions);
  server.registerComponent(ThrowsInConstructor);
  server.registerComponent(ThrowsOnMount);
  return [server, await connectAs(server, 'alice')];
}

describe('live components: mount, call, unmount', () => {
  it('mounts a registered component with its default state, the client initialState merged over it', async () => {
    const [, alice] = await setup();
    const reply = await mountRaw(alice, 'Counter', { initialState: { label: 'mine' } });
    expect(reply).toEqual({
      type: 'live:mounted',
      ref: reply.ref,
      componentId: expect.any(String),
      component: 'Counter',
      state: { count: 0, label: 'mine' },
      rooms: [],
    });
  });

  it('runs an action and answers with its result; undefined becomes null', async () => {
    const [, alice] = await setup();
    const id = await mount(alice, 'Counter');
    expect(await result(alice, id, 'increment', { by: 5 })).toBe(5);
    expect(await result(alice, id, 'increment')).toBe(6);
    expect(await result(alice, id, 'echo', { deep: [1, 'two', null] })).toEqual({
      deep: [1, 'two', null],
    });
    expect(await result(alice, id, 'setMany')).toBeNull();
  });

  it('unmounts on live:unmount with an ack; the id is then unknown', async () => {
    const [server, alice] = await setup();
    const id = await mount(alice, 'Counter');
    expect(await unmount(alice, id)).toMatchObject({ type: 'ack' });
    expect(await call(alice, id, 'increment')).toMatchObject({
      type: 'error',
      code: 'unknown_component',
    });
    expect(await unmount(alice, id)).toMatchObject({ type: 'error', code: 'unknown_component' });
    expect(liveHoldings(server)).toEqual(EMPTY_HOLDINGS);
  });

  it('runs onMount and onUnmount (on unmount and on disconnect)', async () => {
    const [, alice] = await setup();
    lifecycle.length = 0;
    const id = await mount(alice, 'Tracked');
    await mount(alice, 'Tracked');
    expect(lifecycle).toEqual(['mount:alice', 'mount:alice']);
    await unmount(alice, id);
    expect(lifecycle).toEqual(['mount:alice', 'mount:alice', 'unmount:alice']);
    await alice.close();
    await expect.poll(() => lifecycle.length).toBe(4);
  });

  it('takes userId from the connection, never from the client', async () => {
    const [, alice] = await setup();
    expect(await mountRaw(alice, 'Counter', { userId: 'mallory' })).toMatchObject({
      type: 'error',
      code: 'invalid_message',
    });
  });
});

describe('live components: state deltas', () => {
  it('sends only the keys setState was given, before the result', async () => {
    const [, alice] = await setup();
    const id = await mount(alice, 'Counter', { initialState: { label: 'a long label' } });
    const mark = alice.mark();
    await result(alice, id, 'increment', { by: 2 });
    alice.rewind(mark);
    const state = await alice.next((m) => m.type === 'live:state' || m.type === 'live:result');
    expect(state).toEqual({ type: 'live:state', componentId: id, patch: { count: 2 } });
  });

  it('coalesces the setState calls of one turn into one frame, last value wins', async () => {
    const [, alice] = await setup();
    const id = await mount(alice, 'Counter');
    await result(alice, id, 'setMany');
    expect(allOf(alice, 'live:state', id).map((m) => m.patch)).toEqual([{ a: 3, b: 2 }]);
  });

  it('sends one frame per turn when changes are turns apart', async () => {
    const [, alice] = await setup();
    const id = await mount(alice, 'Counter');
    expect(await result(alice, id, 'setTwice')).toBe('done');
    expect(allOf(alice, 'live:state', id).map((m) => m.patch)).toEqual([{ a: 10 }, { b: 20 }]);
  });

  it('async onMount: the reply holds the final state; room state waits for live:mounted', async () => {
    const [, alice] = await setup();
    const reply = await mountRaw(alice, 'AsyncMount');
    expect(reply).toMatchObject({
      type: 'live:mounted',
      state: { ready: true },
      rooms: ['async-room'],
    });
    const id = reply.componentId as string;
    expect(await nextOf(alice, 'live:room-state', id)).toEqual({
      type: 'live:room-state',
      componentId: id,
      room: 'async-room',
      state: { topic: 'ready' },
    });
    // Nothing about it before the client could know its id.
    const mountedAt = alice.received.indexOf(reply);
    const first = alice.received.findIndex((m) => m.componentId === id);
    expect(first).toBe(mountedAt);
    expect(allOf(alice, 'live:state', id)).toEqual([]);
    expect(allOf(alice, 'live:room-state', id)).toHaveLength(1);
  });
});

describe('live components: only actions are callable', () => {
  it.each([
    'setState',
    'constructor',
    'helper',
    '_secret',
    'doubled',
    'onMount',
    'onUnmount',
    'toString',
    'valueOf',
    'hasOwnProperty',
    '__proto__',
    '__defineGetter__',
    '$room',
    '$rooms',
    'state',
    'id',
    'connection',
    'nope',
  ])('refuses %s with unknown_action', async (action) => {
    const [, alice] = await setup();
    const id = await mount(alice, 'Counter');
    const reply = await call(alice, id, action, {});
    expect(reply).toMatchObject({ type: 'error', code: 'unknown_action', ref: reply.ref });
    expect(reply.message).toBe(`"${action}" is not an action of Counter`);
  });

  it('inherits actions from a parent component; a non-async override is no action', async () => {
    const [, alice] = await setup();
    const id = await mount(alice, 'SubCounter');
    expect(await result(alice, id, 'increment')).toBe(1);
    await result(alice, id, 'reset');
    expect(await call(alice, id, 'echo', 1)).toMatchObject({ code: 'unknown_action' });
  });

  it('static actions lists exactly the callable methods', async () => {
    const [, alice] = await setup();
    const id = await mount(alice, 'Explicit');
    expect(await result(alice, id, 'visible')).toBe('visible');
    expect(await result(alice, id, 'plain')).toBe('plain');
    expect(await call(alice, id, 'hidden')).toMatchObject({ code: 'unknown_action' });
  });
});

describe('live components: errors', () => {
  it('unknown_component for a name that is not registered, and for ids not mounted here', async () => {
    const [server, alice] = await setup();
    expect(await mountRaw(alice, 'LiveComponent')).toMatchObject({
      type: 'error',
      code: 'unknown_component',
      message: 'no live component "LiveComponent" is registered',
    });
    const bob = await connectAs(server, 'bob');
    const bobs = await mount(bob, 'Counter');
    expect(await call(alice, bobs, 'increment')).toMatchObject({ code: 'unknown_component' });
    expect(await unmount(alice, bobs)).toMatchObject({ code: 'unknown_component' });
    expect(await result(bob, bobs, 'increment')).toBe(1);
  });

  it('invalid_payload names the field that failed the schema', async () => {
    const [, alice] = await setup();
    const id = await mount(alice, 'Greeter');
    expect(await call(alice, id, 'greet', { name: 5 })).toMatchObject({
      code: 'invalid_payload',
      message: expect.stringContaining('greet: field "name"'),
    });
    expect(await call(alice, id, 'greet')).toMatchObject({
      code: 'invalid_payload',
      message: expect.stringContaining('greet: payload'),
    });
    expect(await call(alice, id, 'greet', { name: 'x', admin: true })).toMatchObject({
      code: 'invalid_payload',
      message: expect.stringContaining('field "admin"'),
    });
    expect(await result(alice, id, 'greet', { name: 'bo', times: 2 })).toBe('hello bohello bo');
    // Without a schema, any payload goes.
    expect(await result(alice, id, 'anything', [1])).toBe('object');
    expect(allOf(alice, 'live:state', id).map((m) => m.patch)).toEqual([{ greeted: ['bo'] }]);
  });

  it('action_failed carries the error message; state set before the throw still goes out', async () => {
    const [, alice] = await setup();
    const id = await mount(alice, 'Counter');
    expect(await call(alice, id, 'fail')).toMatchObject({
      type: 'error',
      code: 'action_failed',
      message: 'boom',
    });
    expect(allOf(alice, 'live:state', id).map((m) => m.patch)).toEqual([{ label: 'failing' }]);
    expect(await call(alice, id, 'failSync')).toMatchObject({
      code: 'action_failed',
      message: 'sync boom',
    });
    expect(await call(alice, id, 'unserializable')).toMatchObject({
      code: 'action_failed',
      message: 'the result of unserializable is not JSON-serializable',
    });
    expect(await result(alice, id, 'increment')).toBe(1);
  });

  it('action_timeout when an action does not settle in limits.actionTimeoutMs', async () => {
    const [, alice] = await setup({ actionTimeoutMs: 100 });
    const id = await mount(alice, 'Counter');
    const started = Date.now();
    expect(await call(alice, id, 'hang')).toMatchObject({
      code: 'action_timeout',
      message: 'Counter.hang did not finish within 100 ms',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    // A hanging action holds nothing: the next call runs at once.
    expect(await result(alice, id, 'increment')).toBe(1);
  });

  it('a pending action is answered when its component is unmounted', async () => {
    const [server, alice] = await setup();
    const id = await mount(alice, 'Counter');
    alice.send({ type: 'live:call', componentId: id, action: 'hang', ref: 'pending' });
    await unmount(alice, id);
    await expect
      .poll(() => alice.received.find((m) => m.ref === 'pending'))
      .toMatchObject({
        type: 'error',
        code: 'action_failed',
        message: 'the component was unmounted (unmounted by the client)',
      });
    expect(liveHoldings(server)).toEqual(EMPTY_HOLDINGS);
  });

  it('too_many_components past limits.maxComponentsPerConnection', async () => {
    const [server, alice] = await setup({ maxComponentsPerConnection: 2 });
    const first = await mount(alice, 'Counter');
    await mount(alice, 'Counter');
    expect(await mountRaw(alice, 'Counter')).toMatchObject({ code: 'too_many_components' });
    // Per connection: another socket has its own allowance.
    await mount(await connectAs(server, 'bob'), 'Counter');
    await unmount(alice, first);
    await mount(alice, 'Counter');
  });

  it('action_failed when the constructor or onMount throws, leaving nothing behind', async () => {
    const [server, alice] = await setup();
    expect(await mountRaw(alice, 'ThrowsInConstructor')).toMatchObject({
      code: 'action_failed',
      message: 'constructor boom',
    });
    expect(await mountRaw(alice, 'ThrowsOnMount')).toMatchObject({
      code: 'action_failed',
      message: 'onMount boom',
    });
    expect(liveHoldings(server)).toEqual(EMPTY_HOLDINGS);
  });

  it('invalid_message for malformed live messages, naming the field', async () => {
    const [, alice] = await setup();
    const bad = [
      { type: 'live:mount', component: '' },
      { type: 'live:mount', component: 'x'.repeat(129) },
      { type: 'live:mount', component: 'Counter', initialState: [1] },
      { type: 'live:call', componentId: 'c' },
      { type: 'live:call', componentId: 'c', action: 7 },
      { type: 'live:call', componentId: 'c', action: 'a', room: 'r' },
      { type: 'live:unmount' },
    ];
    for (const message of bad) {
      expect(await alice.request(message), JSON.stringify(message)).toMatchObject({
        type: 'error',
        code: 'invalid_message',
        message: expect.stringMatching(/field "|message/),
      });
    }
    expect(await mountRaw(alice, 'Counter', { room: 'bad room' })).toMatchObject({
      code: 'invalid_room_id',
    });
    expect(await alice.request({ type: 'live:state', componentId: 'c', patch: {} })).toMatchObject({
      code: 'reserved_type',
    });
  });
});

describe('live components: registration and the server API', () => {
  it('registers under another name, refuses duplicates, non-components and stray schemas', async () => {
    const [server, alice] = await setup();
    server.registerComponent(Counter, { name: 'Tally' });
    expect(await mount(alice, 'Tally')).toEqual(expect.any(String));
    expect(() => server.registerComponent(Counter)).toThrow(/already registered/);
    class NotLive {}
    expect(() =>
      server.registerComponent(NotLive as unknown as typeof LiveComponent, { name: 'N' }),
    ).toThrow(TypeError);
    expect(() =>
      server.registerComponent(Greeter, { name: 'G', actions: { nope: {} as never } }),
    ).toThrow(/not an action of G/);
    class BadList extends LiveComponent {
      static actions = ['setState'];
    }
    expect(() => server.registerComponent(BadList)).toThrow(/static actions names "setState"/);
    expect(() => server.registerComponent(Counter, { name: '' })).toThrow(TypeError);
  });

  it('unmountComponent: the client gets live:unmounted with the reason', async () => {
    const [server, alice] = await setup();
    const id = await mount(alice, 'Counter');
    expect(server.unmountComponent(id, 'kicked')).toBe(true);
    expect(await nextOf(alice, 'live:unmounted', id)).toEqual({
      type: 'live:unmounted',
      componentId: id,
      reason: 'kicked',
    });
    expect(server.unmountComponent(id)).toBe(false);
    expect(await call(alice, id, 'increment')).toMatchObject({ code: 'unknown_component' });
  });

  it('validates the new limits', async () => {
    await expect(startServer({ limits: { maxComponentsPerConnection: 1.5 } })).rejects.toThrow(
      'limits.maxComponentsPerConnection must be a whole number',
    );
    await expect(startServer({ limits: { actionTimeoutMs: 0 } })).rejects.toThrow(
      'limits.actionTimeoutMs must be a positive number',
    );
  });
});

describe('live components: values that cannot be sent', () => {
  class Encodable extends LiveComponent<{ good: number; bad?: unknown }> {
    static defaultState = { good: 0 };
    async mixed() {
      this.setState({ good: 1 });
      this.setState({ bad: 1n });
    }
    async poisonRoom() {
      this.$room('r').join();
      this.$room('r').setState({ ok: true });
      this.$room('r').setState({ bad: 1n });
    }
  }

  it('setState and room setState refuse a value JSON cannot encode at the call; what was valid still goes out', async () => {
    const server = await startServer({ components: { Encodable } });
    const alice = await connectAs(server, 'alice');
    const id = await mount(alice, 'Encodable');
    const failed = await call(alice, id, 'mixed');
    expect(failed).toMatchObject({ type: 'error', code: 'action_failed' });
    expect(String(failed.message)).toMatch(/setState: the value cannot be sent as JSON/);
    // The turn's valid change went out before the error (frames precede the reply).
    expect(allOf(alice, 'live:state', id).map((m) => m.patch)).toEqual([{ good: 1 }]);

    expect(await call(alice, id, 'poisonRoom')).toMatchObject({ code: 'action_failed' });
    expect(server.liveRooms.getRoomState('r')).toEqual({ ok: true });
    const bob = await connectAs(server, 'bob');
    const other = await mount(bob, 'Encodable');
    expect(server.liveRooms.joinRoom(other, 'r')).toBe(true);
    expect(server.liveRooms.getRoomState('r')).toEqual({ ok: true });
  });
});
