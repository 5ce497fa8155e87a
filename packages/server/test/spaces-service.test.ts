import { describe, expect, it } from 'vitest';
import {
  generateRoomCode,
  normalizeRoomCode,
  openStore,
  ROOM_CODE_ALPHABET,
  SpacesError,
  type SpacesErrorCode,
  SpacesService,
  type SpacesServiceOptions,
  type Store,
} from '../src/index.js';
import { afterThisTest, describePostgres, postgresSchema, sqliteFile } from './test-databases.js';

/**
 * The Spaces service (rooms with codes, hosts, capacity, messages) against a SQLite file and the
 * PostgreSQL of TEST_DATABASE_URL (a schema per test), authorization rules included: who may see,
 * post, change, kick and delete.
 */

const CODE = /^[A-HJ-NP-Z2-9]{6}$/;

async function expectCode(promise: Promise<unknown>, code: SpacesErrorCode): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(SpacesError);
  expect((error as SpacesError).code).toBe(code);
}

describe('room codes', () => {
  it('are 6 characters of A–Z without I and O, and 2–9', () => {
    expect(ROOM_CODE_ALPHABET).toHaveLength(32);
    expect(ROOM_CODE_ALPHABET).not.toMatch(/[IO01]/);
    const codes = Array.from({ length: 2000 }, generateRoomCode);
    for (const code of codes) expect(code).toMatch(CODE);
    // 32^6 ≈ 10^9 codes: 2000 draws from a cryptographic RNG do not repeat, and use the alphabet.
    expect(new Set(codes).size).toBe(codes.length);
    expect(new Set(codes.join('')).size).toBe(32);
  });

  it('normalizes what a person typed, and refuses what cannot be a code', () => {
    expect(normalizeRoomCode(' xj9k2m ')).toBe('XJ9K2M');
    for (const bad of ['XJ9K2', 'XJ9K2MM', 'XJ9K2O', 'XJ9K21', 'XJ-K2M', 42, null]) {
      expect(normalizeRoomCode(bad)).toBeNull();
    }
  });
});

/** A database for one test: the store, and a way to open a second store on it. */
type Open = () => Promise<{ store: Store; another: () => Promise<Store> }>;

async function openSqlite(): Promise<{ store: Store; another: () => Promise<Store> }> {
  const file = sqliteFile('roomkit-spaces-');
  const another = async () => {
    const store = await openStore(file);
    afterThisTest(() => store.close());
    return store;
  };
  return { store: await another(), another };
}

async function openPostgres(): Promise<{ store: Store; another: () => Promise<Store> }> {
  const schema = await postgresSchema();
  const another = async () => {
    const store = await openStore(schema.url, { poolSize: 10 });
    afterThisTest(() => store.close());
    return store;
  };
  return { store: await another(), another };
}

