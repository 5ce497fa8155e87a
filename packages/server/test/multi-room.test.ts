import { describe, expect, it } from 'vitest';
import type { StateEntry } from '../src/index.js';
import {
  connect,
  join,
  type Received,
  sentinel,
  startServer,
  type TestClient,
  usersOf,
} from './helpers.js';

function userIds(message: Received): string[] {
  return usersOf(message)
    .map((user) => user.userId)
    .sort();
}

/** A connection on the bare path: no default room, rooms joined by message. */
async function bare(server: Parameters<typeof connect>[0], userId: string): Promise<TestClient> {
  return connect(server, '/rooms', `userId=${userId}`);
}

/** `room:join` with a ref; resolves with the reply (ack or error). */
function joinRoom(client: TestClient, room: string): Promise<Received> {
  return client.request({ type: 'room:join', room });
}

function ofRoom(client: TestClient, type: string, room: string): Received[] {
  return client.all(type).filter((m) => m.room === room);
}

describe('multi-room connections', () => {
  it('connects on the bare path with no room, and room:join sends presence, state:init and an ack', async () => {
    const server = await startServer();
    const alice = await bare(server, 'alice');
    expect(alice.all('welcome')[0]).toMatchObject({ type: 'welcome', userId: 'alice', room: null });
    expect(server.getRoomManager().roomCount).toBe(0);

    const ack = await joinRoom(alice, 'mr-one');
    expect(ack).toMatchObject({ type: 'ack', room: 'mr-one' });
    const presence = ofRoom(alice, 'presence', 'mr-one');
    expect(presence.length).toBeGreaterThan(0);
    expect(userIds(presence[0]!)).toEqual(['alice']);
    expect(ofRoom(alice, 'state:init', 'mr-one')).toEqual([
      { type: 'state:init', room: 'mr-one', states: {} },
    ]);

    // A second room: its own snapshot, with its state.
    const writer = await join(server, 'mr-two', 'writer');
    writer.send({ type: 'state:update', key: 'k', value: 'v' });
    await writer.next('state:update');
    expect(await joinRoom(alice, 'mr-two')).toMatchObject({ type: 'ack', room: 'mr-two' });
    const init = ofRoom(alice, 'state:init', 'mr-two');
    expect(init).toHaveLength(1);
    const states = init[0]!.states as Record<string, StateEntry>;
    expect(states.k).toMatchObject({ value: 'v', userId: 'writer' });
    expect(userIds(ofRoom(alice, 'presence', 'mr-two')[0]!)).toEqual(['alice', 'writer']);
    expect(
      userIds(await writer.next((m) => m.type === 'presence' && usersOf(m).length === 2)),
    ).toEqual(['alice', 'writer']);

    // Joining a room again is a no-op: still one entry, acked.
    expect(await joinRoom(alice, 'mr-two')).toMatchObject({ type: 'ack' });
    expect(server.getRoomManager().get('mr-two')?.size).toBe(2);
  });

  it('routes messages with `room` to that room only; requires a room on the bare socket', async () => {
    const server = await startServer();
    const alice = await bare(server, 'alice');
    await joinRoom(alice, 'mr-a');
    await joinRoom(alice, 'mr-b');
    const inA = await join(server, 'mr-a', 'bob');
    const inB = await join(server, 'mr-b', 'carol');

    alice.send({ type: 'chat', room: 'mr-a', text: 'to a' });
    alice.send({ type: 'state:update', room: 'mr-b', key: 'k', value: 'to b' });
    alice.send({ type: 'cursor:update', room: 'mr-b', x: 1, y: 2 });
    expect(await inA.next('chat')).toMatchObject({ room: 'mr-a', text: 'to a', from: 'alice' });
    expect(await inB.next('state:update')).toMatchObject({ room: 'mr-b', key: 'k', value: 'to b' });
    expect(await inB.next('cursor:update')).toMatchObject({ room: 'mr-b' });
    expect(await alice.next((m) => m.type === 'state:update' && m.room === 'mr-b')).toMatchObject({
      key: 'k',
    });

    await sentinel(alice, inA, 'mr-a');
    await sentinel(alice, inB, 'mr-b');
    expect(inA.all('state:update')).toEqual([]);
    expect(inA.all('cursor:update')).toEqual([]);
    expect(inB.all('chat')).toEqual([]);

    // No room named, no default room: room_required, for app and built-in messages alike.
    for (const message of [
      { type: 'chat', text: 'where?' },
      { type: 'state:update', key: 'k', value: 1 },
      { type: 'cursor:update', x: 1, y: 1 },
      { type: 'presence:update', isIdle: true },
    ]) {
      expect(await alice.request(message), message.type).toMatchObject({
        type: 'error',
        code: 'room_required',
      });
    }
    // A room not joined: not_in_room, naming the room.
    for (const message of [
      { type: 'chat', room: 'mr-c', text: 'hi' },
      { type: 'state:update', room: 'mr-c', key: 'k', value: 1 },
    ]) {
      expect(await alice.request(message), message.type).toMatchObject({
        type: 'error',
        code: 'not_in_room',
        room: 'mr-c',
      });
    }
    expect(server.getRoomManager().get('mr-c')).toBeUndefined();
  });

  it('stamps relayed application messages with room/from/timestamp and never echoes them', async () => {
    const server = await startServer();
    const alice = await bare(server, 'alice');
    const bob = await bare(server, 'bob');
    await joinRoom(alice, 'mr-relay');
    await joinRoom(alice, 'mr-other');
    await joinRoom(bob, 'mr-relay');
    const carol = await join(server, 'mr-other', 'carol');

    const before = Date.now();
    alice.send({
      type: 'chat',
      room: 'mr-relay',
      text: 'hi',
      from: 'mallory',
      timestamp: 1,
      ref: 'x',
    });
    const got = await bob.next('chat');
    expect(got).toMatchObject({ type: 'chat', room: 'mr-relay', text: 'hi', from: 'alice' });
    expect(got.ref).toBeUndefined();
    expect(got.timestamp as number).toBeGreaterThanOrEqual(before);
    expect(got.timestamp as number).toBeLessThanOrEqual(Date.now());

    await sentinel(bob, alice, 'mr-relay');
    await sentinel(alice, carol, 'mr-other');
    expect(alice.all('chat')).toEqual([]);
    expect(carol.all('chat')).toEqual([]);
  });

  it('room:leave acks, updates the others presence, and refuses a room not joined', async () => {
    const server = await startServer();
    const alice = await bare(server, 'alice');
    const bob = await join(server, 'mr-leave', 'bob');
    await joinRoom(alice, 'mr-leave');
    await bob.next((m) => m.type === 'presence' && usersOf(m).length === 2);

    const manager = server.getRoomManager();
    expect(manager.isInRoom('mr-leave', 'alice')).toBe(true);
    expect(manager.getRooms('alice')).toEqual(['mr-leave']);
    expect(manager.getUsers('mr-leave').sort()).toEqual(['alice', 'bob']);

    expect(await alice.request({ type: 'room:leave', room: 'mr-leave' })).toMatchObject({
      type: 'ack',
      room: 'mr-leave',
    });
    expect(manager.isInRoom('mr-leave', 'alice')).toBe(false);
    expect(manager.getRooms('alice')).toEqual([]);
    expect(manager.getUsers('mr-leave')).toEqual(['bob']);
    expect(
      userIds(await bob.next((m) => m.type === 'presence' && usersOf(m).length === 1)),
    ).toEqual(['bob']);
    // After leaving, the room is gone for this socket.
    expect(await alice.request({ type: 'chat', room: 'mr-leave' })).toMatchObject({
      code: 'not_in_room',
    });
    expect(await alice.request({ type: 'room:leave', room: 'mr-leave' })).toMatchObject({
      type: 'error',
      code: 'not_in_room',
    });
    expect(await alice.request({ type: 'room:leave', room: 'never-joined' })).toMatchObject({
      type: 'error',
      code: 'not_in_room',
    });
    // The socket stays usable: leaving is not closing.
    expect(alice.closeCode).toBeNull();
    expect(await joinRoom(alice, 'mr-leave')).toMatchObject({ type: 'ack' });
  });

  it('room:list answers with the rooms this connection is in', async () => {
    const server = await startServer();
    const alice = await bare(server, 'alice');
    expect(await alice.request({ type: 'room:list' })).toMatchObject({
      type: 'room:list',
      rooms: [],
    });
    await joinRoom(alice, 'mr-l1');
    await joinRoom(alice, 'mr-l2');
    const list = await alice.request({ type: 'room:list' });
    expect(list.type).toBe('room:list');
    expect(typeof list.ref).toBe('string');
    expect([...(list.rooms as string[])].sort()).toEqual(['mr-l1', 'mr-l2']);
    await alice.request({ type: 'room:leave', room: 'mr-l1' });
    expect((await alice.request({ type: 'room:list' })).rooms).toEqual(['mr-l2']);

    const onPath = await join(server, 'mr-path', 'bob');
    await joinRoom(onPath, 'mr-l2');
    expect([...((await onPath.request({ type: 'room:list' })).rooms as string[])].sort()).toEqual([
      'mr-l2',
      'mr-path',
    ]);
  });

  it('uses the path room as the default for messages without `room`', async () => {
    const server = await startServer();
    const alice = await join(server, 'mr-default', 'alice');
    const bob = await join(server, 'mr-default', 'bob');
    const carol = await join(server, 'mr-extra', 'carol');
    await joinRoom(alice, 'mr-extra');

    alice.send({ type: 'chat', text: 'default' });
    expect(await bob.next('chat')).toMatchObject({ room: 'mr-default', text: 'default' });
    alice.send({ type: 'chat', room: 'mr-extra', text: 'extra' });
    expect(await carol.next('chat')).toMatchObject({ room: 'mr-extra', text: 'extra' });
    await sentinel(alice, bob);
    expect(bob.all('chat').map((m) => m.text)).toEqual(['default']);
    expect(carol.all('chat').map((m) => m.text)).toEqual(['extra']);

    // Leaving the path room leaves no default: messages without `room` now need one.
    await alice.request({ type: 'room:leave', room: 'mr-default' });
    expect(await alice.request({ type: 'chat', text: 'x' })).toMatchObject({
      code: 'room_required',
    });
  });

  it('refuses room:join past limits.maxRoomsPerConnection with too_many_rooms', async () => {
    const server = await startServer({ limits: { maxRoomsPerConnection: 2 } });
    const alice = await bare(server, 'alice');
    expect(await joinRoom(alice, 'mr-max-1')).toMatchObject({ type: 'ack' });
    expect(await joinRoom(alice, 'mr-max-2')).toMatchObject({ type: 'ack' });
    expect(await joinRoom(alice, 'mr-max-3')).toMatchObject({
      type: 'error',
      code: 'too_many_rooms',
    });
    expect(server.getRoomManager().get('mr-max-3')).toBeUndefined();
    expect(ofRoom(alice, 'state:init', 'mr-max-3')).toEqual([]);
    // Leaving one frees a slot.
    await alice.request({ type: 'room:leave', room: 'mr-max-1' });
    expect(await joinRoom(alice, 'mr-max-3')).toMatchObject({ type: 'ack' });
  });

  it('refuses room:join of a full room (roomConfig.maxConnections) with room_full', async () => {
    const server = await startServer({ roomConfig: { maxConnections: 2 } });
    await join(server, 'mr-full', 'bob');
    const carol = await bare(server, 'carol');
    expect(await joinRoom(carol, 'mr-full')).toMatchObject({ type: 'ack' });
    const alice = await bare(server, 'alice');
    expect(await joinRoom(alice, 'mr-full')).toMatchObject({
      type: 'error',
      code: 'room_full',
    });
    expect(server.getRoomManager().get('mr-full')?.size).toBe(2);
    expect(ofRoom(alice, 'presence', 'mr-full')).toEqual([]);
    // Still connected and able to join other rooms.
    expect(await joinRoom(alice, 'mr-roomy')).toMatchObject({ type: 'ack' });
    // A seat frees when someone leaves.
    await carol.request({ type: 'room:leave', room: 'mr-full' });
    expect(await joinRoom(alice, 'mr-full')).toMatchObject({ type: 'ack' });
  });

  it('rejects an invalid room id in room:join (invalid_room_id) and a missing one (invalid_message)', async () => {
    const server = await startServer();
    const alice = await bare(server, 'alice');
    for (const room of ['-starts-with-dash', 'has space', 'a/b', '', 'x'.repeat(129), 42, null]) {
      expect(await joinRoom(alice, room as string), JSON.stringify(room)).toMatchObject({
        type: 'error',
        code: 'invalid_room_id',
      });
    }
    expect(await alice.request({ type: 'room:join' })).toMatchObject({
      type: 'error',
      code: 'invalid_message',
    });
    expect(await alice.request({ type: 'room:join', room: 'ok', extra: 1 })).toMatchObject({
      type: 'error',
      code: 'invalid_message',
    });
    expect(server.getRoomManager().roomCount).toBe(0);
    expect((await alice.request({ type: 'room:list' })).rooms).toEqual([]);
  });
});
