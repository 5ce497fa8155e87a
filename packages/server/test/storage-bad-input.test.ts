/**
 * Malformed and hostile storage input, over binary frames and base64 JSON: each is refused with
 * the right `error` (the ref echoed where there is one), the room's document is unchanged, the
 * connection keeps working and the other members see nothing of it. Then a fast-check property:
 * arbitrary bytes and mutated valid updates never crash the server or split the members' views.
 */
import {
  bytesToBase64,
  ErrorCode,
  encodeStorageFrame,
  type StorageFrame,
  StorageFrameKind,
} from '@roomkit/protocol';
import fc from 'fast-check';
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { RoomServer, ServerConfig } from '../src/index.js';
import { connect, type Received, startServer, type TestClient, waitUntil } from './helpers.js';
import { contentOf, DocClient, updateFrom } from './storage-helpers.js';

const ROOM = 'bad';
/** The tests send hundreds of frames at once; the rate limit is tested elsewhere. */
const UNLIMITED: ServerConfig = { rateLimit: { messagesPerSecond: 1_000_000, burst: 1_000_000 } };

function serverDoc(server: RoomServer, room = ROOM): Y.Doc {
  const document = server.getRoomManager().get(room)?.getStorageDocument();
  if (!document) throw new Error(`room "${room}" has no loaded document`);
  return document.doc;
}

/** The document's complete state (structs, pending parts, delete set), for before/after checks. */
function stateOf(server: RoomServer, room = ROOM): string {
  return hexOf(serverDoc(server, room));
}

function hexOf(doc: Y.Doc): string {
  return Buffer.from(Y.encodeStateAsUpdate(doc)).toString('hex');
}

interface Room {
  server: RoomServer;
  /** The member who sends the bad input (binary). */
  alice: DocClient;
  /** A bystander (base64), who must see nothing of it. */
  bob: DocClient;
}

/** A server and a room with some content, synced by two members. */
async function room(config: ServerConfig = {}): Promise<Room> {
  const server = await startServer({ ...UNLIMITED, ...config });
  const alice = await DocClient.open(server, ROOM, 'alice', 'binary');
  const bob = await DocClient.open(server, ROOM, 'bob', 'base64');
  // Fixed client ids: the updates built below, and so the mutations of them, are the same bytes
  // on every run.
  alice.doc.clientID = 1001;
  alice.doc.getText('text').insert(0, 'hello world');
  alice.doc.getMap('map').set('k', { nested: [1, 2, 3] });
  alice.doc.getArray('array').push(['a', 'b', new Y.Map()]);
  await alice.settled();
  await waitUntil(() => same(bob.doc, alice.doc), 3000, 'bob has the content');
  return { server, alice, bob };
}

function same(a: Y.Doc, b: Y.Doc): boolean {
  return JSON.stringify(contentOf(a)) === JSON.stringify(contentOf(b));
}

/** A valid update on top of `base` touching every shared type (same bytes for the same base). */
function validUpdate(base: Y.Doc, seed = 0): Uint8Array {
  const scratch = new Y.Doc();
  Y.applyUpdate(scratch, Y.encodeStateAsUpdate(base));
  // Set after loading: Yjs gives a document a new id when a remote update brings its own.
  scratch.clientID = 2000 + seed;
  const before = Y.encodeStateVector(scratch);
  const text = scratch.getText('text');
  text.insert(Math.min(3, text.length), `insert ${seed} `);
  text.delete(0, 2);
  scratch.getMap('map').set(`key${seed}`, { value: seed, list: ['x', 'y'] });
  const array = scratch.getArray('array');
  array.insert(Math.min(1, array.length), [seed, new Y.Text('nested')]);
  const update = Y.encodeStateAsUpdate(scratch, before);
  scratch.destroy();
  return update;
}

/** Every one-byte flip of `update` (three masks per byte). */
function flipsOf(update: Uint8Array): Array<{ name: string; bytes: Uint8Array }> {
  const flips: Array<{ name: string; bytes: Uint8Array }> = [];
  for (let at = 0; at < update.length; at++) {
    for (const mask of [0x01, 0x80, 0xff]) {
      const bytes = update.slice();
      bytes[at]! ^= mask;
      flips.push({ name: `byte ${at} ^ ${mask}`, bytes });
    }
  }
  return flips;
}

