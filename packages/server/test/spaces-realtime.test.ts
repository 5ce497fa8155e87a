import { expect, it } from 'vitest';
import { connect, type Received, upgradeStatus, wsUrl } from './helpers.js';
import {
  aliceAndBob,
  enter,
  joinSpace,
  nextMessage,
  onBothDatabases,
  signedIn,
  startSpaces,
  tokenFor,
} from './spaces-ws-helpers.js';

/**
 * The Spaces events over the WebSocket: a Spaces room is joined with the core `room:join`, which
 * takes a seat and answers `room:joined`; messages are stored before anyone hears them; refusals
 * are `room:error`.
 */

const alice = { id: 'alice', displayName: 'Alice' };

onBothDatabases('Spaces over the WebSocket', (open) => {
  it('room:join of a Spaces room answers room:joined and announces the newcomer', async () => {
    const { server, hub } = await startSpaces(open);
    const room = await hub.createRoom(alice, { name: 'Lounge', maxParticipants: 5 });
    const a = await signedIn(server, 'alice', 'Alice');
    const joined = await enter(a, room.id);
    expect(joined).toMatchObject({
      room: room.id,
      space: { id: room.id, roomCode: room.roomCode, name: 'Lounge', hostUserId: 'alice' },
      participants: [{ userId: 'alice', displayName: 'Alice', isOnline: true, isHost: true }],
      state: { currentMode: 'default', hostUserId: 'alice', conversationActive: false, values: {} },
    });
    const history = joined.history as { messages: Received[]; nextBefore: number | null };
    expect(history.messages.map((m) => m.content)).toEqual(['Alice joined the room']);
    expect(history.messages[0]).toMatchObject({ messageType: 'system', userId: null });

    const b = await signedIn(server, 'bob', 'Bob');
    const bobJoined = await joinSpace(b, room.id, { displayName: 'Bobby' });
    expect(bobJoined.type).toBe('room:joined');
    const event = await a.next('room:participant-joined');
    expect(event).toMatchObject({
      room: room.id,
      participant: { userId: 'bob', displayName: 'Bobby', isOnline: true, isHost: false },
    });
    expect((await nextMessage(a)).content).toBe('Bobby joined the room');
    // The joiner sees its own join in its history, not as a second event.
    const bobHistory = bobJoined.history as { messages: Received[] };
    expect(bobHistory.messages.map((m) => m.content)).toEqual([
      'Alice joined the room',
      'Bobby joined the room',
    ]);
    // A core feature works in the same room: presence lists both.
    expect(server.getRoomManager().getUsers(room.id).sort()).toEqual(['alice', 'bob']);
  });

  it('needs a signed-in user: query identities get room:error unauthorized until room:authenticate', async () => {
    const { server, hub } = await startSpaces(open);
    const room = await hub.createRoom(alice, { name: 'R' });
    const guest = await connect(server, '/rooms', 'userId=alice');
    const refused = await joinSpace(guest, room.id);
    expect(refused).toMatchObject({ type: 'room:error', code: 'unauthorized', room: room.id });

    const bad = await guest.request({ type: 'room:authenticate', token: 'not-a-jwt' });
    expect(bad).toMatchObject({ type: 'room:error', code: 'unauthorized' });
    const authed = await guest.request({
      type: 'room:authenticate',
      token: await tokenFor('carol', 'Carol'),
    });
    expect(authed).toMatchObject({
      type: 'room:authenticated',
      user: { id: 'carol', displayName: 'Carol', guest: false },
    });
    expect((await joinSpace(guest, room.id)).type).toBe('room:joined');
    // Signed in as carol: signing in as someone else is refused.
    const other = await guest.request({
      type: 'room:authenticate',
      token: await tokenFor('dave'),
    });
    expect(other).toMatchObject({ type: 'room:error', code: 'forbidden' });
  });

  it('refuses a bad token at the upgrade (401), and a Spaces room on the path (400)', async () => {
    const { server, hub } = await startSpaces(open);
    const room = await hub.createRoom(alice, { name: 'R' });
    expect(await upgradeStatus(wsUrl(server, '/rooms', 'token=garbage'))).toMatchObject({
      status: 401,
    });
    const token = await tokenFor('alice');
    const onPath = await upgradeStatus(wsUrl(server, `/rooms/${room.id}`, `token=${token}`));
    expect(onPath.status).toBe(400);
    expect(onPath.body).toContain('is a Spaces room');
    const bearer = await upgradeStatus(wsUrl(server, '/rooms', ''), {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(bearer.status).toBe(101);
  });

  it('room:join of an unknown UUID is an ordinary room; errors name the room for Spaces rooms', async () => {
    const { server, hub } = await startSpaces(open);
    const a = await signedIn(server, 'alice');
    const plain = await a.request({
      type: 'room:join',
      room: '00000000-0000-4000-8000-000000000000',
    });
    expect(plain.type).toBe('ack');
    const room = await hub.createRoom(alice, { name: 'R' });
    await hub.deleteRoom(alice, room.id);
    // Deleted: not a Spaces room any more, so an ordinary join.
    expect((await a.request({ type: 'room:join', room: room.id })).type).toBe('ack');
  });

  it('room:message is stored before it is broadcast, to every member including the sender', async () => {
    const { hub, room, a, b } = await aliceAndBob(open);
    a.send({
      type: 'room:message',
      room: room.id,
      messageType: 'user_text',
      content: 'hello',
      metadata: { lang: 'en' },
    });
    const got = await nextMessage(b, (m) => m.messageType === 'user_text');
    expect(got).toMatchObject({ userId: 'alice', content: 'hello', metadata: { lang: 'en' } });
    // Already in the store when it arrived.
    const page = await hub.messages({ id: 'bob', displayName: 'Bob' }, room.id, {});
    expect(page.messages.map((m) => m.id)).toContain(got.id);
    expect((await nextMessage(a, (m) => m.messageType === 'user_text')).id).toBe(got.id);
    const voice = await a.request({
      type: 'room:message',
      room: room.id,
      messageType: 'user_voice',
      content: 'transcript',
    });
    expect(voice.type).toBe('ack');
  });

  it('refuses bad Spaces messages with room:error naming the field; the connection stays usable', async () => {
    const { server, hub } = await startSpaces(open);
    const room = await hub.createRoom(alice, { name: 'R' });
    const a = await signedIn(server, 'alice');
    await enter(a, room.id);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ messageType: 'system', content: 'x' }, 'invalid_message'],
      [{ messageType: 'ai_response', content: 'x' }, 'invalid_message'],
      [{ messageType: 'user_text', content: '' }, 'invalid_message'],
      [{ messageType: 'user_text', content: 'x'.repeat(4001) }, 'invalid_message'],
      [{ messageType: 'user_text', content: '   ' }, 'invalid_input'],
      [{ messageType: 'user_text', content: 'x', extra: 1 }, 'invalid_message'],
    ];
    for (const [fields, code] of cases) {
      const answer = await a.request({ type: 'room:message', room: room.id, ...fields });
      expect(answer, JSON.stringify(fields)).toMatchObject({ type: 'room:error', code });
    }
    // Not in the room, and a room that is not a Spaces room:
    const outside = await a.request({
      type: 'room:message',
      room: 'elsewhere',
      messageType: 'user_text',
      content: 'x',
    });
    expect(outside).toMatchObject({ type: 'room:error', code: 'not_in_room' });
    await a.request({ type: 'room:join', room: 'plain-room' });
    const plain = await a.request({
      type: 'room:message',
      room: 'plain-room',
      messageType: 'user_text',
      content: 'x',
    });
    expect(plain).toMatchObject({ type: 'room:error', code: 'unsupported' });
    const ok = await a.request({
      type: 'room:message',
      room: room.id,
      messageType: 'user_text',
      content: 'still fine',
    });
    expect(ok.type).toBe('ack');
  });

  it('room:state-update: the host changes state, every member hears room:state-updated; others are refused', async () => {
    const { room, a, b } = await aliceAndBob(open);
    const answer = await a.request({
      type: 'room:state-update',
      room: room.id,
      currentMode: 'philosopher',
      state: { topic: 'time' },
    });
    expect(answer.type).toBe('ack');
    expect(await b.next('room:state-updated')).toMatchObject({
      room: room.id,
      userId: 'alice',
      state: { currentMode: 'philosopher', values: { topic: 'time' } },
    });
    const refused = await b.request({ type: 'room:state-update', room: room.id, currentMode: 'x' });
    expect(refused).toMatchObject({ type: 'room:error', code: 'forbidden' });
    const empty = await a.request({ type: 'room:state-update', room: room.id });
    expect(empty).toMatchObject({ type: 'room:error', code: 'invalid_input' });
  });

  it('room:voice-start/stop tell every member and flip conversationActive', async () => {
    const { hub, room, a, b } = await aliceAndBob(open);
    expect((await b.request({ type: 'room:voice-start', room: room.id })).type).toBe('ack');
    expect(await a.next('room:voice-started')).toMatchObject({ userId: 'bob', displayName: 'Bob' });
    expect(await a.next('room:state-updated')).toMatchObject({
      state: { conversationActive: true },
    });
    expect((await hub.getRoom(alice, room.id)).state).toMatchObject({ conversationActive: true });
    await a.request({ type: 'room:voice-stop', room: room.id });
    expect(await b.next('room:voice-stopped')).toMatchObject({ userId: 'alice' });
  });

  it('room:history pages back through the messages', async () => {
    const { server, hub } = await startSpaces(open, {
      spaces: { historyLimit: 3, cleanup: false },
    });
    const room = await hub.createRoom(alice, { name: 'R' });
    const a = await signedIn(server, 'alice', 'Alice');
    await enter(a, room.id);
    for (let i = 1; i <= 7; i++) {
      await a.request({
        type: 'room:message',
        room: room.id,
        messageType: 'user_text',
        content: `m${i}`,
      });
    }
    const b = await signedIn(server, 'bob', 'Bob');
    const joined = await enter(b, room.id);
    const history = joined.history as { messages: Received[]; nextBefore: number };
    expect(history.messages.map((m) => m.content)).toEqual(['m6', 'm7', 'Bob joined the room']);
    const contents: unknown[] = [];
    let before: number | null = history.nextBefore;
    while (before !== null) {
      const page = await b.request({ type: 'room:history', room: room.id, before, limit: 2 });
      expect(page.type).toBe('room:messages-history');
      contents.unshift(...(page.messages as Received[]).map((m) => m.content));
      before = page.nextBefore as number | null;
    }
    expect(contents).toEqual(['Alice joined the room', 'm1', 'm2', 'm3', 'm4', 'm5']);
    const bad = await b.request({ type: 'room:history', room: room.id, limit: 101 });
    expect(bad).toMatchObject({ type: 'room:error', code: 'invalid_message' });
  });

  it('room:leave answers room:left and gives the seat up; the others hear it', async () => {
    const { hub, room, a, b } = await aliceAndBob(open);
    const left = await b.request({ type: 'room:leave', room: room.id });
    expect(left).toMatchObject({ type: 'room:left', room: room.id, reason: 'left' });
    expect(await a.next('room:participant-left')).toMatchObject({
      userId: 'bob',
      displayName: 'Bob',
      reason: 'left',
    });
    expect((await nextMessage(a, (m) => m.messageType === 'system')).content).toBe('Bob left');
    const seats = await hub.participants(alice, room.id);
    expect(seats.map((p) => p.userId)).toEqual(['alice']);
  });

  it('a disconnect marks the seat offline once the last tab of the user is gone', async () => {
    const { server, hub } = await startSpaces(open);
    const room = await hub.createRoom(alice, { name: 'R' });
    const a = await signedIn(server, 'alice', 'Alice');
    const b1 = await signedIn(server, 'bob', 'Bob');
    const b2 = await signedIn(server, 'bob', 'Bob');
    await enter(a, room.id);
    await enter(b1, room.id);
    await a.next('room:participant-joined');
    await enter(b2, room.id);
    await b1.close();
    b2.send({ type: 'room:presence-update', room: room.id, ref: 'hb' });
    await b2.next((m) => m.ref === 'hb');
    // Still online through the second tab: nothing was announced.
    expect(a.all('room:participant-left')).toEqual([]);
    expect(a.all('room:participant-joined')).toHaveLength(1);
    await b2.close();
    expect(await a.next('room:participant-left')).toMatchObject({
      userId: 'bob',
      reason: 'disconnected',
    });
    const seat = (await hub.participants(alice, room.id)).find((p) => p.userId === 'bob');
    expect(seat).toMatchObject({ isOnline: false });
    // The heartbeat brings a seat back online and moves last_seen on.
    const b3 = await signedIn(server, 'bob', 'Bob');
    await enter(b3, room.id);
    const before = (await hub.participants(alice, room.id)).find((p) => p.userId === 'bob')!;
    await expect
      .poll(async () => {
        await b3.request({ type: 'room:presence-update', room: room.id });
        const now = (await hub.participants(alice, room.id)).find((p) => p.userId === 'bob')!;
        return Date.parse(now.lastSeen) > Date.parse(before.lastSeen) && now.isOnline;
      })
      .toBe(true);
  });

  it('REST effects reach live members: state via the hub, deletion empties the room', async () => {
    const { server, hub, room, a, b } = await aliceAndBob(open);
    await hub.updateState(alice, room.id, { currentMode: 'calm' });
    expect(await b.next('room:state-updated')).toMatchObject({ state: { currentMode: 'calm' } });
    await hub.leave({ id: 'bob', displayName: 'bob' }, room.id);
    expect(await b.next('room:left')).toMatchObject({ room: room.id, reason: 'left' });
    expect(await a.next('room:participant-left')).toMatchObject({ userId: 'bob', reason: 'left' });
    await hub.deleteRoom(alice, room.id);
    expect(await a.next('room:left')).toMatchObject({ room: room.id, reason: 'room removed' });
    expect(server.getRoomManager().get(room.id)).toBeUndefined();
  });
});

