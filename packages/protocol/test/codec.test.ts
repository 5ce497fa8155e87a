import {
  DEFAULT_MAX_DEPTH,
  type DecodeResult,
  decodeClientMessage,
  ErrorCode,
  scanStructure,
} from '@roomkit/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

type Failure = Extract<DecodeResult, { ok: false }>;

/** Decodes and asserts a failure, so the caller can look at code/message/ref with types. */
function fail(text: string, maxDepth?: number): Failure {
  const result =
    maxDepth === undefined ? decodeClientMessage(text) : decodeClientMessage(text, { maxDepth });
  if (result.ok) throw new Error(`expected ${text.slice(0, 200)} to be rejected`);
  return result;
}

function ok(text: string): Extract<DecodeResult, { ok: true }> {
  const result = decodeClientMessage(text);
  if (!result.ok) {
    throw new Error(
      `expected ${text.slice(0, 200)} to decode, got ${result.code}: ${result.message}`,
    );
  }
  return result;
}

/** `levels` nested arrays: nestArrays(2, '1') === '[[1]]'. */
function nestArrays(levels: number, inner = ''): string {
  return `${'['.repeat(levels)}${inner}${']'.repeat(levels)}`;
}

/** `levels` nested objects: nestObjects(2, '1') === '{"a":{"a":1}}'. */
function nestObjects(levels: number, inner = '1'): string {
  return `${'{"a":'.repeat(levels)}${inner}${'}'.repeat(levels)}`;
}

describe('decodeClientMessage: invalid_json', () => {
  it.each([
    ['empty frame', ''],
    ['plain text', 'hello'],
    ['truncated object', '{"type":"chat"'],
    ['trailing comma', '{"type":"chat",}'],
    ['single quotes', "{'type':'chat'}"],
    ['NaN literal', '{"type":"chat","x":NaN}'],
    ['undefined literal', 'undefined'],
    ['byte order mark', '\ufeff{"type":"chat"}'],
    ['two values', '{"type":"a"}{"type":"b"}'],
    ['unbalanced deep nesting', '['.repeat(10_000)],
  ])('%s', (_name, text) => {
    const error = fail(text);
    expect(error.code).toBe(ErrorCode.InvalidJson);
    expect(error.ref).toBeUndefined();
    expect(error.message).toMatch(/JSON/);
  });
});