function decodes(update: Uint8Array): boolean {
  try {
    Y.decodeUpdate(update);
    return true;
  } catch {
    return false;
  }
}

function binaryFrame(kind: number, room: string, ref: number, payload: Uint8Array): Uint8Array {
  return encodeStorageFrame({ kind, room, tag: ref, payload } as StorageFrame);
}

/** The error answering `ref` on `client`. */
function errorFor(client: TestClient, ref: number | string): Promise<Received> {
  return client.next((m) => m.type === 'error' && m.ref === ref, 3000);
}

/** The next error without a ref (a frame refused before its ref could be read). */
function nextError(client: TestClient, code: string): Promise<Received> {
  return client.next((m) => m.type === 'error' && m.code === code && m.ref === undefined, 3000);
}

/**
 * After bad input: the connection still works (a valid edit is acknowledged and reaches the
 * others), the bystander got no error and has exactly the server's document.
 */
async function stillWorks({ server, alice, bob }: Room): Promise<void> {
  const marker = `still works ${Math.random()}`;
  const ack = await alice.push(
    updateFrom(serverDoc(server), (d) => d.getMap('map').set('ok', marker)),
  );
  expect(ack.type).toBe('ack');
  await waitUntil(
    () => bob.doc.getMap('map').get('ok') === marker,
    3000,
    'bob gets the valid edit',
  );
  expect(bob.errors).toEqual([]);
  expect(contentOf(bob.doc)).toEqual(contentOf(serverDoc(server)));
}

let nextRef = 1000;
const ref = () => nextRef++;

