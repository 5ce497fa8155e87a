import { expect, it } from 'vitest';
import {
  API_KEY,
  call,
  createRoom as create,
  describeBackends,
  errorOf,
  type OpenStore,
  type Room,
  startSpaces,
} from './spaces-rest-helpers.js';

/**
 * The Spaces REST routes doing their job, over real HTTP against a real server and store (SQLite
 * and PostgreSQL): every route's answer, paging through messages, and the routes sharing paths
 * with the API-key routes of live rooms. Who may do what: spaces-rest-access.
 */

const CODE = /^[A-HJ-NP-Z2-9]{6}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function suite(open: OpenStore): void {
  it('create, then look the room up by code and by id, and list it', async () => {
    const spaces = await startSpaces(open);
    const created = await spaces.as('alice', 'POST', '/api/rooms/create', {
      body: { name: '  Lounge  ', maxParticipants: 4 },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ success: true, room: expect.any(Object) });
    const room = created.body.room as Room;
    expect(room).toMatchObject({
      id: expect.stringMatching(UUID),
      roomCode: expect.stringMatching(CODE),
      name: 'Lounge',
      maxParticipants: 4,
      hostUserId: 'alice',
      currentMode: 'default',
      isActive: true,
      state: {},
      createdAt: expect.stringMatching(ISO),
      lastActivity: expect.stringMatching(ISO),
      joinLink: `/spaces/${room.roomCode}`,
    });

    // Anyone signed in finds it by code (case does not matter), with who is there.
    const byCode = await spaces.as('bob', 'GET', `/api/rooms/code/${room.roomCode.toLowerCase()}`);
    expect(byCode.status).toBe(200);
    expect(byCode.body).toEqual({
      success: true,
      room: { ...room, participants: [], participantCount: 0 },
    });
    const byId = await spaces.as('alice', 'GET', `/api/rooms/${room.id}`);
    expect(byId).toMatchObject({ status: 200, body: byCode.body });

    const mine = await spaces.as('alice', 'GET', '/api/rooms');
    expect(mine.body).toEqual({ success: true, rooms: [expect.objectContaining({ id: room.id })] });
    expect((await spaces.as('bob', 'GET', '/api/rooms')).body).toEqual({
      success: true,
      rooms: [],
    });
    // The default seats when maxParticipants is left out.
    expect((await create(spaces, { name: 'Two' })).maxParticipants).toBe(10);
  });

  it('join checks without taking a seat; participants; leave gives the seat up', async () => {
    const spaces = await startSpaces(open);
    const room = await create(spaces);
    for (const body of [undefined, { displayName: 'Bob' }, {}]) {
      const check = await spaces.as('bob', 'POST', `/api/rooms/${room.id}/join`, { body });
      expect(check.status).toBe(200);
      expect(check.body).toEqual({
        success: true,
        room: expect.objectContaining({ id: room.id, participantCount: 0 }),
        canJoin: true,
      });
    }
    // No seat taken: Bob still cannot see the room by id.
    expect((await spaces.as('bob', 'GET', `/api/rooms/${room.id}`)).status).toBe(403);

    // The seat is taken over the WebSocket (here: the service on the same store).
    await spaces.service.joinRoom('bob', room.id, 'Bobby');
    const list = await spaces.as('bob', 'GET', `/api/rooms/${room.id}/participants`);
    expect(list.status).toBe(200);
    expect(list.body).toEqual({
      success: true,
      participants: [
        {
          id: expect.any(String),
          roomId: room.id,
          userId: 'bob',
          displayName: 'Bobby',
          isOnline: true,
          isHost: false,
          joinedAt: expect.stringMatching(ISO),
          lastSeen: expect.stringMatching(ISO),
        },
      ],
    });
    const asHost = await spaces.as('alice', 'GET', `/api/rooms/${room.id}`);
    expect(asHost.body.room).toMatchObject({
      participantCount: 1,
      participants: list.body.participants,
    });
    expect((await spaces.as('bob', 'GET', '/api/rooms')).body.rooms).toEqual([
      expect.objectContaining({ id: room.id }),
    ]);

    const left = await spaces.as('bob', 'DELETE', `/api/rooms/${room.id}/leave`);
    expect(left).toMatchObject({ status: 200, body: { success: true } });
    expect(Object.keys(left.body)).toEqual(['success']);
    expect((await spaces.as('bob', 'GET', `/api/rooms/${room.id}`)).status).toBe(403);
    expect((await spaces.as('alice', 'GET', `/api/rooms/${room.id}/participants`)).body).toEqual({
      success: true,
      participants: [],
    });
    // Leaving again: no seat to give up.
    const again = await spaces.as('bob', 'DELETE', `/api/rooms/${room.id}/leave`);
    expect(again.status).toBeGreaterThanOrEqual(400);
    expect(again.status).toBeLessThan(500);
  });

  it('messages come in pages, oldest first, with nextBefore for the page before', async () => {
    const spaces = await startSpaces(open);
    const room = await create(spaces);
    await spaces.service.joinRoom('bob', room.id, 'Bob');
    const ids: number[] = [];
    for (let i = 1; i <= 7; i++) {
      const message =
        i === 4
          ? await spaces.service.insertServerMessage(room.id, 'system', 'Bob joined')
          : await spaces.service.insertMessage('bob', room.id, 'user_text', `m${i}`, { i });
      ids.push(message.id);
    }
    const path = `/api/rooms/${room.id}/messages`;
    const all = await spaces.as('alice', 'GET', path);
    expect(all.status).toBe(200);
    expect(all.body.nextBefore).toBeNull();
    const messages = all.body.messages as Array<Record<string, unknown>>;
    expect(messages.map((m) => m.id)).toEqual(ids);
    expect(messages[0]).toEqual({
      id: ids[0],
      roomId: room.id,
      userId: 'bob',
      messageType: 'user_text',
      content: 'm1',
      metadata: { i: 1 },
      createdAt: expect.stringMatching(ISO),
    });
    expect(messages[3]).toMatchObject({
      userId: null,
      messageType: 'system',
      content: 'Bob joined',
    });

    const pages: number[][] = [];
    let before: number | null | undefined;
    do {
      const query = `?limit=3${before ? `&before=${before}` : ''}`;
      const page = await spaces.as('bob', 'GET', `${path}${query}`);
      expect(page.status).toBe(200);
      pages.push((page.body.messages as Array<{ id: number }>).map((m) => m.id));
      before = page.body.nextBefore as number | null;
    } while (before !== null && pages.length < 10);
    expect(pages).toEqual([ids.slice(4), ids.slice(1, 4), ids.slice(0, 1)]);

    // A page size of 100 is fine; before past the first message is an empty last page.
    expect((await spaces.as('bob', 'GET', `${path}?limit=100`)).body.messages).toHaveLength(7);
    expect((await spaces.as('bob', 'GET', `${path}?before=${ids[0]}`)).body).toEqual({
      success: true,
      messages: [],
      nextBefore: null,
    });
  });

  it('PATCH state: the host changes the mode and merges the state', async () => {
    const spaces = await startSpaces(open);
    const room = await create(spaces);
    const path = `/api/rooms/${room.id}/state`;
    const first = await spaces.as('alice', 'PATCH', path, {
      body: { currentMode: 'focus', state: { topic: 'maps', round: 1 } },
    });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      success: true,
      room: expect.objectContaining({
        id: room.id,
        currentMode: 'focus',
        state: { topic: 'maps', round: 1 },
      }),
    });
    const second = await spaces.as('alice', 'PATCH', path, {
      body: { state: { round: null, n: [1] } },
    });
    expect(second.body.room).toMatchObject({
      currentMode: 'focus',
      state: { topic: 'maps', n: [1] },
    });
    const mode = await spaces.as('alice', 'PATCH', path, { body: { currentMode: 'chat' } });
    expect(mode.body.room).toMatchObject({ currentMode: 'chat', state: { topic: 'maps', n: [1] } });
    // Everyone who may see the room sees the change.
    await spaces.service.joinRoom('bob', room.id, 'Bob');
    expect((await spaces.as('bob', 'GET', `/api/rooms/${room.id}`)).body.room).toMatchObject({
      currentMode: 'chat',
      state: { topic: 'maps', n: [1] },
    });
  });

  it('shares paths with the API-key routes of live rooms without mixing them up', async () => {
    const spaces = await startSpaces(open);
    const room = await create(spaces);
    const key = { authorization: `Bearer ${API_KEY}` };
    // GET /api/rooms/stats is the live-room route (a static path wins over /api/rooms/{roomId}).
    const stats = await call(spaces.server, 'GET', '/api/rooms/stats', { headers: key });
    expect(stats).toMatchObject({ status: 200, body: { rooms: 0, components: 0 } });
    expect(await spaces.as('alice', 'GET', '/api/rooms/stats')).toMatchObject({
      status: 403,
      body: errorOf('forbidden', 'invalid API key'),
    });
    // POST …/messages takes an API key; GET …/messages a user's token.
    const messages = `/api/rooms/${room.id}/messages`;
    const posted = await call(spaces.server, 'POST', messages, {
      headers: key,
      body: { text: 'hi' },
    });
    expect(posted).toMatchObject({ status: 200, body: { success: true, notified: 0 } });
    expect((await spaces.as('alice', 'POST', messages, { body: { text: 'hi' } })).status).toBe(403);
    expect((await spaces.as('alice', 'GET', messages)).body).toEqual({
      success: true,
      messages: [],
      nextBefore: null,
    });
    expect(await call(spaces.server, 'GET', messages, { headers: key })).toMatchObject({
      status: 401,
      body: errorOf('unauthorized', 'invalid token'),
    });
    // A room id is not a live room id: /api/rooms/{uuid}/emit still works with the key.
    const emitted = await call(spaces.server, 'POST', `/api/rooms/${room.id}/emit`, {
      headers: key,
      body: { event: 'ping' },
    });
    expect(emitted.status).toBe(200);
  });
}

describeBackends('Spaces REST rooms', suite);