describe('decodeClientMessage: invalid_message', () => {
  it.each([
    ['array', '[{"type":"chat","ref":"r1"}]'],
    ['empty array', '[]'],
    ['number', '42'],
    ['null', 'null'],
    ['string', '"chat"'],
    ['boolean', 'true'],
  ])('rejects non-object JSON (%s) without a ref', (_name, text) => {
    const error = fail(text);
    expect(error.code).toBe(ErrorCode.InvalidMessage);
    expect(error.message).toMatch(/object/);
    expect(error.ref).toBeUndefined();
  });

  it.each([
    ['missing', '{"ref":"r1"}'],
    ['empty', '{"type":"","ref":"r1"}'],
    ['number', '{"type":5,"ref":"r1"}'],
    ['null', '{"type":null,"ref":"r1"}'],
    ['object', '{"type":{"name":"chat"},"ref":"r1"}'],
    ['array', '{"type":["chat"],"ref":"r1"}'],
    ['with a space', '{"type":"chat message","ref":"r1"}'],
    ['with a control character', '{"type":"chat\\n","ref":"r1"}'],
    ['non-ASCII', '{"type":"çhat","ref":"r1"}'],
    ['65 characters', `{"type":"${'t'.repeat(65)}","ref":"r1"}`],
  ])('rejects a %s type, naming the field and echoing the ref', (_name, text) => {
    const error = fail(text);
    expect(error.code).toBe(ErrorCode.InvalidMessage);
    expect(error.message).toContain('"type"');
    expect(error.ref).toBe('r1');
  });

  it('accepts a 64-character type', () => {
    expect(ok(`{"type":"${'t'.repeat(64)}"}`).kind).toBe('app');
  });

  it.each([
    ['an object', '{}'],
    ['an array', '[1]'],
    ['a fraction', '1.5'],
    ['a boolean', 'true'],
    ['null', 'null'],
    ['a 65-character string', `"${'r'.repeat(65)}"`],
  ])('rejects a ref that is %s, naming the field, without echoing it', (_name, ref) => {
    const error = fail(`{"type":"chat","ref":${ref}}`);
    expect(error.code).toBe(ErrorCode.InvalidMessage);
    expect(error.message).toContain('"ref"');
    expect(error.ref).toBeUndefined();
  });

  it.each([
    ['presence:update', '{"onlineStatus":"busy"}', 'onlineStatus'],
    ['presence:update', '{"isIdle":"yes"}', 'isIdle'],
    ['presence:update', '{"location":5}', 'location'],
    ['presence:update', `{"location":"${'l'.repeat(257)}"}`, 'location'],
    ['presence:update', '{"metadata":[1,2]}', 'metadata'],
    ['presence:update', '{"metadata":"m"}', 'metadata'],
    ['presence:update', '{"avatarUrl":false}', 'avatarUrl'],
    ['presence:update', '{"userId":"someone-else"}', 'userId'],
    ['cursor:update', '{"y":1}', 'x'],
    ['cursor:update', '{"x":1}', 'y'],
    ['cursor:update', '{"x":"1","y":2}', 'x'],
    ['cursor:update', '{"x":1,"y":null}', 'y'],
    ['cursor:update', '{"x":1e400,"y":0}', 'x'],
    ['state:update', '{"value":1}', 'key'],
    ['state:update', '{"key":"k"}', 'value'],
    ['state:update', '{"key":5,"value":1}', 'key'],
    ['state:update', '{"key":"","value":1}', 'key'],
    ['state:update', `{"key":"${'k'.repeat(257)}","value":1}`, 'key'],
    ['state:update', '{"key":"k","value":1,"merge":"yes"}', 'merge'],
    ['state:update', '{"key":"k","value":1,"timestamp":"now"}', 'timestamp'],
    ['state:update', '{"key":"k","value":1,"from":"mallory"}', 'from'],
    ['room:join', '{"room":"a","cid":""}', 'cid'],
    ['room:join', '{}', 'room'],
    ['room:join', '{"room":"a","extra":true}', 'extra'],
    ['room:leave', '{}', 'room'],
    ['room:leave', '{"room":"a","userId":"x"}', 'userId'],
    ['room:list', '{"room":"a"}', 'room'],
    ['heartbeat', '{"extra":[1]}', 'extra'],
  ])('%s with %s names field %s', (type, fields, field) => {
    const text = `{"type":"${type}","ref":7,${fields.slice(1)}`.replace(',}', '}');
    const error = fail(text);
    expect(error.code).toBe(ErrorCode.InvalidMessage);
    expect(error.message).toContain(type);
    expect(error.message).toContain(`"${field}"`);
    expect(error.ref).toBe(7);
  });
});

describe('decodeClientMessage: too_deep', () => {
  it('counts the message itself as depth 1', () => {
    // {"type":"x","v":<31 arrays>} nests 32 levels: exactly the default limit.
    expect(DEFAULT_MAX_DEPTH).toBe(32);
    expect(ok(`{"type":"x","v":${nestArrays(31)}}`).kind).toBe('app');
    const error = fail(`{"type":"x","ref":"deep","v":${nestArrays(32)}}`);
    expect(error.code).toBe(ErrorCode.TooDeep);
    expect(error.ref).toBe('deep');
    expect(error.message).toContain('32');
  });

  it('applies to objects as well as arrays, and to a custom maxDepth', () => {
    expect(decodeClientMessage(`{"type":"x","v":${nestObjects(2)}}`, { maxDepth: 3 }).ok).toBe(
      true,
    );
    const error = fail(`{"type":"x","v":${nestObjects(3)}}`, 3);
    expect(error.code).toBe(ErrorCode.TooDeep);
    expect(error.message).toContain('3');
  });

  it('checks built-in messages before their schema', () => {
    const error = fail(
      `{"type":"state:update","ref":"s","key":"k","value":${nestObjects(40)}}`,
      DEFAULT_MAX_DEPTH,
    );
    expect(error.code).toBe(ErrorCode.TooDeep);
    expect(error.ref).toBe('s');
  });

  it('returns too_deep for 100k levels of arrays without throwing', () => {
    const text = `{"type":"x","ref":1,"v":${nestArrays(100_000)}}`;
    let result: DecodeResult | undefined;
    expect(() => {
      result = decodeClientMessage(text);
    }).not.toThrow();
    expect(result).toMatchObject({ ok: false, code: ErrorCode.TooDeep, ref: 1 });
  });

  it('returns too_deep for 100k levels of objects, and for a bare deep array', () => {
    expect(decodeClientMessage(`{"type":"x","v":${nestObjects(100_000)}}`)).toMatchObject({
      ok: false,
      code: ErrorCode.TooDeep,
    });
    // A deep array is not an object: the shape check comes first and is just as safe.
    expect(decodeClientMessage(nestArrays(100_000))).toMatchObject({
      ok: false,
      code: ErrorCode.InvalidMessage,
    });
  });
});