describe('malformed updates', () => {
  it('every truncation of a valid update is refused (binary and base64), the document unchanged', async () => {
    const r = await room();
    const update = validUpdate(r.alice.doc);
    const before = stateOf(r.server);
    const refs: Array<{ ref: number | string; length: number }> = [];
    for (let length = 0; length < update.length; length++) {
      const prefix = update.subarray(0, length);
      const binary = ref();
      r.alice.sendRaw(binaryFrame(StorageFrameKind.Update, '', binary, prefix));
      refs.push({ ref: binary, length });
      const json = `t${length}`;
      r.alice.client.send({ type: 'storage:ops', update: bytesToBase64(prefix), ref: json });
      refs.push({ ref: json, length });
    }
    for (const { ref: sent, length } of refs) {
      const error = await errorFor(r.alice.client, sent);
      expect(error.code, `prefix of ${length} bytes`).toBe(ErrorCode.InvalidUpdate);
    }
    expect(stateOf(r.server)).toBe(before);
    await stillWorks(r);
  });

  it('random bytes are refused with invalid_update and change nothing', async () => {
    const r = await room();
    const before = stateOf(r.server);
    const samples = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 300 }), {
      numRuns: 150,
      seed: 42,
    });
    // Keep the ones Yjs itself cannot apply (a few random arrays are valid, e.g. [0, 0]).
    const garbage = samples.filter((bytes) => !appliesCleanly(serverDoc(r.server), bytes));
    expect(garbage.length).toBeGreaterThan(100);
    const sent: Array<number | string> = [];
    garbage.forEach((bytes, i) => {
      const binary = ref();
      r.alice.sendRaw(binaryFrame(StorageFrameKind.Update, ROOM, binary, bytes));
      r.alice.client.send({
        type: 'storage:ops',
        room: ROOM,
        update: bytesToBase64(bytes),
        ref: `g${i}`,
      });
      sent.push(binary, `g${i}`);
    });
    for (const id of sent) {
      const error = await errorFor(r.alice.client, id);
      expect(error.code).toBe(ErrorCode.InvalidUpdate);
      expect(error.room).toBe(ROOM);
    }
    expect(stateOf(r.server)).toBe(before);
    await stillWorks(r);
  });

  it('a valid update with a flipped byte that Yjs cannot decode is refused, the document unchanged', async () => {
    const r = await room();
    const before = stateOf(r.server);
    const flips = flipsOf(validUpdate(r.alice.doc, 7)).filter(({ bytes }) => !decodes(bytes));
    expect(flips.length).toBeGreaterThan(100);
    for (const { name, bytes } of flips) {
      const id = ref();
      r.alice.sendRaw(binaryFrame(StorageFrameKind.Update, '', id, bytes));
      const error = await errorFor(r.alice.client, id);
      expect(error.code, name).toBe(ErrorCode.InvalidUpdate);
    }
    expect(stateOf(r.server)).toBe(before);
    await stillWorks(r);
  });

  it('some flipped bytes decode cleanly but cannot be integrated (Yjs throws half-way through)', async () => {
    // The corpus of the next test, checked without a server: Yjs applies part of such an update,
    // then throws ("Unexpected case"), leaving the document changed.
    const r = await room();
    const base = serverDoc(r.server);
    const halfway = flipsOf(validUpdate(r.alice.doc, 7)).filter(
      ({ bytes }) => decodes(bytes) && !appliesCleanly(base, bytes),
    );
    expect(halfway.length).toBeGreaterThan(0);
    for (const { bytes } of halfway) expect(changesBeforeThrowing(base, bytes)).toBe(true);
  });

  // Such an update is refused, but what Yjs integrated before throwing cannot be taken back: the
  // server shares it with every member (the sender too) and stores it, so no replica diverges.
  it('a flipped byte that decodes but cannot be integrated is refused; what Yjs took reaches everyone', async () => {
    const r = await room();
    const base = serverDoc(r.server);
    const halfway = flipsOf(validUpdate(r.alice.doc, 7)).filter(
      ({ bytes }) => decodes(bytes) && !appliesCleanly(base, bytes),
    );
    expect(halfway.length).toBeGreaterThan(0);
    for (const { name, bytes } of halfway) {
      const id = ref();
      r.alice.sendRaw(binaryFrame(StorageFrameKind.Update, '', id, bytes));
      const error = await errorFor(r.alice.client, id);
      expect(error.code, name).toBe(ErrorCode.InvalidUpdate);
      await waitUntil(
        () => stateOf(r.server) === hexOf(r.bob.doc) && stateOf(r.server) === hexOf(r.alice.doc),
        3000,
        `every replica equals the server after ${name}`,
      );
    }
    await stillWorks(r);
  });

  it('malformed state vectors are refused with invalid_update (binary sync step 1 and storage:init)', async () => {
    const r = await room();
    const before = stateOf(r.server);
    const vectors = [
      [0x05], // five entries, none there
      [0x01, 0x80], // a varUint cut in the middle
      [0x01, 0x07], // a client without its clock
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // an endless varUint
    ].map((bytes) => new Uint8Array(bytes));
    for (const vector of vectors) {
      const id = ref();
      r.alice.sendRaw(binaryFrame(StorageFrameKind.SyncStep1, ROOM, id, vector));
      const binaryError = await errorFor(r.alice.client, id);
      expect(binaryError.code).toBe(ErrorCode.InvalidUpdate);
      const reply = await r.alice.client.request({
        type: 'storage:init',
        room: ROOM,
        stateVector: bytesToBase64(vector),
      });
      expect(reply.type).toBe('error');
      expect(reply.code).toBe(ErrorCode.InvalidUpdate);
    }
    expect(stateOf(r.server)).toBe(before);
    // A refused sync leaves the connection subscribed as it was.
    await stillWorks(r);
  });

  it('invalid base64 is refused with invalid_update (storage:ops update, storage:init fields)', async () => {
    const r = await room();
    const before = stateOf(r.server);
    const valid = bytesToBase64(validUpdate(r.alice.doc));
    for (const text of ['not base64!', 'abc', 'ab=c', '====', `${valid.slice(0, -1)}*`, 'YWJj\n']) {
      const ops = await r.alice.client.request({ type: 'storage:ops', room: ROOM, update: text });
      expect([ops.type, ops.code], JSON.stringify(text)).toEqual([
        'error',
        ErrorCode.InvalidUpdate,
      ]);
      const init = await r.alice.client.request({ type: 'storage:init', room: ROOM, update: text });
      expect([init.type, init.code]).toEqual(['error', ErrorCode.InvalidUpdate]);
      const vector = await r.alice.client.request({
        type: 'storage:init',
        room: ROOM,
        stateVector: text,
      });
      expect([vector.type, vector.code]).toEqual(['error', ErrorCode.InvalidUpdate]);
    }
    // Not a string at all: the message itself is invalid.
    const typed = await r.alice.client.request({ type: 'storage:ops', room: ROOM, update: 42 });
    expect([typed.type, typed.code]).toEqual(['error', ErrorCode.InvalidMessage]);
    expect(stateOf(r.server)).toBe(before);
    await stillWorks(r);
  });

  it('storage:init with a malformed update applies nothing and answers an error, not the document', async () => {
    const r = await room();
    const before = stateOf(r.server);
    const update = validUpdate(r.alice.doc);
    const reply = await r.alice.client.request({
      type: 'storage:init',
      room: ROOM,
      update: bytesToBase64(update.subarray(0, update.length - 3)),
    });
    expect([reply.type, reply.code]).toEqual(['error', ErrorCode.InvalidUpdate]);
    expect(stateOf(r.server)).toBe(before);
    await stillWorks(r);
  });
});

