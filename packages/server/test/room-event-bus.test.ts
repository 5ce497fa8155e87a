import { describe, expect, it, vi } from 'vitest';
import {
  type BusMessage,
  InProcessCluster,
  type LiveConnection,
  LiveRoomManager,
  LocalBus,
  type Logger,
  RoomEventBus,
} from '../src/index.js';
import { Member } from './fixtures/live-components.js';
import { startServer } from './helpers.js';
import { connectAs, mount, result } from './live-helpers.js';

function recordingLogger(): Logger & { lines: { level: string; msg?: string }[] } {
  const lines: { level: string; msg?: string }[] = [];
  const at = (level: string) => (_fields: Record<string, unknown>, msg?: string) =>
    void lines.push({ level, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A LocalBus that also keeps every message published on it. */
class RecordingBus extends LocalBus {
  readonly published: BusMessage[] = [];
  override publish(message: BusMessage): Promise<void> {
    this.published.push(message);
    return super.publish(message);
  }
}

/** An event bus on a bus of its own (emits run this node's handlers at once). */
function eventBus(logger: Logger = recordingLogger()) {
  const bus = new RecordingBus();
  const events = new RoomEventBus(bus, logger);
  return { bus, events };
}

/** A member's connection that keeps the frames it is sent. */
function fakeConnection(id = 'conn'): LiveConnection & { frames: object[] } {
  const frames: object[] = [];
  return { id, userId: 'u', frames, send: (message) => void frames.push(message) };
}

describe('RoomEventBus', () => {
  it('on/emit: every handler of the room and event but the excluded subscriber; counts them', () => {
    const { events } = eventBus();
    const got: string[] = [];
    events.on('room', 'r', 'ping', 'a', (d) => void got.push(`a:${d}`));
    events.on('room', 'r', 'ping', 'b', (d) => void got.push(`b:${d}`));
    events.on('room', 'r', 'ping', 'b', (d) => void got.push(`b2:${d}`));
    events.on('room', 'r', 'other', 'c', () => void got.push('other'));
    events.on('room', 'r2', 'ping', 'd', () => void got.push('r2'));
    events.on('chat', 'r', 'ping', 'e', () => void got.push('chat'));
    expect(events.emit('room', 'r', 'ping', 1, 'a')).toBe(2);
    expect(got).toEqual(['b:1', 'b2:1']);
    expect(events.emit('room', 'r', 'ping', 2)).toBe(3);
    expect(events.emit('room', 'nobody', 'ping', 3)).toBe(0);
    expect(got).toEqual(['b:1', 'b2:1', 'a:2', 'b:2', 'b2:2']);
  });

  it('travels on the Bus as a live-event with the data JSON-encoded once', () => {
    const { bus, events } = eventBus();
    let received: unknown;
    events.on('room', 'r', 'ev', 'b', (d) => {
      received = d;
    });
    const data = { text: 'hi', list: [1, 2] };
    events.emit('room', 'r', 'ev', data, 'a');
    expect(bus.published).toEqual([
      {
        kind: 'live-event',
        type: 'room',
        room: 'r',
        event: 'ev',
        data: '{"text":"hi","list":[1,2]}',
        exclude: 'a',
      },
    ]);
    // What a handler gets is what another node would get: a copy, not the emitter's object.
    expect(received).toEqual(data);
    expect(received).not.toBe(data);
    events.emit('room', 'r', 'ev', undefined);
    expect(received).toBeNull();
    expect(() => events.emit('room', 'r', 'ev', { n: 1n })).toThrow(TypeError);
    expect(bus.published).toHaveLength(2);
  });

  it('delivers what another node publishes (two nodes of an InProcessCluster)', async () => {
    const logger = recordingLogger();
    const cluster = new InProcessCluster();
    const [busA, busB] = [cluster.bus('a'), cluster.bus('b')];
    const nodeA = new RoomEventBus(busA, logger);
    const nodeB = new RoomEventBus(busB, logger);
    for (const [bus, events] of [
      [busA, nodeA],
      [busB, nodeB],
    ] as const) {
      bus.attach({
        receive: (message) => void (message.kind === 'live-event' && events.deliver(message)),
        answer: () => null,
        nodeDown: () => {},
      });
    }
    const got: unknown[] = [];
    nodeB.on('room', 'r', 'ev', 'remote', (d) => void got.push(d));
    expect(nodeA.emit('room', 'r', 'ev', 'x')).toBe(0); // none on this node
    await vi.waitFor(() => expect(got).toEqual(['x']));
    // Node A has no handler for the room, so it does not subscribe to it: B's emits skip it.
    const onA: unknown[] = [];
    nodeB.emit('room', 'r', 'ev', 'y');
    await vi.waitFor(() => expect(got).toEqual(['x', 'y']));
    expect(onA).toEqual([]);
    await Promise.all([busA.close(), busB.close()]);
  });

  it('unsubscribe, unsubscribeAll, unsubscribeRoom and clearRoom drop handlers and empty indexes', () => {
    const { events } = eventBus();
    const off = events.on('room', 'r', 'a', 's1', () => {});
    events.on('room', 'r', 'b', 's1', () => {});
    events.on('room', 'r2', 'a', 's1', () => {});
    events.on('room', 'r', 'a', 's2', () => {});
    events.on('room', 'r3', 'a', 's2', () => {});
    expect(events.getStats()).toEqual({ subscriptions: 5, subscribers: 2, rooms: 3, events: 4 });
    off();
    off();
    expect(events.getStats().subscriptions).toBe(4);
    expect(events.unsubscribeRoom('s1', 'room', 'r')).toBe(1);
    expect(events.unsubscribeAll('s1')).toBe(1);
    expect(events.unsubscribeAll('s1')).toBe(0);
    expect(events.getStats()).toEqual({ subscriptions: 2, subscribers: 1, rooms: 2, events: 2 });
    expect(events.handlerCount('room', 'r')).toBe(1);
    expect(events.clearRoom('room', 'r')).toBe(1);
    expect(events.clearRoom('room', 'r')).toBe(0);
    expect(events.clearRoom('room', 'r3')).toBe(1);
    expect(events.getStats()).toEqual({ subscriptions: 0, subscribers: 0, rooms: 0, events: 0 });
    const maps = events as unknown as Record<string, Map<unknown, unknown>>;
    expect(maps.byRoom!.size).toBe(0);
    expect(maps.bySubscriber!.size).toBe(0);
  });

  it('isolates handler errors: a throw or a rejection is logged, the other handlers run', async () => {
    const logger = recordingLogger();
    const { events } = eventBus(logger);
    const got: string[] = [];
    events.on('room', 'r', 'ev', 'bad', () => {
      throw new Error('bad handler');
    });
    events.on('room', 'r', 'ev', 'async-bad', async () => {
      throw new Error('bad async handler');
    });
    events.on('room', 'r', 'ev', 'good', () => void got.push('good'));
    expect(events.emit('room', 'r', 'ev', null)).toBe(3);
    expect(got).toEqual(['good']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(logger.lines.filter((l) => l.msg === 'room event handler failed')).toHaveLength(2);
  });

  it('a handler may unsubscribe others mid-delivery; they are not called', () => {
    const { events } = eventBus();
    const got: string[] = [];
    events.on('room', 'r', 'ev', 'first', () => {
      got.push('first');
      events.unsubscribeAll('second');
    });
    events.on('room', 'r', 'ev', 'second', () => void got.push('second'));
    events.emit('room', 'r', 'ev', 1);
    expect(got).toEqual(['first']);
  });

  it('stops handlers that emit into each other forever, and logs it', () => {
    const logger = recordingLogger();
    const { events } = eventBus(logger);
    let calls = 0;
    events.on('room', 'r', 'ping', 'a', () => {
      calls++;
      events.emit('room', 'r', 'ping', calls, 'b');
    });
    events.on('room', 'r', 'ping', 'b', () => {
      calls++;
      events.emit('room', 'r', 'ping', calls, 'a');
    });
    events.emit('room', 'r', 'ping', 0);
    expect(calls).toBeLessThan(200);
    expect(logger.lines.some((l) => l.level === 'error' && l.msg?.includes('nest too deep'))).toBe(
      true,
    );
  });

  it('refuses empty names', () => {
    const { events } = eventBus();
    expect(() => events.on('room', '', 'e', 's', () => {})).toThrow(TypeError);
    expect(() => events.emit('room', 'r', '', 1)).toThrow(TypeError);
  });
});

describe('LiveRoomManager', () => {
  function manager() {
    const { bus, events } = eventBus();
    return { bus, events, rooms: new LiveRoomManager(events) };
  }

  it('joinRoom/leaveRoom/isInRoom/getComponentRooms; rooms go with their last member', () => {
    const { rooms } = manager();
    const ws = fakeConnection();
    expect(rooms.joinRoom('c1', 'r1', ws, { topic: 't' })).toBe(true);
    expect(rooms.joinRoom('c1', 'r1', ws)).toBe(false);
    expect(ws.frames).toEqual([
      { type: 'live:room-state', componentId: 'c1', room: 'r1', state: { topic: 't' } },
    ]);
    rooms.joinRoom('c1', 'r2');
    rooms.joinRoom('c2', 'r1', undefined, { topic: 'ignored' });
    expect(rooms.isInRoom('c1', 'r1')).toBe(true);
    expect(rooms.getComponentRooms('c1')).toEqual(['r1', 'r2']);
    expect(rooms.getRoomState('r1')).toEqual({ topic: 't' });
    expect(rooms.leaveRoom('c1', 'r1')).toBe(true);
    expect(rooms.leaveRoom('c1', 'r1')).toBe(false);
    expect(rooms.leaveRoom('c2', 'r1')).toBe(true);
    expect(rooms.getRoomState('r1')).toEqual({});
    expect(rooms.getStats()).toEqual({
      rooms: 1,
      components: 1,
      roomDetails: { r2: { components: 1, events: 0, stateKeys: 0 } },
    });
    expect(() => rooms.joinRoom('c1', 'bad id')).toThrow(TypeError);
    expect(() => rooms.joinRoom('', 'r1')).toThrow(TypeError);
  });

  it('emitToRoom counts the member components notified, the excluded one left out', () => {
    const { rooms, events } = manager();
    const got: string[] = [];
    for (const id of ['c1', 'c2', 'c3']) {
      rooms.joinRoom(id, 'r');
      events.on('room', 'r', 'ev', id, () => void got.push(id));
    }
    expect(rooms.emitToRoom('r', 'ev', 1, 'c1')).toBe(2);
    expect(got).toEqual(['c2', 'c3']);
    expect(rooms.emitToRoom('r', 'ev', 1)).toBe(3);
    expect(rooms.emitToRoom('r', 'ev', 1, 'outsider')).toBe(3);
    expect(rooms.emitToRoom('empty', 'ev', 1)).toBe(0);
  });

  it('setRoomState merges, sends the whole state to members but the excluded one', () => {
    const { rooms } = manager();
    const a = fakeConnection('a');
    const b = fakeConnection('b');
    rooms.joinRoom('ca', 'r', a);
    rooms.joinRoom('cb', 'r', b);
    a.frames.length = 0;
    b.frames.length = 0;
    expect(rooms.setRoomState('r', { x: 1 })).toBe(true);
    expect(rooms.setRoomState('r', { y: 2 }, 'ca')).toBe(true);
    expect(a.frames).toEqual([
      { type: 'live:room-state', componentId: 'ca', room: 'r', state: { x: 1 } },
    ]);
    expect(b.frames.at(-1)).toEqual({
      type: 'live:room-state',
      componentId: 'cb',
      room: 'r',
      state: { x: 1, y: 2 },
    });
    expect(rooms.setRoomState('nowhere', { x: 1 })).toBe(false);
    // A copy: changing it changes nothing.
    const copy = rooms.getRoomState('r');
    copy.x = 99;
    expect(rooms.getRoomState('r')).toEqual({ x: 1, y: 2 });
  });

  it('cleanupComponent leaves every room and drops every handler; returns the rooms left', () => {
    const { rooms, events } = manager();
    rooms.joinRoom('c1', 'r1');
    rooms.joinRoom('c1', 'r2');
    rooms.joinRoom('c2', 'r1');
    events.on('room', 'r1', 'e', 'c1', () => {});
    events.on('room', 'never-joined', 'e', 'c1', () => {});
    events.on('room', 'r1', 'e', 'c2', () => {});
    expect(rooms.cleanupComponent('c1')).toBe(2);
    expect(rooms.cleanupComponent('c1')).toBe(0);
    expect(rooms.getStats()).toEqual({
      rooms: 1,
      components: 1,
      roomDetails: { r1: { components: 1, events: 1, stateKeys: 0 } },
    });
    expect(events.getStats()).toEqual({ subscriptions: 1, subscribers: 1, rooms: 1, events: 1 });
  });
});

describe('roomEvents and liveRooms on a running server', () => {
  it("server.roomEvents.emit('room', ...) reaches the components' $room.on handlers over the server's bus", async () => {
    const bus = new RecordingBus();
    const server = await startServer({ components: { Member }, bus });
    const alice = await connectAs(server, 'alice');
    const id = await mount(alice, 'Member');
    await result(alice, id, 'join', { room: 'news' });
    expect(server.roomEvents.emit('room', 'news', 'ping', { headline: 'x' })).toBe(1);
    await expect
      .poll(() => alice.all('live:state').at(-1)?.patch)
      .toEqual({ events: [{ room: 'news', data: { headline: 'x' } }] });
    expect(bus.published.filter((m) => m.kind === 'live-event')).toEqual([
      { kind: 'live-event', type: 'room', room: 'news', event: 'ping', data: '{"headline":"x"}' },
    ]);
    const sub = server.roomEvents.on('room', 'news', 'ping', 'observer', () => {});
    expect(await result(alice, id, 'emit', { room: 'news', data: 1 })).toBe(0);
    sub();
    expect(server.roomEvents.getStats()).toEqual({
      subscriptions: 1,
      subscribers: 1,
      rooms: 1,
      events: 1,
    });
  });
});
