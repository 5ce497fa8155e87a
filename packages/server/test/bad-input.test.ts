import { CloseCode, ErrorCode, type Ref } from '@roomkit/protocol';
import { describe, expect, it } from 'vitest';
import type { RoomServer, ServerConfig } from '../src/index.js';
import { join, type Received, startServer, type TestClient } from './helpers.js';

const ROOM = 'bad';

interface Pair {
  server: RoomServer;
  /** Sends the hostile frames. */
  alice: TestClient;
  /** The other member: must see nothing but alice's sentinels. */
  bob: TestClient;
}

let sentinels = 0;

/** Bob's next message must be alice's sentinel: nothing alice sent before it reached him. */
async function expectNothingRelayed({ alice, bob }: Pair): Promise<void> {
  const id = `sentinel-${++sentinels}`;
  alice.send({ type: 'sentinel', id });
  const next = await bob.next();
  expect(next).toMatchObject({ type: 'sentinel', id, from: 'alice', room: ROOM });
}

async function setup(config: ServerConfig = {}): Promise<Pair> {
  const server = await startServer(config);
  const alice = await join(server, ROOM, 'alice');
  const bob = await join(server, ROOM, 'bob');
  const pair = { server, alice, bob };
  // Let bob's join snapshot go by, so bob's next message is whatever alice causes.
  await bob.next((m) => m.type === 'presence' && (m.users as unknown[]).length === 2);
  await bob.next('state:init');
  await bob.next('room:info');
  await expectNothingRelayed(pair);
  return pair;
}

type Frame = string | Buffer | Record<string, unknown>;

function sendFrame(client: TestClient, frame: Frame): void {
  if (Buffer.isBuffer(frame)) client.ws.send(frame, { binary: true });
  else client.send(frame);
}

/**
 * Sends one hostile frame and checks the whole contract: exactly one `error` with `code` (and the
 * `ref`, when one is expected), the connection still answers a valid request, and bob saw nothing.
 */
async function expectRejected(
  pair: Pair,
  frame: Frame,
  code: ErrorCode,
  ref?: Ref,
): Promise<Received> {
  const { alice } = pair;
  const start = alice.received.length;
  sendFrame(alice, frame);
  const ack = await alice.request({ type: 'heartbeat' });
  expect(ack.type).toBe('ack');
  const replies = alice.received
    .slice(start)
    .filter((m) => m.type === 'error' || (m.type === 'ack' && m.ref !== ack.ref));
  expect(replies, `replies to ${describeFrame(frame)}`).toHaveLength(1);
  const error = replies[0]!;
  expect(error, `reply to ${describeFrame(frame)}`).toMatchObject({ type: 'error', code });
  expect(typeof error.message).toBe('string');
  if (ref === undefined) expect(error).not.toHaveProperty('ref');
  else expect(error.ref).toBe(ref);
  await expectNothingRelayed(pair);
  return error;
}

function describeFrame(frame: Frame): string {
  if (Buffer.isBuffer(frame)) return `<binary ${frame.length} bytes>`;
  const text = typeof frame === 'string' ? frame : JSON.stringify(frame);
  return text.length > 120 ? `${text.slice(0, 120)}...` : text;
}

/** A JSON app message of exactly `bytes` UTF-8 bytes. */
function appMessageOfSize(bytes: number, extra: Record<string, unknown> = {}): string {
  const base = JSON.stringify({ type: 'big', ...extra, pad: '' });
  const text = JSON.stringify({ type: 'big', ...extra, pad: 'x'.repeat(bytes - base.length) });
  expect(Buffer.byteLength(text)).toBe(bytes);
  return text;
}

