import { expect, it } from 'vitest';
import {
  describeBackends,
  errorOf,
  type OpenStore,
  type SpacesSetup,
  startSpaces,
} from './spaces-rest-helpers.js';

/**
 * What the Spaces routes refuse, field by field (400), what they cannot find (404), and the
 * shape of every error. Random requests: spaces-rest-fuzz.
 */

const UNKNOWN = '00000000-0000-4000-8000-000000000000';

/** Asserts a 400 `bad_request` whose message is `message`. */
async function expect400(
  spaces: SpacesSetup,
  method: string,
  path: string,
  body: unknown,
  message: string | RegExp,
): Promise<void> {
  const answer = await spaces.as('alice', method, path, { body });
  expect(answer, `${method} ${path} ${JSON.stringify(body)}`).toMatchObject({
    status: 400,
    body: errorOf('bad_request', message),
  });
}

function suite(open: OpenStore): void {
  it('create: every field checked', async () => {
    const spaces = await startSpaces(open);
    const create = (body: unknown, message: string | RegExp) =>
      expect400(spaces, 'POST', '/api/rooms/create', body, message);
    await create({}, 'body/name is required');
    await create({ name: '' }, 'body/name must NOT have fewer than 1 characters');
    await create({ name: '   ' }, 'name must be 1 to 100 characters');
    await create({ name: 'x'.repeat(101) }, 'body/name must NOT have more than 100 characters');
    await create({ name: 5 }, 'body/name must be string');
    await create({ name: 'x', maxParticipants: 0 }, 'body/maxParticipants must be >= 1');
    await create({ name: 'x', maxParticipants: 51 }, 'body/maxParticipants must be <= 50');
    await create({ name: 'x', maxParticipants: 1.5 }, 'body/maxParticipants must be integer');
    await create({ name: 'x', maxParticipants: '10' }, 'body/maxParticipants must be integer');
    await create({ name: 'x', host: 'bob' }, 'body/host is not an allowed field');
    await create(['x'], 'body must be object');
    await create('{"name":', /^body is not valid JSON/);
    await create('{"name":"x","__proto__":{"a":1}}', /^body is not valid JSON/);
    const empty = await spaces.as('alice', 'POST', '/api/rooms/create');
    expect(empty).toMatchObject({
      status: 400,
      body: errorOf('bad_request', 'body must be object'),
    });
    const text = await spaces.as('alice', 'POST', '/api/rooms/create', {
      body: '{"name":"x"}',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text).toMatchObject({ status: 415, body: errorOf('unsupported_media_type') });
    const big = await spaces.as('alice', 'POST', '/api/rooms/create', {
      body: { name: 'x'.repeat(70_000) },
    });
    expect(big).toMatchObject({ status: 413, body: errorOf('payload_too_large') });
    expect(await spaces.service.listUserRooms('alice')).toEqual([]);
  });

  it('room codes and ids in the path', async () => {
    const spaces = await startSpaces(open);
    for (const code of ['ABCDE', 'ABCDEFG', 'ABC-EF', '%20ABCDE']) {
      await expect400(
        spaces,
        'GET',
        `/api/rooms/code/${code}`,
        undefined,
        'params/roomCode must be a 6-character room code (letters and digits)',
      );
    }
    // Six characters, but I, O, 0 and 1 are never in a code.
    await expect400(spaces, 'GET', '/api/rooms/code/ABCDE1', undefined, 'not a room code');
    expect(await spaces.as('alice', 'GET', '/api/rooms/code/ABCDEF')).toMatchObject({
      status: 404,
      body: errorOf('not_found', 'no room has this code'),
    });
    const long = 'r'.repeat(257);
    for (const [method, path] of [
      ['GET', `/api/rooms/${long}`],
      ['GET', `/api/rooms/${long}/participants`],
      ['DELETE', `/api/rooms/${long}`],
      ['DELETE', `/api/rooms/${UNKNOWN}/bans/${long}`],
    ] as const) {
      await expect400(
        spaces,
        method,
        path,
        undefined,
        /^params\/(roomId|userId) must NOT have more than 256 characters$/,
      );
    }
  });

  it('unknown rooms are 404 on every route that names one', async () => {
    const spaces = await startSpaces(open);
    for (const [method, path, body] of [
      ['GET', `/api/rooms/${UNKNOWN}`],
      ['GET', '/api/rooms/not-a-uuid'],
      ['POST', `/api/rooms/${UNKNOWN}/join`],
      ['DELETE', `/api/rooms/${UNKNOWN}/leave`],
      ['GET', `/api/rooms/${UNKNOWN}/participants`],
      ['GET', `/api/rooms/${UNKNOWN}/messages`],
      ['PATCH', `/api/rooms/${UNKNOWN}/state`, { currentMode: 'x' }],
      ['DELETE', `/api/rooms/${UNKNOWN}`],
      ['POST', `/api/rooms/${UNKNOWN}/kick`, { userId: 'bob' }],
      ['DELETE', `/api/rooms/${UNKNOWN}/bans/bob`],
    ] as const) {
      const answer = await spaces.as('alice', method, path, { body });
      expect(answer, `${method} ${path}`).toMatchObject({
        status: 404,
        body: errorOf('not_found'),
      });
    }
  });

  it('join, messages, state and kick: every field checked', async () => {
    const spaces = await startSpaces(open);
    const created = await spaces.as('alice', 'POST', '/api/rooms/create', { body: { name: 'R' } });
    const id = (created.body.room as { id: string }).id;
    const join = `/api/rooms/${id}/join`;
    await expect400(
      spaces,
      'POST',
      join,
      { displayName: '' },
      'body/displayName must NOT have fewer than 1 characters',
    );
    await expect400(
      spaces,
      'POST',
      join,
      { displayName: 'x'.repeat(65) },
      'body/displayName must NOT have more than 64 characters',
    );
    await expect400(spaces, 'POST', join, { seat: 1 }, 'body/seat is not an allowed field');
    await expect400(spaces, 'POST', join, [], 'body must be object');

    const messages = `/api/rooms/${id}/messages`;
    for (const [query, message] of [
      ['limit=0', 'querystring/limit must be an integer from 1 to 100'],
      ['limit=101', 'querystring/limit must be an integer from 1 to 100'],
      ['limit=-1', 'querystring/limit must be a whole number'],
      ['limit=2.5', 'querystring/limit must be a whole number'],
      ['limit=abc', 'querystring/limit must be a whole number'],
      ['limit=', 'querystring/limit must be a whole number'],
      ['limit=1&limit=2', 'querystring/limit must be string'],
      ['before=0', 'querystring/before must be a message id (a positive integer)'],
      ['before=99999999999999999', 'querystring/before must be a whole number'],
      ['before=9999999999999999', 'querystring/before must be a message id (a positive integer)'],
      ['before=x', 'querystring/before must be a whole number'],
    ] as const) {
      await expect400(spaces, 'GET', `${messages}?${query}`, undefined, message);
    }
    // Unknown query parameters (cache busters) are ignored.
    expect((await spaces.as('alice', 'GET', `${messages}?_=123`)).status).toBe(200);

    const state = `/api/rooms/${id}/state`;
    await expect400(spaces, 'PATCH', state, {}, 'nothing to update');
    await expect400(
      spaces,
      'PATCH',
      state,
      { currentMode: '' },
      'body/currentMode must NOT have fewer than 1 characters',
    );
    await expect400(
      spaces,
      'PATCH',
      state,
      { currentMode: 'x'.repeat(101) },
      'body/currentMode must NOT have more than 100 characters',
    );
    await expect400(
      spaces,
      'PATCH',
      state,
      { currentMode: '  ' },
      'currentMode must be 1 to 100 characters',
    );
    await expect400(spaces, 'PATCH', state, { state: [1] }, 'body/state must be object');
    await expect400(spaces, 'PATCH', state, { state: 'x' }, 'body/state must be object');
    await expect400(spaces, 'PATCH', state, { mode: 'x' }, 'body/mode is not an allowed field');
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = { d: deep };
    await expect400(
      spaces,
      'PATCH',
      state,
      { state: { deep } },
      'body/state nests deeper than 32 levels',
    );
    await expect400(
      spaces,
      'PATCH',
      state,
      { state: { big: 'x'.repeat(17_000) } },
      'state must be at most 16384 bytes',
    );
    expect((await spaces.as('alice', 'GET', `/api/rooms/${id}`)).body.room).toMatchObject({
      currentMode: 'default',
      state: {},
    });

    const kick = `/api/rooms/${id}/kick`;
    await expect400(spaces, 'POST', kick, {}, 'body/userId is required');
    await expect400(
      spaces,
      'POST',
      kick,
      { userId: '' },
      'body/userId must NOT have fewer than 1 characters',
    );
    await expect400(
      spaces,
      'POST',
      kick,
      { userId: 'bob', ban: 'yes' },
      'body/ban must be boolean',
    );
    await expect400(
      spaces,
      'POST',
      kick,
      { userId: 'bob', reason: 'x' },
      'body/reason is not an allowed field',
    );
    await expect400(spaces, 'POST', kick, { userId: 'alice' }, 'the host cannot kick itself');
  });
}

describeBackends('Spaces REST errors', suite);