describe('malformed binary frames', () => {
  /** A frame written field by field, for headers `encodeStorageFrame` would never produce. */
  function rawFrame(write: (encoder: encoding.Encoder) => void): Uint8Array {
    const encoder = encoding.createEncoder();
    write(encoder);
    return encoding.toUint8Array(encoder);
  }

  it('bad headers are refused with the right code, before their ref is trusted', async () => {
    const r = await room();
    const before = stateOf(r.server);
    const update = validUpdate(r.alice.doc);
    const good = binaryFrame(StorageFrameKind.Update, ROOM, 5, update);
    const cases: Array<{ name: string; frame: Uint8Array; code: string }> = [
      { name: 'empty frame', frame: new Uint8Array(0), code: ErrorCode.InvalidUpdate },
      {
        name: 'unknown kind',
        frame: rawFrame((e) => {
          encoding.writeVarUint(e, 3);
          encoding.writeVarString(e, ROOM);
          encoding.writeVarUint(e, 5);
          encoding.writeVarUint8Array(e, update);
        }),
        code: ErrorCode.InvalidUpdate,
      },
      { name: 'truncated header', frame: good.subarray(0, 3), code: ErrorCode.InvalidUpdate },
      {
        name: 'truncated payload',
        frame: good.subarray(0, good.length - 1),
        code: ErrorCode.InvalidUpdate,
      },
      {
        name: 'trailing bytes',
        frame: new Uint8Array([...good, 0, 1, 2]),
        code: ErrorCode.InvalidUpdate,
      },
      {
        name: 'ref out of range',
        frame: rawFrame((e) => {
          encoding.writeVarUint(e, 2);
          encoding.writeVarString(e, ROOM);
          for (let i = 0; i < 9; i++) encoding.writeUint8(e, 0xff);
          encoding.writeUint8(e, 0x01);
          encoding.writeVarUint8Array(e, update);
        }),
        code: ErrorCode.InvalidUpdate,
      },
      {
        name: 'room string longer than the frame',
        frame: rawFrame((e) => {
          encoding.writeVarUint(e, 2);
          encoding.writeVarUint(e, 1000);
          encoding.writeUint8(e, 0x61);
        }),
        code: ErrorCode.InvalidUpdate,
      },
      {
        name: 'invalid room id',
        frame: binaryFrame(StorageFrameKind.Update, '-not valid-', 5, update),
        code: ErrorCode.InvalidRoomId,
      },
    ];
    for (const { name, frame, code } of cases) {
      r.alice.sendRaw(frame);
      const error = await nextError(r.alice.client, code);
      expect(error.ref, name).toBeUndefined();
    }
    expect(stateOf(r.server)).toBe(before);
    await stillWorks(r);
  });

  it('a frame for a room the connection is not in gets not_in_room, with its ref and room', async () => {
    const r = await room();
    const before = stateOf(r.server);
    const update = validUpdate(r.alice.doc);
    for (const kind of [
      StorageFrameKind.SyncStep1,
      StorageFrameKind.SyncStep2,
      StorageFrameKind.Update,
    ]) {
      const id = ref();
      const payload = kind === StorageFrameKind.SyncStep1 ? new Uint8Array([0]) : update;
      r.alice.sendRaw(binaryFrame(kind, 'elsewhere', id, payload));
      const error = await errorFor(r.alice.client, id);
      expect(error.code).toBe(ErrorCode.NotInRoom);
      expect(error.room).toBe('elsewhere');
    }
    expect(r.server.getRoomManager().get('elsewhere')).toBeUndefined();
    expect(stateOf(r.server)).toBe(before);
    await stillWorks(r);
  });

  it('a connection without a default room must name one (room_required)', async () => {
    const server = await startServer(UNLIMITED);
    const lobby = await connect(server, '/rooms');
    const id = ref();
    lobby.ws.send(binaryFrame(StorageFrameKind.Update, '', id, new Uint8Array([0, 0])), {
      binary: true,
    });
    const error = await errorFor(lobby, id);
    expect(error.code).toBe(ErrorCode.RoomRequired);
  });

  it('storage turned off: binary frames get binary_not_supported, storage messages unsupported', async () => {
    const server = await startServer({ ...UNLIMITED, storage: false });
    const client = await connect(server, `/rooms/${ROOM}`, 'userId=alice');
    client.ws.send(binaryFrame(StorageFrameKind.Update, '', 1, new Uint8Array([0, 0])), {
      binary: true,
    });
    await nextError(client, ErrorCode.BinaryNotSupported);
    const reply = await client.request({
      type: 'storage:ops',
      update: bytesToBase64(new Uint8Array([0, 0])),
    });
    expect(reply.code).toBe(ErrorCode.Unsupported);
  });
});