onBothDatabases('Spaces seats', (open) => {
  it('the host always gets a seat in its own room, even when it is full', async () => {
    const { server, hub } = await startSpaces(open);
    const room = await hub.createRoom(alice, { name: 'R', maxParticipants: 1 });
    const b = await signedIn(server, 'bob');
    await enter(b, room.id);
    const a = await signedIn(server, 'alice');
    await enter(a, room.id);
    expect((await hub.participants(alice, room.id)).map((p) => p.userId).sort()).toEqual([
      'alice',
      'bob',
    ]);
    const c = await signedIn(server, 'carol');
    expect(await joinSpace(c, room.id)).toMatchObject({ type: 'room:error', code: 'room_full' });
  });

  it('a core join refused after the seat was taken gives the seat back', async () => {
    const { server, hub } = await startSpaces(open, { limits: { maxRoomsPerConnection: 1 } });
    const room = await hub.createRoom(alice, { name: 'R', maxParticipants: 2 });
    const b = await signedIn(server, 'bob');
    await b.request({ type: 'room:join', room: 'elsewhere' });
    expect(await joinSpace(b, room.id)).toMatchObject({
      type: 'room:error',
      code: 'too_many_rooms',
    });
    await expect
      .poll(async () => (await hub.service.seats.snapshot(room.id)).participants.length)
      .toBe(0);
  });

  it('connected users keep their seats fresh; a seat without heartbeat shows offline', async () => {
    const { server, hub, store } = await startSpaces(open);
    const room = await hub.createRoom(alice, { name: 'R' });
    const a = await signedIn(server, 'alice');
    await enter(a, room.id);
    // As if the node holding alice had crashed long ago: the seat's flag says online, but stale.
    await store.db.updateTable('room_participants').set({ last_seen: 1 }).execute();
    expect((await hub.participants(alice, room.id))[0]).toMatchObject({ isOnline: false });
    hub.live.touchSeats();
    await expect.poll(async () => (await hub.participants(alice, room.id))[0]?.isOnline).toBe(true);
  });

  it('postServerMessage stores and delivers a system or ai_response message', async () => {
    const { server, hub } = await startSpaces(open);
    const room = await hub.createRoom(alice, { name: 'R' });
    const a = await signedIn(server, 'alice');
    await enter(a, room.id);
    const posted = await hub.postServerMessage(room.id, 'Welcome!', {
      messageType: 'ai_response',
      metadata: { model: 'none' },
    });
    expect(await nextMessage(a, (m) => m.id === posted.id)).toMatchObject({
      messageType: 'ai_response',
      content: 'Welcome!',
      metadata: { model: 'none' },
    });
    await expect(
      hub.postServerMessage('00000000-0000-4000-8000-000000000000', 'x'),
    ).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('a signed-in connection cannot switch to another user', async () => {
    const { server } = await startSpaces(open);
    const a = await signedIn(server, 'alice');
    const answer = await a.request({ type: 'room:authenticate', token: await tokenFor('mallory') });
    expect(answer).toMatchObject({ type: 'room:error', code: 'forbidden' });
    const same = await a.request({ type: 'room:authenticate', token: await tokenFor('alice') });
    expect(same).toMatchObject({ type: 'room:authenticated', user: { id: 'alice' } });
  });
});