describe('decodeClientMessage: forbidden_key', () => {
  const keys = ['__proto__', 'constructor', 'prototype'];

  it.each(keys)('rejects "%s" at the top level', (key) => {
    const error = fail(`{"type":"chat","ref":"p","${key}":{"polluted":true}}`);
    expect(error.code).toBe(ErrorCode.ForbiddenKey);
    expect(error.message).toContain(key);
    expect(error.ref).toBe('p');
  });

  it.each(keys)('rejects "%s" nested in objects', (key) => {
    const error = fail(
      `{"type":"state:update","ref":"p","key":"doc","merge":true,"value":{"a":{"b":{"${key}":{"polluted":true}}}}}`,
    );
    expect(error.code).toBe(ErrorCode.ForbiddenKey);
    expect(error.message).toContain(key);
    expect(error.ref).toBe('p');
  });

  it.each(keys)('rejects "%s" inside arrays', (key) => {
    const error = fail(`{"type":"chat","items":[1,[2,{"ok":[{"${key}":1}]}]]}`);
    expect(error.code).toBe(ErrorCode.ForbiddenKey);
    expect(error.message).toContain(key);
  });

  it('rejects a forbidden key 30 levels deep', () => {
    const inner = nestObjects(29, '{"__proto__":{"polluted":1}}');
    expect(fail(`{"type":"chat","v":${inner}}`).code).toBe(ErrorCode.ForbiddenKey);
  });

  it('allows the words as values and as parts of keys', () => {
    expect(
      ok('{"type":"chat","text":"__proto__","list":["constructor"],"my_prototype":1,"__proto":2}')
        .kind,
    ).toBe('app');
  });

  it('never pollutes Object.prototype while decoding', () => {
    decodeClientMessage('{"type":"chat","__proto__":{"polluted":true}}');
    decodeClientMessage('{"type":"chat","constructor":{"prototype":{"polluted":true}}}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('decodeClientMessage: invalid_room_id', () => {
  it.each([
    ['empty', '""'],
    ['starting with a dash', '"-room"'],
    ['starting with a dot', '".hidden"'],
    ['with a space', '"a b"'],
    ['with a slash', '"a/b"'],
    ['path traversal', '"../etc"'],
    ['non-ASCII', '"röom"'],
    ['129 characters', `"${'r'.repeat(129)}"`],
    ['a number', '5'],
    ['null', 'null'],
    ['an array', '["room"]'],
    ['an object', '{"id":"room"}'],
  ])('rejects a room that is %s on any type', (_name, room) => {
    for (const type of ['chat', 'state:update', 'room:join', 'room:leave', 'cursor:update']) {
      const error = fail(`{"type":"${type}","ref":"q","room":${room}}`);
      expect(error.code).toBe(ErrorCode.InvalidRoomId);
      expect(error.message).toContain('"room"');
      expect(error.ref).toBe('q');
    }
  });

  it('accepts the full room id alphabet up to 128 characters', () => {
    const room = `a${'Z9_.:@~-'.repeat(15)}${'x'.repeat(7)}`;
    expect(room.length).toBe(128);
    expect(ok(`{"type":"room:join","room":"${room}"}`).kind).toBe('builtin');
  });
});

describe('decodeClientMessage: reserved_type', () => {
  it.each(['welcome', 'presence', 'state:init', 'ack', 'error'])('rejects "%s"', (type) => {
    const error = fail(`{"type":"${type}","ref":"x1"}`);
    expect(error.code).toBe(ErrorCode.ReservedType);
    expect(error.message).toContain(type);
    expect(error.ref).toBe('x1');
  });
});

describe('decodeClientMessage: accepted messages', () => {
  it.each(['storage:init', 'storage:ops'])('classifies %s as built in', (type) => {
    const result = ok(`{"type":"${type}","ref":"s","update":"AAE="}`);
    expect(result.kind).toBe('builtin');
    expect(result.message.type).toBe(type);
  });

  it('refuses storage:ops without an update, naming the field', () => {
    const error = fail('{"type":"storage:ops","ref":"s"}');
    expect(error.code).toBe(ErrorCode.InvalidMessage);
    expect(error.message).toContain('update');
  });

  it.each(['chat', 'presence:updated', 'cursor', 'x', '__proto__', 'toString'])(
    'classifies unknown type %s as app',
    (type) => {
      const result = ok(`{"type":"${type}","text":"hi","room":"r1"}`);
      expect(result.kind).toBe('app');
      expect(result.message).toEqual({ type, text: 'hi', room: 'r1' });
    },
  );

  it.each(['room:joined', 'room:whatever', 'room:user:joined', 'room:error'])(
    'refuses unknown room:* type %s as reserved_type (the room protocol owns that namespace)',
    (type) => {
      const result = decodeClientMessage(`{"type":"${type}","text":"hi","ref":3}`);
      expect(result).toMatchObject({ ok: false, code: ErrorCode.ReservedType, ref: 3 });
    },
  );

  it.each([
    '{"type":"heartbeat"}',
    '{"type":"presence:update","onlineStatus":"away","isIdle":true,"location":"/p","metadata":{"a":1},"avatarUrl":"u"}',
    '{"type":"cursor:update","x":1.5,"y":-2,"tool":"pen"}',
    '{"type":"state:update","key":"k","value":null}',
    '{"type":"state:update","key":"k","value":{"a":1},"merge":true,"room":"r"}',
    '{"type":"room:join","room":"r"}',
    '{"type":"room:leave","room":"r","ref":1}',
    '{"type":"room:list","ref":"l"}',
  ])('classifies %s as builtin', (text) => {
    const result = ok(text);
    expect(result.kind).toBe('builtin');
    expect(result.message).toEqual(JSON.parse(text));
  });

  it('accepts string and integer refs up to their limits', () => {
    expect(ok(`{"type":"chat","ref":"${'r'.repeat(64)}"}`).message.ref).toBe('r'.repeat(64));
    expect(ok('{"type":"chat","ref":-3}').message.ref).toBe(-3);
  });
});

describe('scanStructure', () => {
  it('ignores primitives and accepts shallow values', () => {
    for (const value of [null, 1, 'x', true, undefined]) expect(scanStructure(value, 1)).toBeNull();
    expect(scanStructure({ a: [1, { b: 2 }] }, 3)).toBeNull();
  });

  it('reports depth past the limit', () => {
    expect(scanStructure({ a: [1, { b: 2 }] }, 2)).toMatchObject({ code: ErrorCode.TooDeep });
    expect(scanStructure([], 0)).toMatchObject({ code: ErrorCode.TooDeep });
  });

  it('finds forbidden own keys anywhere', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const value = JSON.parse(`[1,{"a":[{"b":{"${key}":null}}]}]`) as unknown;
      expect(scanStructure(value, 32)).toMatchObject({ code: ErrorCode.ForbiddenKey });
    }
  });

  it('walks 100k levels iteratively', () => {
    let value: unknown = 1;
    for (let i = 0; i < 100_000; i++) value = [value];
    expect(scanStructure(value, 32)).toMatchObject({ code: ErrorCode.TooDeep });
    expect(scanStructure(value, 200_000)).toBeNull();
  });
});

describe('decodeClientMessage: properties', () => {
  const builtInTypes = [
    'heartbeat',
    'presence:update',
    'cursor:update',
    'state:update',
    'room:join',
    'room:leave',
    'room:list',
    'storage:init',
    'storage:ops',
    'welcome',
    'presence',
    'state:init',
    'ack',
    'error',
  ];

  function checkResult(text: string): void {
    let result: DecodeResult;
    try {
      result = decodeClientMessage(text);
    } catch (error) {
      throw new Error(
        `decodeClientMessage threw on ${JSON.stringify(text.slice(0, 200))}: ${error}`,
      );
    }
    if (result.ok) {
      expect(typeof result.message.type).toBe('string');
      expect(['builtin', 'app']).toContain(result.kind);
      // An accepted message never carries a structure the edge promises to refuse.
      expect(scanStructure(result.message, DEFAULT_MAX_DEPTH)).toBeNull();
    } else {
      expect(KNOWN_CODES.has(result.code)).toBe(true);
      expect(typeof result.message).toBe('string');
      if (result.ref !== undefined) expect(['string', 'number']).toContain(typeof result.ref);
    }
  }

  function stringify(value: unknown): string {
    return JSON.stringify(value) ?? String(value);
  }

  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' })), (text) =>
        checkResult(text),
      ),
      { numRuns: 500, seed: 1 },
    );
  });

  it('never throws on fc.json()', () => {
    fc.assert(
      fc.property(fc.json({ depthSize: 'medium' }), (text) => checkResult(text)),
      { numRuns: 500, seed: 2 },
    );
  });

  it('never throws on fc.jsonValue() and fc.anything(), stringified', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.jsonValue({ depthSize: 'medium' }), fc.anything({ withNullPrototype: true })),
        (value) => checkResult(stringify(value)),
      ),
      { numRuns: 500, seed: 3 },
    );
  });

  it('never throws on envelopes with built-in types and random fields', () => {
    const envelope = fc.record(
      {
        type: fc.oneof(fc.constantFrom(...builtInTypes), fc.string(), fc.jsonValue()),
        room: fc.oneof(fc.constantFrom('r', '', '-x', 'a'.repeat(129)), fc.jsonValue()),
        ref: fc.oneof(fc.string(), fc.integer(), fc.jsonValue()),
        key: fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor'), fc.jsonValue()),
        value: fc.jsonValue(),
        merge: fc.oneof(fc.boolean(), fc.jsonValue()),
        x: fc.oneof(fc.double(), fc.jsonValue()),
        y: fc.oneof(fc.double(), fc.jsonValue()),
        onlineStatus: fc.oneof(fc.constantFrom('online', 'away', 'offline'), fc.jsonValue()),
        metadata: fc.jsonValue(),
      },
      { requiredKeys: ['type'] },
    );
    fc.assert(
      fc.property(envelope, fc.dictionary(fc.string(), fc.jsonValue()), (fields, extra) =>
        checkResult(stringify({ ...extra, ...fields })),
      ),
      { numRuns: 1000, seed: 4 },
    );
  });

  it('always reports a forbidden key buried at any depth under the limit', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('__proto__', 'constructor', 'prototype'),
        fc.array(fc.constantFrom('array', 'object'), { maxLength: DEFAULT_MAX_DEPTH - 2 }),
        fc.jsonValue({ maxDepth: 0 }),
        (key, path, leaf) => {
          let inner = `{"${key}":${JSON.stringify(leaf)}}`;
          for (const step of path) inner = step === 'array' ? `[0,${inner}]` : `{"k":${inner}}`;
          const result = decodeClientMessage(`{"type":"chat","ref":"f","v":${inner}}`);
          expect(result).toMatchObject({ ok: false, code: ErrorCode.ForbiddenKey, ref: 'f' });
        },
      ),
      { numRuns: 300, seed: 5 },
    );
  });
});