describe('size limits', () => {
  it('an update over storage.maxUpdateBytes gets update_too_large (binary and base64), the document unchanged', async () => {
    const r = await room({ storage: { maxUpdateBytes: 200 } });
    const before = stateOf(r.server);
    const big = updateFrom(r.alice.doc, (d) => d.getText('text').insert(0, 'x'.repeat(300)));
    expect(big.length).toBeGreaterThan(200);
    const id = ref();
    r.alice.sendRaw(binaryFrame(StorageFrameKind.Update, ROOM, id, big));
    const binaryError = await errorFor(r.alice.client, id);
    expect(binaryError.code).toBe(ErrorCode.UpdateTooLarge);
    expect(binaryError.room).toBe(ROOM);
    const jsonError = await r.alice.client.request({
      type: 'storage:ops',
      room: ROOM,
      update: bytesToBase64(big),
    });
    expect([jsonError.type, jsonError.code]).toEqual(['error', ErrorCode.UpdateTooLarge]);
    const initError = await r.alice.client.request({
      type: 'storage:init',
      room: ROOM,
      update: bytesToBase64(big),
    });
    expect([initError.type, initError.code]).toEqual(['error', ErrorCode.UpdateTooLarge]);
    // A frame too big to be worth decoding is refused before its header is read.
    const huge = updateFrom(r.alice.doc, (d) => d.getText('text').insert(0, 'y'.repeat(5000)));
    r.alice.sendRaw(binaryFrame(StorageFrameKind.Update, ROOM, ref(), huge));
    await nextError(r.alice.client, ErrorCode.UpdateTooLarge);
    expect(stateOf(r.server)).toBe(before);
    await stillWorks(r);
  });

  it('a document growing past storage.maxDocumentBytes gets document_too_large; what was accepted stays', async () => {
    // The document limit is never below the update limit: lower both.
    const r = await room({ storage: { maxUpdateBytes: 1000, maxDocumentBytes: 3000 } });
    let refused: Received | null = null;
    let accepted = 0;
    for (let i = 0; i < 40 && refused === null; i++) {
      const before = stateOf(r.server);
      // Built on the server's document, not applied locally: a refused one leaves no trace.
      const update = updateFrom(serverDoc(r.server), (d) =>
        d.getText('text').insert(0, `${i}`.repeat(100)),
      );
      try {
        await r.alice.push(update);
        accepted++;
      } catch (error) {
        refused = (error as { reply: Received }).reply;
        expect(stateOf(r.server)).toBe(before);
      }
    }
    expect(accepted).toBeGreaterThan(3);
    expect(refused?.code).toBe(ErrorCode.DocumentTooLarge);
    expect(refused?.room).toBe(ROOM);
    // Bob has everything that was accepted, nothing that was not.
    await waitUntil(() => same(r.bob.doc, serverDoc(r.server)), 3000, 'bob equals the server');
    expect(r.bob.errors).toEqual([]);
    // Base64 too.
    const tooMuch = updateFrom(serverDoc(r.server), (d) =>
      d.getMap('map').set('more', 'x'.repeat(500)),
    );
    const reply = await r.bob.push(tooMuch).catch((error: { reply: Received }) => error.reply);
    expect(reply.code).toBe(ErrorCode.DocumentTooLarge);
    expect(same(r.bob.doc, serverDoc(r.server))).toBe(true);
  });
});

