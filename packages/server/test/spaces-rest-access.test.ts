import { expect, it } from 'vitest';
import {
  createRoom as create,
  describeBackends,
  errorOf,
  type OpenStore,
  type Room,
  startSpaces,
} from './spaces-rest-helpers.js';

/**
 * Who may do what over REST (row-level rules): members see, anyone signed in finds a
 * room by code, only the host changes, kicks, bans and deletes; capacity (`room_full`), bans
 * (`banned`) and the per-user room limit (`room_limit`). SQLite and PostgreSQL.
 */

function suite(open: OpenStore): void {
  it('kick, ban and unban', async () => {
    const spaces = await startSpaces(open);
    const room = await create(spaces);
    const kick = `/api/rooms/${room.id}/kick`;
    await spaces.service.joinRoom('bob', room.id, 'Bob');
    expect((await spaces.as('alice', 'POST', kick, { body: { userId: 'bob' } })).body).toEqual({
      success: true,
      removed: true,
    });
    // Kicked, not banned: Bob may come back; kicking again removes nothing.
    expect((await spaces.as('alice', 'POST', kick, { body: { userId: 'bob' } })).body).toEqual({
      success: true,
      removed: false,
    });
    expect((await spaces.as('bob', 'POST', `/api/rooms/${room.id}/join`)).status).toBe(200);

    await spaces.service.joinRoom('carol', room.id, 'Carol');
    const banned = await spaces.as('alice', 'POST', kick, { body: { userId: 'carol', ban: true } });
    expect(banned.body).toEqual({ success: true, removed: true });
    // Someone who never joined can be banned ahead.
    const ahead = await spaces.as('alice', 'POST', kick, { body: { userId: 'dave', ban: true } });
    expect(ahead).toMatchObject({ status: 200, body: { success: true, removed: false } });
    for (const user of ['carol', 'dave']) {
      expect(await spaces.as(user, 'POST', `/api/rooms/${room.id}/join`)).toMatchObject({
        status: 403,
        body: errorOf('banned'),
      });
      // Banned users do not see the room either, but may still look it up by code.
      expect((await spaces.as(user, 'GET', `/api/rooms/${room.id}`)).status).toBe(403);
      expect((await spaces.as(user, 'GET', `/api/rooms/code/${room.roomCode}`)).status).toBe(200);
    }

    const unban = `/api/rooms/${room.id}/bans/carol`;
    expect((await spaces.as('alice', 'DELETE', unban)).body).toEqual({
      success: true,
      unbanned: true,
    });
    expect((await spaces.as('alice', 'DELETE', unban)).body).toEqual({
      success: true,
      unbanned: false,
    });
    expect((await spaces.as('carol', 'POST', `/api/rooms/${room.id}/join`)).status).toBe(200);
  });

  it('DELETE removes the room, its seats and messages', async () => {
    const spaces = await startSpaces(open);
    const room = await create(spaces);
    await spaces.service.joinRoom('bob', room.id, 'Bob');
    await spaces.service.insertMessage('bob', room.id, 'user_text', 'hi');
    const deleted = await spaces.as('alice', 'DELETE', `/api/rooms/${room.id}`);
    expect(deleted).toMatchObject({ status: 200, body: { success: true } });
    expect(Object.keys(deleted.body)).toEqual(['success']);
    for (const [user, path] of [
      ['alice', `/api/rooms/${room.id}`],
      ['bob', `/api/rooms/${room.id}/messages`],
      ['bob', `/api/rooms/code/${room.roomCode}`],
    ] as const) {
      expect(await spaces.as(user, 'GET', path)).toMatchObject({
        status: 404,
        body: errorOf('not_found'),
      });
    }
    expect((await spaces.as('alice', 'GET', '/api/rooms')).body.rooms).toEqual([]);
    expect((await spaces.as('alice', 'DELETE', `/api/rooms/${room.id}`)).status).toBe(404);
  });

  it('a full room refuses the join check (room_full); a seated user still passes', async () => {
    const spaces = await startSpaces(open);
    const room = await create(spaces, { name: 'Duo', maxParticipants: 2 });
    await spaces.service.joinRoom('bob', room.id, 'Bob');
    await spaces.service.joinRoom('carol', room.id, 'Carol');
    expect(await spaces.as('dave', 'POST', `/api/rooms/${room.id}/join`)).toMatchObject({
      status: 403,
      body: errorOf('room_full'),
    });
    expect((await spaces.as('bob', 'POST', `/api/rooms/${room.id}/join`)).status).toBe(200);
    await spaces.as('carol', 'DELETE', `/api/rooms/${room.id}/leave`);
    expect((await spaces.as('dave', 'POST', `/api/rooms/${room.id}/join`)).status).toBe(200);
  });

  it('a user hosts at most 5 active rooms: the 6th is 429 room_limit; others are unaffected', async () => {
    const spaces = await startSpaces(open);
    for (let i = 1; i <= 5; i++) await create(spaces, { name: `room ${i}` });
    const sixth = await spaces.as('alice', 'POST', '/api/rooms/create', { body: { name: 'six' } });
    expect(sixth).toMatchObject({
      status: 429,
      body: errorOf('room_limit', 'a user may host at most 5 active rooms'),
    });
    await create(spaces, { name: 'bob’s' }, 'bob');
    // Deleting one frees a place.
    const rooms = (await spaces.as('alice', 'GET', '/api/rooms')).body.rooms as Room[];
    expect(rooms).toHaveLength(5);
    await spaces.as('alice', 'DELETE', `/api/rooms/${rooms[0]!.id}`);
    await create(spaces, { name: 'six' });
  });

  it('who may do what: members see, anyone finds by code, only the host changes', async () => {
    const spaces = await startSpaces(open);
    const room = await create(spaces);
    await spaces.service.joinRoom('bob', room.id, 'Bob');
    const id = room.id;
    const forbidden = errorOf('forbidden');
    // Mallory is signed in but has no seat: nothing but the code lookup and the join check.
    for (const [method, path, body] of [
      ['GET', `/api/rooms/${id}`],
      ['GET', `/api/rooms/${id}/participants`],
      ['GET', `/api/rooms/${id}/messages`],
      ['PATCH', `/api/rooms/${id}/state`, { currentMode: 'x' }],
      ['DELETE', `/api/rooms/${id}`],
      ['POST', `/api/rooms/${id}/kick`, { userId: 'bob' }],
      ['DELETE', `/api/rooms/${id}/bans/bob`],
    ] as const) {
      const answer = await spaces.as('mallory', method, path, { body });
      expect(answer, `${method} ${path}`).toMatchObject({ status: 403, body: forbidden });
    }
    expect((await spaces.as('mallory', 'GET', `/api/rooms/code/${room.roomCode}`)).status).toBe(
      200,
    );
    expect((await spaces.as('mallory', 'POST', `/api/rooms/${id}/join`)).status).toBe(200);

    // Bob has a seat: he sees everything, changes nothing.
    for (const path of [
      `/api/rooms/${id}`,
      `/api/rooms/${id}/participants`,
      `/api/rooms/${id}/messages`,
    ]) {
      expect((await spaces.as('bob', 'GET', path)).status, path).toBe(200);
    }
    for (const [method, path, body] of [
      ['PATCH', `/api/rooms/${id}/state`, { currentMode: 'x' }],
      ['DELETE', `/api/rooms/${id}`],
      ['POST', `/api/rooms/${id}/kick`, { userId: 'alice' }],
      ['DELETE', `/api/rooms/${id}/bans/mallory`],
    ] as const) {
      const answer = await spaces.as('bob', method, path, { body });
      expect(answer, `${method} ${path}`).toMatchObject({
        status: 403,
        body: errorOf('forbidden', 'only the host may do this'),
      });
    }
    // The room is unchanged.
    expect((await spaces.as('alice', 'GET', `/api/rooms/${id}`)).body.room).toMatchObject({
      currentMode: 'default',
      participantCount: 1,
    });
  });
}

describeBackends('Spaces REST access rules', suite);