function suite(open: Open): void {
  const clock = { now: 1_700_000_000_000 };

  async function setup(options: SpacesServiceOptions = {}) {
    const { store, another } = await open();
    const spaces = new SpacesService(store, { now: () => clock.now, ...options });
    const count = async (table: 'rooms' | 'room_participants' | 'room_messages') =>
      Number(
        (
          await store.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return { store, another, spaces, count };
  }

  it('createRoom: a unique code, the host, defaults; bad input refused', async () => {
    const { spaces, store } = await setup();
    const room = await spaces.createRoom('alice', '  Lounge  ');
    expect(room).toMatchObject({
      name: 'Lounge',
      hostUserId: 'alice',
      maxParticipants: 10,
      isActive: true,
      currentMode: 'default',
      state: {},
      createdAt: clock.now,
      lastActivity: clock.now,
    });
    expect(room.roomCode).toMatch(CODE);
    const other = await spaces.createRoom('alice', 'Two', 50);
    expect(other.roomCode).not.toBe(room.roomCode);
    for (const max of [0, 51, 1.5, Number.NaN]) {
      await expectCode(spaces.createRoom('alice', 'x', max), 'invalid_input');
    }
    await expectCode(spaces.createRoom('alice', '   '), 'invalid_input');
    await expectCode(spaces.createRoom('alice', 'x'.repeat(101)), 'invalid_input');
    await expectCode(spaces.createRoom('', 'x'), 'invalid_input');
    // The database holds the constraints too.
    const row = { ...(await store.db.selectFrom('rooms').selectAll().executeTakeFirstOrThrow()) };
    await expect(
      store.db
        .insertInto('rooms')
        .values({ ...row, id: 'r2', max_participants: 51 })
        .execute(),
    ).rejects.toThrow();
    await expect(
      store.db
        .insertInto('rooms')
        .values({ ...row, id: 'r3' })
        .execute(),
    ).rejects.toThrow(); // same room_code
  });

  it('createRoom retries another code when the one drawn is taken', async () => {
    const codes = ['AAAAAA', 'AAAAAA', 'AAAAAA', 'BBBBBB'];
    const { spaces } = await setup({ generateCode: () => codes.shift()! });
    expect((await spaces.createRoom('alice', 'one')).roomCode).toBe('AAAAAA');
    expect((await spaces.createRoom('bob', 'two')).roomCode).toBe('BBBBBB');
    expect(codes).toEqual([]);
  });

  it('a user hosts at most 5 active rooms (configurable), even when creating at once', async () => {
    const { spaces } = await setup();
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => spaces.createRoom('alice', `room ${i}`)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason.code).toBe('room_limit');
    }
    await expectCode(spaces.createRoom('alice', 'sixth'), 'room_limit');
    await spaces.createRoom('bob', 'not limited by alice');
    const [first] = await spaces.listUserRooms('alice');
    await spaces.deleteRoom('alice', first!.id);
    await spaces.createRoom('alice', 'fits again');

    const two = await setup({ maxActiveRoomsPerUser: 2 });
    await two.spaces.createRoom('carol', 'a');
    await two.spaces.createRoom('carol', 'b');
    await expectCode(two.spaces.createRoom('carol', 'c'), 'room_limit');
  });

  it('getRoomByCode: any signed-in user, any case; without the participant list', async () => {
    const { spaces } = await setup();
    const room = await spaces.createRoom('alice', 'Lounge');
    await spaces.joinRoom('alice', room.id, 'Alice');
    const found = await spaces.getRoomByCode('stranger', room.roomCode.toLowerCase());
    expect(found).toMatchObject({ id: room.id, participantCount: 1 });
    expect(found).not.toHaveProperty('participants');
    await expectCode(spaces.getRoomByCode('', room.roomCode), 'invalid_input');
    await expectCode(spaces.getRoomByCode('stranger', 'nope'), 'invalid_input');
    const unused = room.roomCode === 'ZZZZZZ' ? 'YYYYYY' : 'ZZZZZZ';
    await expectCode(spaces.getRoomByCode('stranger', unused), 'not_found');
  });

  it('only the host and participants see a room, its participants and its messages', async () => {
    const { spaces } = await setup();
    const room = await spaces.createRoom('alice', 'Lounge');
    await spaces.joinRoom('bob', room.id, 'Bob');
    await spaces.insertMessage('bob', room.id, 'user_text', 'hi');
    for (const user of ['alice', 'bob']) {
      expect((await spaces.getRoomById(user, room.id)).participantCount).toBe(1);
      expect((await spaces.getParticipants(user, room.id)).map((p) => p.userId)).toEqual(['bob']);
      expect((await spaces.getRoomMessages(user, room.id)).messages).toHaveLength(1);
    }
    await expectCode(spaces.getRoomById('eve', room.id), 'forbidden');
    await expectCode(spaces.getParticipants('eve', room.id), 'forbidden');
    await expectCode(spaces.getRoomMessages('eve', room.id), 'forbidden');
    await expectCode(spaces.getRoomById('eve', 'no-such-room'), 'not_found');
    expect(await spaces.leaveRoom('bob', room.id)).toBe(true);
    expect(await spaces.leaveRoom('bob', room.id)).toBe(false);
    await expectCode(spaces.getRoomMessages('bob', room.id), 'forbidden');
  });

  it('joinRoom takes a seat; joining again comes back online on the same seat', async () => {
    const { spaces } = await setup();
    const room = await spaces.createRoom('alice', 'Lounge', 2);
    const bob = await spaces.joinRoom('bob', room.id, ' Bob ');
    expect(bob).toMatchObject({
      roomId: room.id,
      userId: 'bob',
      displayName: 'Bob',
      isOnline: true,
    });
    await spaces.markOffline('bob', room.id);
    clock.now += 1000;
    const again = await spaces.joinRoom('bob', room.id, 'Robert');
    expect(again).toMatchObject({ id: bob.id, displayName: 'Robert', isOnline: true });
    expect(again.lastSeen).toBe(clock.now);
    await spaces.joinRoom('carol', room.id, 'Carol');
    await expectCode(spaces.joinRoom('dave', room.id, 'Dave'), 'room_full');
    // A seat taken offline is still taken; one given up is free.
    await spaces.markOffline('carol', room.id);
    await expectCode(spaces.joinRoom('dave', room.id, 'Dave'), 'room_full');
    await spaces.leaveRoom('carol', room.id);
    await spaces.joinRoom('dave', room.id, 'Dave');
    await expectCode(spaces.joinRoom('erin', 'no-such-room', 'Erin'), 'not_found');
    await expectCode(spaces.joinRoom('erin', room.id, ''), 'invalid_input');
    expect((await spaces.getRoomById('alice', room.id)).lastActivity).toBe(clock.now);
  });

  it('racing joins for the last seats: exactly as many win as there are seats', async () => {
    const { spaces, another, store } = await setup();
    // A second store on the same database: another process's connection(s).
    const other = new SpacesService(await another(), { now: () => clock.now });
    for (const [max, taken, racers] of [
      [2, 1, 12],
      [5, 0, 30],
    ] as const) {
      const room = await spaces.createRoom(`host${max}`, 'race', max);
      for (let i = 0; i < taken; i++) await spaces.joinRoom(`early${i}`, room.id, 'early');
      const results = await Promise.allSettled(
        Array.from({ length: racers }, (_, i) =>
          (i % 2 === 0 ? spaces : other).joinRoom(`racer${i}`, room.id, `Racer ${i}`),
        ),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(max - taken);
      for (const result of results) {
        if (result.status === 'rejected') expect(result.reason.code).toBe('room_full');
      }
      const seats = await store.db
        .selectFrom('room_participants')
        .select('user_id')
        .where('room_id', '=', room.id)
        .execute();
      expect(seats).toHaveLength(max);
    }
  });

  it('only participants post; messages update last_activity; server messages have no user', async () => {
    const { spaces } = await setup();
    const room = await spaces.createRoom('alice', 'Lounge');
    await expectCode(
      spaces.insertMessage('alice', room.id, 'user_text', 'host not seated'),
      'forbidden',
    );
    await expectCode(spaces.insertMessage('eve', room.id, 'user_text', 'stranger'), 'forbidden');
    await expectCode(spaces.insertMessage('eve', 'no-such-room', 'user_text', 'x'), 'not_found');
    await spaces.joinRoom('bob', room.id, 'Bob');
    clock.now += 5000;
    const message = await spaces.insertMessage('bob', room.id, 'user_voice', ' hello ', {
      durationMs: 1200,
    });
    expect(message).toMatchObject({
      roomId: room.id,
      userId: 'bob',
      messageType: 'user_voice',
      content: 'hello',
      metadata: { durationMs: 1200 },
      createdAt: clock.now,
    });
    expect((await spaces.getRoomById('alice', room.id)).lastActivity).toBe(clock.now);
    await expectCode(spaces.insertMessage('bob', room.id, 'system', 'fake'), 'forbidden');
    await expectCode(spaces.insertMessage('bob', room.id, 'ai_response', 'fake'), 'forbidden');
    await expectCode(
      spaces.insertMessage('bob', room.id, 'shout' as 'user_text', 'x'),
      'invalid_input',
    );
    await expectCode(spaces.insertMessage('bob', room.id, 'user_text', '  '), 'invalid_input');
    await expectCode(
      spaces.insertMessage(
        'bob',
        room.id,
        'user_text',
        'x',
        [] as unknown as Record<string, never>,
      ),
      'invalid_input',
    );
    const system = await spaces.insertServerMessage(room.id, 'system', 'Bob joined');
    const ai = await spaces.insertServerMessage(room.id, 'ai_response', 'Hi Bob', {
      model: 'echo',
    });
    expect(system).toMatchObject({ userId: null, messageType: 'system', metadata: {} });
    expect(ai).toMatchObject({ userId: null, messageType: 'ai_response' });
    expect(ai.id).toBeGreaterThan(system.id);
    await expectCode(spaces.insertServerMessage('no-such-room', 'system', 'x'), 'not_found');
  });

  it('getRoomMessages pages backwards from the newest with a before cursor', async () => {
    const { spaces } = await setup();
    const room = await spaces.createRoom('alice', 'Lounge');
    await spaces.joinRoom('bob', room.id, 'Bob');
    for (let i = 1; i <= 7; i++) await spaces.insertMessage('bob', room.id, 'user_text', `m${i}`);
    const contents = (page: { messages: Array<{ content: string }> }) =>
      page.messages.map((m) => m.content);
    const first = await spaces.getRoomMessages('alice', room.id, { limit: 3 });
    expect(contents(first)).toEqual(['m5', 'm6', 'm7']);
    const second = await spaces.getRoomMessages('alice', room.id, {
      limit: 3,
      before: first.nextBefore!,
    });
    expect(contents(second)).toEqual(['m2', 'm3', 'm4']);
    const last = await spaces.getRoomMessages('alice', room.id, {
      limit: 3,
      before: second.nextBefore!,
    });
    expect(contents(last)).toEqual(['m1']);
    expect(last.nextBefore).toBeNull();
    const all = await spaces.getRoomMessages('bob', room.id);
    expect(contents(all)).toHaveLength(7);
    expect(all.nextBefore).toBeNull();
    for (const options of [{ limit: 0 }, { limit: 101 }, { limit: 2.5 }, { before: -1 }]) {
      await expectCode(spaces.getRoomMessages('bob', room.id, options), 'invalid_input');
    }
  });

  it('only the host updates state: merged, a null removes a key', async () => {
    const { spaces } = await setup();
    const room = await spaces.createRoom('alice', 'Lounge');
    await spaces.joinRoom('bob', room.id, 'Bob');
    clock.now += 10;
    const updated = await spaces.updateRoomState('alice', room.id, {
      currentMode: 'philosopher',
      state: { conversationActive: true, topic: 'stars' },
    });
    expect(updated).toMatchObject({
      currentMode: 'philosopher',
      state: { conversationActive: true, topic: 'stars' },
      lastActivity: clock.now,
    });
    const merged = await spaces.updateRoomState('alice', room.id, { state: { topic: null, n: 1 } });
    expect(merged.state).toEqual({ conversationActive: true, n: 1 });
    await expectCode(spaces.updateRoomState('bob', room.id, { state: { n: 2 } }), 'forbidden');
    await expectCode(spaces.updateRoomState('eve', room.id, { state: { n: 2 } }), 'forbidden');
    await expectCode(spaces.updateRoomState('alice', 'no-such-room', { state: {} }), 'not_found');
    await expectCode(spaces.updateRoomState('alice', room.id, {}), 'invalid_input');
    await expectCode(
      spaces.updateRoomState('alice', room.id, { state: { big: 'x'.repeat(20_000) } }),
      'invalid_input',
    );
    expect((await spaces.getRoomById('bob', room.id)).state).toEqual({
      conversationActive: true,
      n: 1,
    });
  });

  it('only the host deletes; participants and messages go with the room', async () => {
    const { spaces, count } = await setup();
    const room = await spaces.createRoom('alice', 'Lounge');
    const kept = await spaces.createRoom('alice', 'Kept');
    for (const id of [room.id, kept.id]) {
      await spaces.joinRoom('bob', id, 'Bob');
      await spaces.insertMessage('bob', id, 'user_text', 'hi');
    }
    expect(await spaces.isHost(room.id, 'alice')).toBe(true);
    expect(await spaces.isHost(room.id, 'bob')).toBe(false);
    expect(await spaces.isHost('no-such-room', 'alice')).toBe(false);
    await expectCode(spaces.deleteRoom('bob', room.id), 'forbidden');
    await spaces.deleteRoom('alice', room.id);
    await expectCode(spaces.deleteRoom('alice', room.id), 'not_found');
    expect([
      await count('rooms'),
      await count('room_participants'),
      await count('room_messages'),
    ]).toEqual([1, 1, 1]);
  });

  it('cleanupInactiveRooms deletes rooms idle longer than the limit, and inactive ones', async () => {
    const { spaces, store, count } = await setup();
    const idle = await spaces.createRoom('alice', 'idle');
    const chatty = await spaces.createRoom('alice', 'chatty');
    const closed = await spaces.createRoom('alice', 'closed');
    await spaces.joinRoom('bob', idle.id, 'Bob');
    await spaces.joinRoom('bob', chatty.id, 'Bob');
    await spaces.insertMessage('bob', idle.id, 'user_text', 'old');
    await store.db.updateTable('rooms').set({ is_active: 0 }).where('id', '=', closed.id).execute();
    clock.now += 23 * 3600_000;
    await spaces.insertMessage('bob', chatty.id, 'user_text', 'still here');
    clock.now += 2 * 3600_000;
    expect(await spaces.cleanupInactiveRooms()).toBe(2);
    expect((await spaces.listUserRooms('alice')).map((r) => r.name)).toEqual(['chatty']);
    expect([await count('room_participants'), await count('room_messages')]).toEqual([1, 1]);
    // chatty has been idle exactly 2 h: not older than 3 h, nor than 2 h; a moment later it is.
    expect(await spaces.cleanupInactiveRooms(3 * 3600_000)).toBe(0);
    expect(await spaces.cleanupInactiveRooms(2 * 3600_000)).toBe(0);
    clock.now += 1;
    expect(await spaces.cleanupInactiveRooms(2 * 3600_000)).toBe(1);
  });

  it('startCleanup runs the cleanup on its timer until stopped', async () => {
    const { spaces } = await setup();
    await spaces.createRoom('alice', 'idle');
    clock.now += 25 * 3600_000;
    const errors: unknown[] = [];
    const stop = spaces.startCleanup({ intervalMs: 10, onError: (e) => errors.push(e) });
    afterThisTest(stop);
    await expect.poll(() => spaces.listUserRooms('alice')).toEqual([]);
    stop();
    expect(errors).toEqual([]);
  });

  it('markOffline keeps the seat; touchLastSeen is the heartbeat', async () => {
    const { spaces } = await setup();
    const a = await spaces.createRoom('alice', 'a');
    const b = await spaces.createRoom('alice', 'b');
    await spaces.joinRoom('bob', a.id, 'Bob');
    await spaces.joinRoom('bob', b.id, 'Bob');
    clock.now += 100;
    expect(await spaces.markOffline('bob', a.id)).toBe(1);
    let seats = await spaces.getParticipants('alice', a.id);
    expect(seats[0]).toMatchObject({ userId: 'bob', isOnline: false, lastSeen: clock.now });
    clock.now += 100;
    expect(await spaces.touchLastSeen('bob', a.id)).toBe(true);
    seats = await spaces.getParticipants('alice', a.id);
    expect(seats[0]).toMatchObject({ isOnline: true, lastSeen: clock.now });
    expect(await spaces.touchLastSeen('eve', a.id)).toBe(false);
    expect(await spaces.markOffline('bob')).toBe(2); // disconnect: every room
    expect((await spaces.getParticipants('alice', b.id))[0]!.isOnline).toBe(false);
  });

  it('the host kicks, and may ban; a banned user cannot rejoin, see or post', async () => {
    const { spaces } = await setup();
    const room = await spaces.createRoom('alice', 'Lounge', 2);
    await spaces.joinRoom('bob', room.id, 'Bob');
    await spaces.joinRoom('carol', room.id, 'Carol');
    await expectCode(spaces.kickParticipant('bob', room.id, 'carol'), 'forbidden');
    await expectCode(spaces.kickParticipant('alice', room.id, 'alice'), 'invalid_input');
    await expectCode(spaces.kickParticipant('alice', 'no-such-room', 'bob'), 'not_found');
    expect(await spaces.kickParticipant('alice', room.id, 'bob')).toBe(true);
    expect(await spaces.kickParticipant('alice', room.id, 'bob')).toBe(false);
    await spaces.joinRoom('bob', room.id, 'Bob'); // a kick alone does not keep anyone out
    expect(await spaces.kickParticipant('alice', room.id, 'bob', { ban: true })).toBe(true);
    await expectCode(spaces.joinRoom('bob', room.id, 'Bob'), 'banned');
    await expectCode(spaces.getRoomById('bob', room.id), 'forbidden');
    await expectCode(spaces.insertMessage('bob', room.id, 'user_text', 'x'), 'forbidden');
    expect(await spaces.leaveRoom('bob', room.id)).toBe(false); // leaving does not lift a ban
    expect((await spaces.getParticipants('alice', room.id)).map((p) => p.userId)).toEqual([
      'carol',
    ]);
    // The banned row holds no seat; a user who never joined can be banned ahead.
    await spaces.joinRoom('dave', room.id, 'Dave');
    await spaces.kickParticipant('alice', room.id, 'erin', { ban: true });
    await spaces.leaveRoom('dave', room.id);
    await expectCode(spaces.joinRoom('erin', room.id, 'Erin'), 'banned');
    await expectCode(spaces.unbanParticipant('carol', room.id, 'bob'), 'forbidden');
    expect(await spaces.unbanParticipant('alice', room.id, 'bob')).toBe(true);
    expect(await spaces.unbanParticipant('alice', room.id, 'bob')).toBe(false);
    await spaces.joinRoom('bob', room.id, 'Bob');
  });

  it('listUserRooms: the rooms a user hosts or has a seat in, newest activity first', async () => {
    const { spaces } = await setup();
    const hosted = await spaces.createRoom('alice', 'hosted');
    clock.now += 10;
    const joined = await spaces.createRoom('bob', 'joined');
    const banned = await spaces.createRoom('bob', 'banned');
    await spaces.createRoom('bob', 'elsewhere');
    await spaces.joinRoom('alice', joined.id, 'Alice');
    await spaces.joinRoom('alice', banned.id, 'Alice');
    await spaces.kickParticipant('bob', banned.id, 'alice', { ban: true });
    const rooms = await spaces.listUserRooms('alice');
    expect(rooms.map((r) => [r.name, r.participantCount])).toEqual([
      ['joined', 1],
      ['hosted', 0],
    ]);
    expect(rooms[1]!.id).toBe(hosted.id);
    expect(await spaces.listUserRooms('nobody')).toEqual([]);
  });
}

describe('SpacesService on SQLite', () => suite(openSqlite));

describePostgres('SpacesService on PostgreSQL', () => suite(openPostgres));