/** Whether applying `update` to a copy of `doc` changes the copy and then throws. */
function changesBeforeThrowing(doc: Y.Doc, update: Uint8Array): boolean {
  const copy = new Y.Doc();
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  const before = Buffer.from(Y.encodeStateAsUpdate(copy)).toString('hex');
  try {
    Y.applyUpdate(copy, update);
    return false;
  } catch {
    return Buffer.from(Y.encodeStateAsUpdate(copy)).toString('hex') !== before;
  } finally {
    copy.destroy();
  }
}

/** Whether Yjs applies `update` to a copy of `doc` without throwing (the server must agree). */
function appliesCleanly(doc: Y.Doc, update: Uint8Array): boolean {
  const copy = new Y.Doc();
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  try {
    Y.decodeUpdate(update);
    Y.applyUpdate(copy, update);
    return true;
  } catch {
    return false;
  } finally {
    copy.destroy();
  }
}

describe('property: hostile storage input never breaks the room', () => {
  type Mutation =
    | { op: 'flip'; at: number; mask: number }
    | { op: 'truncate'; at: number }
    | { op: 'insert'; at: number; byte: number }
    | { op: 'remove'; at: number }
    | { op: 'splice'; at: number; other: number };
  type Action =
    | { kind: 'bytes'; bytes: Uint8Array; via: 'binary' | 'base64' }
    | { kind: 'mutation'; base: number; mutations: Mutation[]; via: 'binary' | 'base64' }
    | { kind: 'edit'; text: string };

  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({
      op: fc.constant('flip' as const),
      at: fc.nat(),
      mask: fc.integer({ min: 1, max: 255 }),
    }),
    fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({
      op: fc.constant('insert' as const),
      at: fc.nat(),
      byte: fc.integer({ min: 0, max: 255 }),
    }),
    fc.record({ op: fc.constant('remove' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('splice' as const), at: fc.nat(), other: fc.nat() }),
  );
  const via = fc.constantFrom('binary' as const, 'base64' as const);
  const action: fc.Arbitrary<Action> = fc.oneof(
    fc.record({
      kind: fc.constant('bytes' as const),
      bytes: fc.uint8Array({ maxLength: 120 }),
      via,
    }),
    fc.record({
      kind: fc.constant('mutation' as const),
      base: fc.nat(),
      // No mutation at all sometimes: valid updates interleaved with the hostile ones.
      mutations: fc.array(mutation, { minLength: 0, maxLength: 3 }),
      via,
    }),
    fc.record({
      kind: fc.constant('edit' as const),
      text: fc.string({ minLength: 1, maxLength: 8 }),
    }),
  );

  function mutate(
    update: Uint8Array,
    mutations: readonly Mutation[],
    others: readonly Uint8Array[],
  ) {
    let bytes = [...update];
    for (const m of mutations) {
      const at = bytes.length === 0 ? 0 : m.at % bytes.length;
      if (m.op === 'flip' && bytes.length > 0) bytes[at]! ^= m.mask;
      else if (m.op === 'truncate') bytes = bytes.slice(0, at);
      else if (m.op === 'insert') bytes.splice(at, 0, m.byte);
      else if (m.op === 'remove') bytes.splice(at, 1);
      else if (m.op === 'splice') {
        const other = others[m.other % others.length]!;
        bytes = [...bytes.slice(0, at), ...other.subarray(other.length - (m.at % other.length))];
      }
    }
    return new Uint8Array(bytes);
  }

  it('arbitrary bytes and mutated updates, as binary frames and base64 ops: no crash, one view, heartbeat answered', async () => {
    const server = await startServer(UNLIMITED);
    const attacker = await DocClient.open(server, 'fuzz', 'attacker', 'binary');
    const writer = await DocClient.open(server, 'fuzz', 'writer', 'binary');
    const reader = await DocClient.open(server, 'fuzz', 'reader', 'base64');
    writer.doc.clientID = 3001;
    writer.doc.getText('text').insert(0, 'seed text');
    writer.doc.getMap('map').set('seed', [1, 2]);
    await writer.settled();

    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 12 }), async (actions) => {
        const codes = new Set<string>();
        const bases = [0, 1, 2].map((seed) => validUpdate(serverDoc(server, 'fuzz'), seed));
        for (const act of actions) {
          if (act.kind === 'edit') {
            writer.doc.getText('text').insert(0, act.text);
            continue;
          }
          const payload =
            act.kind === 'bytes'
              ? act.bytes
              : mutate(bases[act.base % bases.length]!, act.mutations, bases);
          const answer =
            act.via === 'binary'
              ? attacker.push(payload)
              : attacker.request({
                  type: 'storage:ops',
                  room: 'fuzz',
                  update: bytesToBase64(payload),
                });
          const reply = await answer.catch((error: { reply: Received }) => error.reply);
          codes.add(reply.type === 'ack' ? 'ack' : String(reply.code));
        }
        for (const code of codes) expect(['ack', ErrorCode.InvalidUpdate]).toContain(code);
        // The connection still answers.
        const heartbeat = await attacker.client.request({ type: 'heartbeat' });
        expect(heartbeat.type).toBe('ack');
        // One view: what the server accepted reached the reader (who never sends anything) and
        // the writer. The attacker is not sent its own updates back, so it re-syncs by state
        // vector.
        await writer.settled();
        await attacker.sync();
        const want = () => JSON.stringify(contentOf(serverDoc(server, 'fuzz')));
        await waitUntil(
          () =>
            [attacker, writer, reader].every((c) => JSON.stringify(contentOf(c.doc)) === want()),
          3000,
          'every member equals the server',
        );
        expect(reader.errors).toEqual([]);
        expect(writer.errors).toEqual([]);
      }),
      { numRuns: 80, seed: 20261122, endOnFailure: true },
    );
  });
});

