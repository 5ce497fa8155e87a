import { describe, expect, it } from 'vitest';
import type { Logger, RoomServer } from '../src/index.js';
import { Member } from './fixtures/live-components.js';
import { LiveRoomChat } from './fixtures/live-room-chat.js';
import { startServer, type TestClient } from './helpers.js';
import {
  allOf,
  call,
  connectAs,
  EMPTY_HOLDINGS,
  liveHoldings,
  mount,
  nextOf,
  result,
} from './live-helpers.js';

type Events = { room: string; data: unknown }[];

/** A logger that keeps what it is told. */
function recordingLogger(): Logger & { lines: { level: string; msg?: string }[] } {
  const lines: { level: string; msg?: string }[] = [];
  const at = (level: string) => (_fields: Record<string, unknown>, msg?: string) =>
    void lines.push({ level, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function setup(logger?: Logger): Promise<[RoomServer, TestClient, TestClient]> {
  const server = await startServer({
    components: { Member, LiveRoomChat },
    ...(logger ? { logger } : {}),
  });
  return [server, await connectAs(server, 'alice'), await connectAs(server, 'bob')];
}

/** The `events` of the component's latest `live:state` that had them. */
function eventsOf(client: TestClient, id: string): Events {
  const frames = allOf(client, 'live:state', id).filter((m) => 'events' in (m.patch as object));
  return ((frames.at(-1)?.patch as { events?: Events } | undefined)?.events ?? []) as Events;
}

describe('live rooms through $room', () => {
  it('emit reaches every other member, on other connections and on the same one, never the sender', async () => {
    const [, alice, bob] = await setup();
    const a1 = await mount(alice, 'Member');
    const a2 = await mount(alice, 'Member');
    const b1 = await mount(bob, 'Member');
    for (const [client, id] of [
      [alice, a1],
      [alice, a2],
      [bob, b1],
    ] as const) {
      expect(await result(client, id, 'join', { room: 'r1' })).toEqual(['r1']);
    }
    expect(await result(alice, a1, 'emit', { room: 'r1', data: { n: 1 } })).toBe(2);
    // The sender's own handlers would have run inside the call, and its frames precede the result.
    expect(eventsOf(alice, a1)).toEqual([]);
    await nextOf(bob, 'live:state', b1);
    expect(eventsOf(bob, b1)).toEqual([{ room: 'r1', data: { n: 1 } }]);
    await expect.poll(() => eventsOf(alice, a2)).toEqual([{ room: 'r1', data: { n: 1 } }]);
  });

  it('join sends live:rooms and the room state; leave drops the handlers there', async () => {
    const [server, alice, bob] = await setup();
    const a1 = await mount(alice, 'Member');
    const b1 = await mount(bob, 'Member');
    const mark = alice.mark();
    await result(alice, a1, 'join', { room: 'r1', initial: { topic: 'hello' } });
    alice.rewind(mark);
    expect(await nextOf(alice, 'live:room-state', a1)).toEqual({
      type: 'live:room-state',
      componentId: a1,
      room: 'r1',
      state: { topic: 'hello' },
    });
    expect(await nextOf(alice, 'live:rooms', a1)).toEqual({
      type: 'live:rooms',
      componentId: a1,
      rooms: ['r1'],
    });
    await result(bob, b1, 'join', { room: 'r1', initial: { topic: 'ignored' } });
    expect(allOf(bob, 'live:room-state', b1)).toMatchObject([{ state: { topic: 'hello' } }]);
    await result(alice, a1, 'join', { room: 'r2' });
    expect(allOf(alice, 'live:rooms', a1).at(-1)?.rooms).toEqual(['r1', 'r2']);

    expect(await result(bob, b1, 'leave', { room: 'r1' })).toEqual([]);
    expect(allOf(bob, 'live:rooms', b1).at(-1)).toMatchObject({ rooms: [] });
    expect(server.liveRooms.isInRoom(b1, 'r1')).toBe(false);
    expect(server.liveRooms.getStats().roomDetails.r1).toEqual({
      components: 1,
      events: 1,
      stateKeys: 1,
    });
    // Bob's handler is gone: alice's emit notifies nobody.
    expect(await result(alice, a1, 'emit', { room: 'r1' })).toBe(0);
  });

  it('$room(id).setState reaches every member, the setter included', async () => {
    const [, alice, bob] = await setup();
    const a1 = await mount(alice, 'Member');
    const a2 = await mount(alice, 'Member');
    const b1 = await mount(bob, 'Member');
    for (const [client, id] of [
      [alice, a1],
      [alice, a2],
      [bob, b1],
    ] as const) {
      await result(client, id, 'join', { room: 'shared' });
    }
    const state = await result(alice, a1, 'setRoomState', {
      room: 'shared',
      updates: { count: 1, title: 'x' },
    });
    expect(state).toEqual({ count: 1, title: 'x' });
    const want = { type: 'live:room-state', room: 'shared', state: { count: 1, title: 'x' } };
    await expect.poll(() => allOf(alice, 'live:room-state', a1).at(-1)).toMatchObject(want);
    await expect.poll(() => allOf(alice, 'live:room-state', a2).at(-1)).toMatchObject(want);
    await expect.poll(() => allOf(bob, 'live:room-state', b1).at(-1)).toMatchObject(want);
    await result(bob, b1, 'setRoomState', { room: 'shared', updates: { count: 2 } });
    await expect
      .poll(() => allOf(alice, 'live:room-state', a1).at(-1)?.state)
      .toEqual({ count: 2, title: 'x' });
    expect(await result(alice, a2, 'roomState', { room: 'shared' })).toEqual({
      count: 2,
      title: 'x',
    });
    // Only members may set a room's state.
    expect(
      await call(alice, a1, 'setRoomState', { room: 'other', updates: { a: 1 } }),
    ).toMatchObject({
      code: 'action_failed',
      message: '$room("other").setState: join the room first',
    });
  });

  it('the default room (live:mount room): joined at mount, and this.$room.* shorthand', async () => {
    const [, alice, bob] = await setup();
    const reply = await alice.request({ type: 'live:mount', component: 'Member', room: 'lobby' });
    expect(reply).toMatchObject({ type: 'live:mounted', rooms: ['lobby'] });
    const a1 = reply.componentId as string;
    expect(await nextOf(alice, 'live:room-state', a1)).toMatchObject({ room: 'lobby', state: {} });
    const b1 = await mount(bob, 'Member', { room: 'lobby' });
    await result(bob, b1, 'listenDefault');
    expect(await result(alice, a1, 'emitDefault', { data: 'hi' })).toBe(1);
    await expect.poll(() => eventsOf(bob, b1)).toEqual([{ room: 'default', data: 'hi' }]);
    expect(await result(alice, a1, 'setDefaultState', { mood: 'good' })).toEqual({ mood: 'good' });
    await expect
      .poll(() => allOf(bob, 'live:room-state', b1).at(-1)?.state)
      .toEqual({ mood: 'good' });
    expect(await result(bob, b1, 'leaveDefault')).toEqual([]);
    // Without a default room the shorthand says so.
    const plain = await mount(alice, 'Member');
    expect(await call(alice, plain, 'emitDefault', {})).toMatchObject({
      code: 'action_failed',
      message: expect.stringContaining('no default room'),
    });
  });

  it('refuses invalid room ids and more rooms than limits.maxRoomsPerConnection per component', async () => {
    const server = await startServer({
      components: { Member },
      limits: { maxRoomsPerConnection: 2 },
    });
    const alice = await connectAs(server, 'alice');
    const a1 = await mount(alice, 'Member');
    expect(await call(alice, a1, 'join', { room: 'no spaces' })).toMatchObject({
      code: 'action_failed',
      message: '$room: "no spaces" is not a valid room id',
    });
    await result(alice, a1, 'join', { room: 'x1' });
    await result(alice, a1, 'join', { room: 'x2' });
    expect(await call(alice, a1, 'join', { room: 'x3' })).toMatchObject({
      code: 'action_failed',
      message: 'a component may be in at most 2 live rooms',
    });
  });

  it('a throwing on-handler is logged and the other handlers still run', async () => {
    const logger = recordingLogger();
    const [, alice, bob] = await setup(logger);
    const a1 = await mount(alice, 'Member');
    const b1 = await mount(bob, 'Member');
    const b2 = await mount(bob, 'Member');
    await result(alice, a1, 'join', { room: 'r' });
    await result(bob, b1, 'addThrowingHandler', { room: 'r' });
    await result(bob, b1, 'join', { room: 'r' });
    await result(bob, b2, 'join', { room: 'r' });
    expect(await result(alice, a1, 'emit', { room: 'r', data: 1 })).toBe(2);
    await expect.poll(() => eventsOf(bob, b1)).toEqual([{ room: 'r', data: 1 }]);
    await expect.poll(() => eventsOf(bob, b2)).toEqual([{ room: 'r', data: 1 }]);
    expect(logger.lines).toContainEqual({ level: 'warn', msg: 'room event handler failed' });
    // The emitter's call succeeded and the room still works.
    expect(await result(alice, a1, 'emit', { room: 'r', data: 2 })).toBe(2);
  });

  it('disconnect unmounts the components: they leave their rooms and their handlers go', async () => {
    const [server, alice, bob] = await setup();
    const a1 = await mount(alice, 'Member');
    const b1 = await mount(bob, 'Member');
    await result(alice, a1, 'join', { room: 'r' });
    await result(bob, b1, 'join', { room: 'r' });
    await bob.close();
    await expect.poll(() => server.liveRooms.getRoomMembers('r')).toEqual([a1]);
    expect(server.liveRooms.getComponentRooms(b1)).toEqual([]);
    expect(server.roomEvents.getStats().subscribers).toBe(1);
    expect(await result(alice, a1, 'emit', { room: 'r' })).toBe(0);
    await alice.close();
    await expect.poll(() => liveHoldings(server)).toEqual(EMPTY_HOLDINGS);
  });
});

describe('the published LiveRoomChat example, end to end', () => {
  type ChatState = {
    activeRoom: string | null;
    rooms: { id: string; name: string }[];
    messages: Record<string, { user: string; text: string }[]>;
    typingUsers: Record<string, string[]>;
  };

  /** The client-side state: the mounted state with every patch applied. */
  function stateOf(client: TestClient, id: string): ChatState {
    const mounted = client.received.find((m) => m.type === 'live:mounted' && m.componentId === id);
    let state = { ...(mounted?.state as object) } as ChatState;
    for (const frame of allOf(client, 'live:state', id))
      state = { ...state, ...(frame.patch as object) };
    return state;
  }

  it('two clients join, chat, see typing, an API message reaches both, one leaves', async () => {
    const [server, alice, bob] = await setup();
    const a = await mount(alice, 'LiveRoomChat', { initialState: { username: 'Alice' } });
    const b = await mount(bob, 'LiveRoomChat', { initialState: { username: 'Bob' } });
    expect(await result(alice, a, 'joinRoom', { roomId: 'geral', roomName: 'Geral' })).toEqual({
      success: true,
      roomId: 'geral',
    });
    await result(bob, b, 'joinRoom', { roomId: 'geral' });
    expect(stateOf(alice, a)).toMatchObject({
      activeRoom: 'geral',
      rooms: [{ id: 'geral', name: 'Geral' }],
      messages: { geral: [] },
    });

    const sent = (await result(alice, a, 'sendMessage', { text: 'olá' })) as { message: object };
    expect(sent).toMatchObject({ success: true, message: { user: 'Alice', text: 'olá' } });
    expect(stateOf(alice, a).messages.geral).toEqual([sent.message]);
    await expect.poll(() => stateOf(bob, b).messages.geral).toEqual([sent.message]);

    expect(await result(bob, b, 'startTyping')).toEqual({ success: true });
    await expect.poll(() => stateOf(alice, a).typingUsers.geral).toEqual(['Bob']);
    expect(stateOf(bob, b).typingUsers.geral).toEqual([]);

    // What the HTTP API does: emitToRoom from server code reaches both.
    const api = { id: 'api-1', user: 'API Bot', text: 'deployed', timestamp: 1 };
    expect(server.liveRooms.emitToRoom('geral', 'message:new', api)).toBe(2);
    await expect.poll(() => stateOf(alice, a).messages.geral?.at(-1)).toEqual(api);
    await expect.poll(() => stateOf(bob, b).messages.geral?.at(-1)).toEqual(api);
    expect(server.liveRooms.getStats()).toEqual({
      rooms: 1,
      components: 2,
      roomDetails: { geral: { components: 2, events: 4, stateKeys: 0 } },
    });

    expect(await result(bob, b, 'leaveRoom', { roomId: 'geral' })).toEqual({ success: true });
    expect(stateOf(bob, b)).toMatchObject({
      activeRoom: null,
      rooms: [],
      messages: {},
      typingUsers: {},
    });
    await result(alice, a, 'sendMessage', { text: 'anyone?' });
    expect(server.liveRooms.getStats().roomDetails.geral).toEqual({
      components: 1,
      events: 2,
      stateKeys: 0,
    });
    expect(await call(bob, b, 'sendMessage', { text: 'x' })).toMatchObject({
      code: 'action_failed',
      message: 'No active room',
    });
    expect(stateOf(bob, b).messages).toEqual({});
  });
});