function nested(levels: number): unknown {
  let value: unknown = 0;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

function aliceConnection(server: RoomServer) {
  const room = server.getRoomManager().get(ROOM)!;
  return [...room.connections.values()].find((c) => c.user.userId === 'alice')!;
}

describe('bad input over a real socket', () => {
  it('invalid JSON gets invalid_json', async () => {
    const pair = await setup();
    for (const frame of [
      '',
      'hello',
      '{"type":"chat"',
      '{"type":"chat",}',
      "{'type':'chat'}",
      '{"type":"chat","ref":"r1"',
      '\u0000',
    ]) {
      await expectRejected(pair, frame, ErrorCode.InvalidJson);
    }
  });

  it('non-object JSON gets invalid_message', async () => {
    const pair = await setup();
    for (const frame of [
      '[]',
      '[{"type":"chat","ref":"r1"}]',
      '42',
      '-1.5',
      'null',
      '"chat"',
      'true',
    ]) {
      const error = await expectRejected(pair, frame, ErrorCode.InvalidMessage);
      expect(error.message).toMatch(/object/);
    }
  });

  it('a missing, empty or non-string type gets invalid_message naming "type", with the ref', async () => {
    const pair = await setup();
    const types: unknown[] = [
      undefined,
      '',
      5,
      null,
      true,
      { name: 'chat' },
      ['chat'],
      'a b',
      't'.repeat(65),
    ];
    for (const [i, type] of types.entries()) {
      const ref = `type-${i}`;
      const frame: Record<string, unknown> = { ref, text: 'hi' };
      if (type !== undefined) frame.type = type;
      const error = await expectRejected(pair, frame, ErrorCode.InvalidMessage, ref);
      expect(error.message).toContain('"type"');
    }
  });

  it('presence:update with wrong field types is refused and not applied', async () => {
    const pair = await setup();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ onlineStatus: 'busy' }, 'onlineStatus'],
      [{ onlineStatus: 1 }, 'onlineStatus'],
      [{ isIdle: 'yes' }, 'isIdle'],
      [{ location: 42 }, 'location'],
      [{ location: 'l'.repeat(257) }, 'location'],
      [{ metadata: [1, 2] }, 'metadata'],
      [{ metadata: 'm' }, 'metadata'],
      [{ avatarUrl: {} }, 'avatarUrl'],
      [{ location: '/ok', userId: 'mallory' }, 'userId'],
    ];
    for (const [i, [fields, field]] of cases.entries()) {
      const ref = i;
      const error = await expectRejected(
        pair,
        { type: 'presence:update', ref, ...fields },
        ErrorCode.InvalidMessage,
        ref,
      );
      expect(error.message).toContain('presence:update');
      expect(error.message).toContain(`"${field}"`);
    }
    const { user } = aliceConnection(pair.server);
    expect(user).toMatchObject({ userId: 'alice', onlineStatus: 'online', isIdle: false });
    expect(user.location).toBeUndefined();
    expect(user.metadata).toBeUndefined();
    expect(user.avatarUrl).toBeUndefined();
  });

  it('cursor:update with wrong field types is refused and never reaches the others', async () => {
    const pair = await setup({ cursorFlushMs: 5 });
    const carol = await join(pair.server, ROOM, 'carol');
    await pair.bob.next((m) => m.type === 'presence' && (m.users as unknown[]).length === 3);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ y: 1 }, 'x'],
      [{ x: 1 }, 'y'],
      [{ x: '1', y: 2 }, 'x'],
      [{ x: 1, y: null }, 'y'],
      [{ x: [1], y: { v: 2 } }, 'x'],
      [{ x: true, y: 2 }, 'x'],
    ];
    for (const [i, [fields, field]] of cases.entries()) {
      const ref = `cur-${i}`;
      const error = await expectRejected(
        pair,
        { type: 'cursor:update', ref, ...fields },
        ErrorCode.InvalidMessage,
        ref,
      );
      expect(error.message).toContain(`"${field}"`);
    }
    // A flush carries every pending cursor, alice's (had one been accepted) before carol's.
    carol.send({ type: 'cursor:update', x: 7, y: 8 });
    const cursor = await pair.bob.next('cursor:update');
    expect(cursor.cursor).toMatchObject({ userId: 'carol', x: 7, y: 8 });
    expect(pair.bob.all('cursor:update')).toHaveLength(1);
  });

  it('state:update with wrong field types is refused and not applied', async () => {
    const pair = await setup();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ value: 1 }, 'key'],
      [{ key: 'k' }, 'value'],
      [{ key: 5, value: 1 }, 'key'],
      [{ key: '', value: 1 }, 'key'],
      [{ key: 'k'.repeat(257), value: 1 }, 'key'],
      [{ key: 'k', value: 1, merge: 'yes' }, 'merge'],
      [{ key: 'k', value: 1, timestamp: 'yesterday' }, 'timestamp'],
      [{ key: 'k', value: 1, cid: 5 }, 'cid'],
      [{ key: 'k', value: 1, userId: 'mallory' }, 'userId'],
    ];
    for (const [i, [fields, field]] of cases.entries()) {
      const ref = `st-${i}`;
      const error = await expectRejected(
        pair,
        { type: 'state:update', ref, ...fields },
        ErrorCode.InvalidMessage,
        ref,
      );
      expect(error.message).toContain('state:update');
      expect(error.message).toContain(`"${field}"`);
    }
    // merge needs an object value: refused by the handler with the same code.
    for (const value of [1, 'text', [1, 2], null]) {
      const error = await expectRejected(
        pair,
        { type: 'state:update', ref: 'merge', key: 'k', value, merge: true },
        ErrorCode.InvalidMessage,
        'merge',
      );
      expect(error.message).toContain('"value"');
    }
    expect(pair.server.getRoomManager().get(ROOM)!.liveState.size).toBe(0);
    const dave = await join(pair.server, ROOM, 'dave');
    expect(dave.all('state:init')[0]).toMatchObject({ states: {} });
  });

  it('room:join and room:leave with wrong fields are refused and change no membership', async () => {
    const pair = await setup();
    const cases: Array<[Record<string, unknown>, ErrorCode, string]> = [
      [{ type: 'room:join' }, ErrorCode.InvalidMessage, '"room"'],
      [{ type: 'room:join', room: 'other', extra: true }, ErrorCode.InvalidMessage, '"extra"'],
      [{ type: 'room:join', room: 'other', userId: 'bob' }, ErrorCode.InvalidMessage, '"userId"'],
      [{ type: 'room:join', room: 5 }, ErrorCode.InvalidRoomId, '"room"'],
      [{ type: 'room:join', room: ['other'] }, ErrorCode.InvalidRoomId, '"room"'],
      [{ type: 'room:join', room: '' }, ErrorCode.InvalidRoomId, '"room"'],
      [{ type: 'room:leave' }, ErrorCode.InvalidMessage, '"room"'],
      [{ type: 'room:leave', room: ROOM, force: 1 }, ErrorCode.InvalidMessage, '"force"'],
      [{ type: 'room:leave', room: null }, ErrorCode.InvalidRoomId, '"room"'],
      [{ type: 'room:leave', room: { id: ROOM } }, ErrorCode.InvalidRoomId, '"room"'],
      [{ type: 'room:leave', room: 'not-joined' }, ErrorCode.NotInRoom, 'not-joined'],
    ];
    for (const [i, [frame, code, mention]] of cases.entries()) {
      const ref = `rm-${i}`;
      const error = await expectRejected(pair, { ...frame, ref }, code, ref);
      expect(error.message).toContain(mention);
    }
    const list = await pair.alice.request({ type: 'room:list' });
    expect(list).toMatchObject({ type: 'room:list', rooms: [ROOM] });
    expect(pair.server.getRoomManager().get('other')).toBeUndefined();
    expect(pair.server.getRoomManager().get(ROOM)!.size).toBe(2);
  });

  it('room:join with a bad password, maxUsers or metadata is refused, naming the field, and creates nothing', async () => {
    const pair = await setup();
    // The fields as JSON text, so `__proto__` is a real key on the wire.
    const cases: Array<[string, ErrorCode, string]> = [
      ['"password":""', ErrorCode.InvalidMessage, '"password"'],
      [`"password":"${'p'.repeat(257)}"`, ErrorCode.InvalidMessage, '"password"'],
      ['"password":1234', ErrorCode.InvalidMessage, '"password"'],
      ['"password":null', ErrorCode.InvalidMessage, '"password"'],
      ['"maxUsers":0', ErrorCode.InvalidMessage, '"maxUsers"'],
      ['"maxUsers":-3', ErrorCode.InvalidMessage, '"maxUsers"'],
      ['"maxUsers":2.5', ErrorCode.InvalidMessage, '"maxUsers"'],
      ['"maxUsers":"2"', ErrorCode.InvalidMessage, '"maxUsers"'],
      ['"maxUsers":null', ErrorCode.InvalidMessage, '"maxUsers"'],
      ['"metadata":[1,2]', ErrorCode.InvalidMessage, '"metadata"'],
      ['"metadata":"m"', ErrorCode.InvalidMessage, '"metadata"'],
      ['"metadata":null', ErrorCode.InvalidMessage, '"metadata"'],
      ['"settings":{"maxUsers":2}', ErrorCode.InvalidMessage, '"settings"'],
      ['"metadata":{"__proto__":{"admin":true}}', ErrorCode.ForbiddenKey, '__proto__'],
      ['"metadata":{"a":{"constructor":1}}', ErrorCode.ForbiddenKey, 'constructor'],
      ['"metadata":{"prototype":1}', ErrorCode.ForbiddenKey, 'prototype'],
    ];
    for (const [i, [fields, code, mention]] of cases.entries()) {
      const ref = `rj-${i}`;
      const frame = `{"type":"room:join","room":"fresh","ref":"${ref}",${fields}}`;
      const error = await expectRejected(pair, frame, code, ref);
      expect(error.message).toContain(mention);
    }
    expect(pair.server.getRoomManager().get('fresh')).toBeUndefined();
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('frames over the default maxMessageBytes (64 KiB) get message_too_large', async () => {
    const pair = await setup();
    expect(pair.alice.all('welcome')[0]).toMatchObject({ maxMessageBytes: 64 * 1024 });
    // Exactly at the limit: accepted and relayed.
    pair.alice.send(appMessageOfSize(64 * 1024, { id: 'at-limit' }));
    const relayed = await pair.bob.next('big');
    expect(relayed.id).toBe('at-limit');
    // One byte over: refused before parsing, so no ref can be read.
    const error = await expectRejected(
      pair,
      appMessageOfSize(64 * 1024 + 1, { ref: 'too-big' }),
      ErrorCode.MessageTooLarge,
    );
    expect(error.message).toContain(String(64 * 1024));
    // The limit is in bytes, not characters: 22 000 three-byte characters.
    const euros = JSON.stringify({ type: 'big', text: '€'.repeat(22_000) });
    expect(euros.length).toBeLessThan(64 * 1024);
    await expectRejected(pair, euros, ErrorCode.MessageTooLarge);
    // A frame far over the limit but under maxPayloadBytes.
    await expectRejected(pair, appMessageOfSize(512 * 1024), ErrorCode.MessageTooLarge);
  });

  it('a configured smaller maxMessageBytes is enforced and announced', async () => {
    const pair = await setup({ limits: { maxMessageBytes: 1024 } });
    expect(pair.alice.all('welcome')[0]).toMatchObject({ maxMessageBytes: 1024 });
    pair.alice.send(appMessageOfSize(1024, { id: 'at-limit' }));
    expect((await pair.bob.next('big')).id).toBe('at-limit');
    await expectRejected(pair, appMessageOfSize(1025), ErrorCode.MessageTooLarge);
    await expectRejected(
      pair,
      { type: 'state:update', key: 'k', value: 'v'.repeat(2000) },
      ErrorCode.MessageTooLarge,
    );
    expect(pair.server.getRoomManager().get(ROOM)!.liveState.size).toBe(0);
  });

  it('a frame over maxPayloadBytes closes the socket with 1009; the others carry on', async () => {
    const pair = await setup({ limits: { maxMessageBytes: 1024, maxPayloadBytes: 4096 } });
    // Between the two limits: an error, and the socket lives.
    await expectRejected(pair, appMessageOfSize(4096), ErrorCode.MessageTooLarge);
    pair.alice.send(appMessageOfSize(4097));
    const closed = await pair.alice.closed;
    expect(closed.code).toBe(CloseCode.MessageTooBig);
    expect(pair.bob.all('big')).toHaveLength(0);
    const presence = await pair.bob.next((m) => m.type === 'presence');
    expect(presence.users).toEqual([expect.objectContaining({ userId: 'bob' })]);
    expect((await pair.bob.request({ type: 'heartbeat' })).type).toBe('ack');
  });

  it('a frame over the default maxPayloadBytes (1 MiB) closes the socket with 1009', async () => {
    const pair = await setup();
    pair.alice.send(appMessageOfSize(1024 * 1024 + 1));
    expect((await pair.alice.closed).code).toBe(CloseCode.MessageTooBig);
    await pair.bob.next((m) => m.type === 'presence' && (m.users as unknown[]).length === 1);
    expect(pair.bob.all('big')).toHaveLength(0);
    expect((await pair.bob.request({ type: 'heartbeat' })).type).toBe('ack');
  });

  it('nesting deeper than maxDepth gets too_deep, with the ref', async () => {
    const pair = await setup();
    // The message is level 1, so 31 nested arrays is exactly the default 32.
    pair.alice.send({ type: 'deep', id: 'ok', v: nested(31) });
    expect((await pair.bob.next('deep')).id).toBe('ok');
    const error = await expectRejected(
      pair,
      { type: 'deep', ref: 'd1', v: nested(32) },
      ErrorCode.TooDeep,
      'd1',
    );
    expect(error.message).toContain('32');
    await expectRejected(
      pair,
      { type: 'state:update', ref: 'd2', key: 'k', value: nested(500) },
      ErrorCode.TooDeep,
      'd2',
    );
    // 30 000 levels fit in 64 KiB and must not hurt the parser or the scan.
    await expectRejected(
      pair,
      `{"type":"deep","ref":"d3","v":${'['.repeat(30_000)}${']'.repeat(30_000)}}`,
      ErrorCode.TooDeep,
      'd3',
    );
    expect(pair.server.getRoomManager().get(ROOM)!.liveState.size).toBe(0);
  });

  it('a configured maxDepth is enforced', async () => {
    const pair = await setup({ limits: { maxDepth: 4 } });
    // Levels: the message 1, v 2, a 3, b 4.
    pair.alice.send({ type: 'deep', id: 'ok', v: { a: { b: { c: 1 } } }, list: [[[1]]] });
    expect((await pair.bob.next('deep')).id).toBe('ok');
    await expectRejected(
      pair,
      { type: 'deep', ref: 4, v: { a: { b: { c: {} } } } },
      ErrorCode.TooDeep,
      4,
    );
    await expectRejected(
      pair,
      { type: 'presence:update', ref: 5, metadata: { a: { b: [[1]] } } },
      ErrorCode.TooDeep,
      5,
    );
  });

  it('__proto__, constructor and prototype keys in a state merge get forbidden_key and pollute nothing', async () => {
    const pair = await setup();
    expect(
      (await pair.alice.request({ type: 'state:update', key: 'doc', value: { a: 1 }, merge: true }))
        .type,
    ).toBe('ack');
    await pair.bob.next((m) => m.type === 'state:update' && m.key === 'doc');
    await expectNothingRelayed(pair);
    const frames = [
      '{"type":"state:update","ref":"p1","key":"doc","merge":true,"value":{"__proto__":{"polluted":true}}}',
      '{"type":"state:update","ref":"p2","key":"doc","merge":true,"value":{"constructor":{"prototype":{"polluted":true}}}}',
      '{"type":"state:update","ref":"p3","key":"doc","merge":true,"value":{"prototype":{"polluted":true}}}',
      '{"type":"state:update","ref":"p4","key":"doc","merge":true,"value":{"a":{"b":[{"__proto__":{"polluted":true}}]}}}',
      '{"type":"state:update","ref":"p5","key":"doc","value":{"list":[[{"constructor":{"polluted":true}}]]}}',
      '{"type":"state:update","ref":"p6","key":"doc","merge":true,"value":{"a":2},"__proto__":{"polluted":true}}',
      '{"type":"presence:update","ref":"p7","metadata":{"__proto__":{"polluted":true}}}',
      '{"type":"cursor:update","ref":"p8","x":1,"y":2,"__proto__":{"polluted":true}}',
      '{"type":"chat","ref":"p9","payload":{"constructor":{"prototype":{"polluted":true}}}}',
    ];
    for (const [i, frame] of frames.entries()) {
      await expectRejected(pair, frame, ErrorCode.ForbiddenKey, `p${i + 1}`);
    }
    // The key itself may not be one of them either.
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      await expectRejected(
        pair,
        { type: 'state:update', ref: key, key, value: { polluted: true }, merge: true },
        ErrorCode.ForbiddenKey,
        key,
      );
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    const { liveState } = pair.server.getRoomManager().get(ROOM)!;
    expect([...liveState.keys()]).toEqual(['doc']);
    expect(liveState.get('doc')!.value).toEqual({ a: 1 });
    const dave = await join(pair.server, ROOM, 'dave');
    const init = dave.all('state:init')[0]!;
    expect(Object.keys(init.states as object)).toEqual(['doc']);
    expect((init.states as Record<string, { value: unknown }>).doc!.value).toEqual({ a: 1 });
  });

  it('invalid room ids in the room field get invalid_room_id, with the ref', async () => {
    const pair = await setup();
    const rooms: unknown[] = [
      '',
      '-room',
      '.hidden',
      'a b',
      'a/b',
      '../etc',
      'röom',
      'r'.repeat(129),
      5,
      null,
      ['bad'],
      { id: 'bad' },
    ];
    for (const [i, room] of rooms.entries()) {
      for (const type of ['chat', 'state:update', 'cursor:update', 'presence:update']) {
        const ref = `room-${i}-${type}`;
        const error = await expectRejected(
          pair,
          { type, ref, room, key: 'k', value: 1, x: 1, y: 1 },
          ErrorCode.InvalidRoomId,
          ref,
        );
        expect(error.message).toContain('"room"');
      }
    }
    // A valid id the connection is not in is a different error.
    const error = await expectRejected(
      pair,
      { type: 'chat', ref: 'elsewhere', room: 'elsewhere' },
      ErrorCode.NotInRoom,
      'elsewhere',
    );
    expect(error.room).toBe('elsewhere');
    expect(pair.server.getRoomManager().get(ROOM)!.liveState.size).toBe(0);
  });

  it('binary frames that are not storage frames get invalid_update', async () => {
    const pair = await setup();
    for (const frame of [
      Buffer.from(JSON.stringify({ type: 'chat', ref: 'b1', text: 'hi' })),
      Buffer.from([0, 1, 2, 255, 254]),
      Buffer.alloc(0),
      Buffer.alloc(70_000, 1),
    ]) {
      await expectRejected(pair, frame, ErrorCode.InvalidUpdate);
    }
  });

  it('with storage off, binary frames get binary_not_supported', async () => {
    const pair = await setup({ storage: false });
    for (const frame of [Buffer.from([0, 0, 0, 0]), Buffer.alloc(70_000, 1)]) {
      await expectRejected(pair, frame, ErrorCode.BinaryNotSupported);
    }
  });

  it('a text frame that is not UTF-8 closes that socket with 1007; the others carry on', async () => {
    const pair = await setup();
    pair.alice.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await pair.alice.closed).code).toBe(1007);
    await pair.bob.next((m) => m.type === 'presence' && (m.users as unknown[]).length === 1);
    expect((await pair.bob.request({ type: 'heartbeat' })).type).toBe('ack');
  });

  it('server-only types get reserved_type', async () => {
    const pair = await setup();
    for (const type of [
      'welcome',
      'presence',
      'state:init',
      'ack',
      'error',
      'room:left',
      'room:info',
      'room:user:joined',
      'room:user:left',
    ]) {
      const error = await expectRejected(
        pair,
        { type, ref: type, room: ROOM, users: [], states: {}, code: 'x', connectionId: 'c' },
        ErrorCode.ReservedType,
        type,
      );
      expect(error.message).toContain(type);
    }
  });

  it('with storage off, storage:init and storage:ops get unsupported', async () => {
    const pair = await setup({ storage: false });
    for (const type of ['storage:init', 'storage:ops']) {
      const error = await expectRejected(
        pair,
        { type, ref: `${type}-ref`, update: 'AAE=' },
        ErrorCode.Unsupported,
        `${type}-ref`,
      );
      expect(error.message).toContain(type);
    }
    await expectRejected(
      pair,
      { type: 'storage:ops', ref: 9, room: ROOM, update: 'AAA=' },
      ErrorCode.Unsupported,
      9,
    );
  });

  it('echoes string and integer refs, and none when the ref itself is unreadable', async () => {
    const pair = await setup();
    await expectRejected(
      pair,
      { type: 'ack', ref: 'r'.repeat(64) },
      ErrorCode.ReservedType,
      'r'.repeat(64),
    );
    await expectRejected(pair, { type: 'ack', ref: 0 }, ErrorCode.ReservedType, 0);
    await expectRejected(pair, { type: 'ack', ref: -12 }, ErrorCode.ReservedType, -12);
    for (const ref of [{}, [1], 1.5, true, null, 'r'.repeat(65)]) {
      const error = await expectRejected(pair, { type: 'chat', ref }, ErrorCode.InvalidMessage);
      expect(error.message).toContain('"ref"');
    }
  });
});