describe('pending content completed by another member', () => {
  // An update that completes parts the server held pending changes more than its sender sent
  // (here a delete set sent ahead of the structs it deletes): the sender gets the change too.
  it("an edit that completes a pending delete set: the author's view matches the server's", async () => {
    const server = await startServer(UNLIMITED);
    const alice = await DocClient.open(server, 'pending', 'alice');
    const bob = await DocClient.open(server, 'pending', 'bob', 'base64');
    const carol = await DocClient.open(server, 'pending', 'carol', 'base64');
    bob.doc.getText('text').insert(0, 'shared ');
    await bob.settled();
    await waitUntil(() => alice.text() === 'shared ' && carol.text() === 'shared ');

    // A delete set for the structs bob's next edit will create (same client, same clocks).
    const future = new Y.Doc();
    Y.applyUpdate(future, Y.encodeStateAsUpdate(bob.doc));
    future.clientID = bob.doc.clientID;
    future.getText('text').insert(7, 'secret');
    const afterInsert = Y.encodeStateVector(future);
    future.getText('text').delete(7, 6);
    const deletes = Y.encodeStateAsUpdate(future, afterInsert);
    expect((await alice.push(deletes)).type).toBe('ack');
    expect(serverDoc(server, 'pending').store.pendingDs).not.toBeNull();

    bob.doc.getText('text').insert(7, 'secret');
    await bob.settled();
    await waitUntil(() => carol.text() === 'shared ', 3000, 'carol has the edit and its deletion');
    expect(serverDoc(server, 'pending').getText('text').toString()).toBe('shared ');
    await waitUntil(() => bob.text() === 'shared ', 1000, "bob's view matches the server's");
  });
});