describe('decodeClientMessage: Spaces events', () => {
  it('accepts each Spaces client event and names the field of a bad one, with its type', () => {
    const room = '3f2b8c1e-0000-4000-8000-000000000001';
    for (const text of [
      '{"type":"room:authenticate","token":"t"}',
      `{"type":"room:message","room":"${room}","messageType":"user_text","content":"hi"}`,
      `{"type":"room:state-update","room":"${room}","currentMode":"calm","state":{"a":1}}`,
      `{"type":"room:presence-update","room":"${room}"}`,
      `{"type":"room:voice-start","room":"${room}"}`,
      `{"type":"room:voice-stop","room":"${room}"}`,
      `{"type":"room:history","room":"${room}","before":10,"limit":5}`,
      `{"type":"room:kick","room":"${room}","userId":"bob","ban":true}`,
      `{"type":"room:join","room":"${room}","displayName":"Ann"}`,
    ]) {
      expect(decodeClientMessage(text)).toMatchObject({ ok: true, kind: 'builtin' });
    }
    const bad = decodeClientMessage(
      `{"type":"room:message","room":"${room}","messageType":"system","content":"x","ref":1}`,
    );
    expect(bad).toMatchObject({ ok: false, code: ErrorCode.InvalidMessage, type: 'room:message' });
    const empty = decodeClientMessage('{"type":"room:authenticate","token":""}');
    expect(empty).toMatchObject({ ok: false, type: 'room:authenticate' });
    expect(decodeClientMessage('{"type":"room:joined"}')).toMatchObject({
      ok: false,
      code: ErrorCode.ReservedType,
    });
  });
});
