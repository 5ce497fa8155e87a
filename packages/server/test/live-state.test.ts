import { describe, expect, it } from 'vitest';
import type { StateEntry } from '../src/index.js';
import {
  join,
  type Received,
  sentinel,
  startServer,
  type TestClient,
  waitUntil,
} from './helpers.js';

function statesOf(message: Received | undefined): Record<string, StateEntry> {
  if (message?.type !== 'state:init') {
    throw new Error(`not a state:init message: ${JSON.stringify(message)}`);
  }
  const { states } = message;
  if (typeof states !== 'object' || states === null || Array.isArray(states)) {
    throw new Error(`state:init without a states object: ${JSON.stringify(message)}`);
  }
  return states as Record<string, StateEntry>;
}

/** The snapshot a client got when it joined. */
function initOf(client: TestClient): Record<string, StateEntry> {
  return statesOf(client.all('state:init')[0]);
}

function updatesFor(client: TestClient, key: string): Received[] {
  return client.all('state:update').filter((m) => m.key === key);
}

/** Writes `key` and waits until the writer has its own update back (updates go to everyone). */
async function write(
  client: TestClient,
  key: string,
  value: unknown,
  merge?: boolean,
): Promise<Received> {
  client.send(
    merge === undefined
      ? { type: 'state:update', key, value }
      : { type: 'state:update', key, value, merge },
  );
  const userId = client.all('welcome')[0]?.userId;
  // A plain write comes back with exactly its value; a merge with the merged one.
  const expected = JSON.stringify(value);
  return client.next(
    (m) =>
      m.type === 'state:update' &&
      m.key === key &&
      m.userId === userId &&
      (merge === true || JSON.stringify(m.value) === expected),
  );
}

describe('live state', () => {
  it('sends state:init on join with the existing keys as {value, timestamp, userId}', async () => {
    const server = await startServer();
    const alice = await join(server, 's-init', 'alice');
    expect(alice.all('state:init')[0]).toEqual({ type: 'state:init', room: 's-init', states: {} });

    const color = await write(alice, 'color', 'red');
    const pos = await write(alice, 'pos', { x: 1, y: [2, 3] });

    const bob = await join(server, 's-init', 'bob');
    expect(bob.all('state:init')[0]?.room).toBe('s-init');
    expect(initOf(bob)).toEqual({
      color: { value: 'red', timestamp: color.timestamp, userId: 'alice' },
      pos: { value: { x: 1, y: [2, 3] }, timestamp: pos.timestamp, userId: 'alice' },
    });
  });

  it('broadcasts state:update to everyone, the sender included, stamped by the server', async () => {
    const server = await startServer();
    const alice = await join(server, 's-update', 'alice');
    const bob = await join(server, 's-update', 'bob');

    const before = Date.now();
    const reply = await alice.request({ type: 'state:update', key: 'title', value: 'Hello' });
    expect(reply).toMatchObject({ type: 'ack' });
    const expected = {
      type: 'state:update',
      room: 's-update',
      key: 'title',
      value: 'Hello',
      userId: 'alice',
    };
    const atBob = await bob.next('state:update');
    expect(atBob).toMatchObject(expected);
    expect(Object.keys(atBob).sort()).toEqual(
      ['key', 'room', 'timestamp', 'type', 'userId', 'value'].sort(),
    );
    const atAlice = updatesFor(alice, 'title');
    expect(atAlice).toHaveLength(1);
    expect(atAlice[0]).toEqual(atBob);
    expect(typeof atBob.timestamp).toBe('number');
    expect(atBob.timestamp as number).toBeGreaterThanOrEqual(before);

    // Values of any JSON type, including null, are stored as given.
    await write(bob, 'nothing', null);
    await write(bob, 'list', [1, 'two', { three: 3 }]);
    const carol = await join(server, 's-update', 'carol');
    expect(initOf(carol)).toMatchObject({
      title: { value: 'Hello', userId: 'alice' },
      nothing: { value: null, userId: 'bob' },
      list: { value: [1, 'two', { three: 3 }], userId: 'bob' },
    });
  });

  it('timestamps strictly increase across writes and writers (server clock, not the client)', async () => {
    const server = await startServer();
    const alice = await join(server, 's-clock', 'alice');
    const bob = await join(server, 's-clock', 'bob');
    const observer = await join(server, 's-clock', 'observer');

    const writes = 40;
    for (let i = 0; i < writes; i++) {
      (i % 2 === 0 ? alice : bob).send({ type: 'state:update', key: `k${i % 3}`, value: i });
    }
    await waitUntil(() => observer.all('state:update').length === writes, 3000, 'all writes');
    const updates = observer.all('state:update');
    const timestamps = updates.map((m) => m.timestamp as number);
    for (let i = 1; i < timestamps.length; i++) {
      expect(timestamps[i]!).toBeGreaterThan(timestamps[i - 1]!);
    }
    // Close to wall-clock time: a hybrid logical clock runs ahead by at most the burst.
    expect(timestamps.at(-1)!).toBeLessThanOrEqual(Date.now() + writes);

    const late = await write(alice, 'k0', 'late');
    expect(late.timestamp as number).toBeGreaterThan(timestamps.at(-1)!);
  });

  it('accepts and ignores a client-supplied timestamp (docs/protocol.md 5.7): the server clock stamps every write', async () => {
    const server = await startServer();
    const alice = await join(server, 's-client-ts', 'alice');
    const observer = await join(server, 's-client-ts', 'observer');
    const first = await write(alice, 'k', 'first');

    const farFuture = 9_999_999_999_999;
    for (const [i, timestamp] of [1, farFuture].entries()) {
      const before = Date.now();
      const reply = await alice.request({ type: 'state:update', key: 'k', value: i, timestamp });
      expect(reply).toMatchObject({ type: 'ack' });
      const stamped = await observer.next((m) => m.type === 'state:update' && m.value === i);
      expect(stamped).toMatchObject({ key: 'k', userId: 'alice' });
      expect(stamped.timestamp).not.toBe(timestamp);
      expect(stamped.timestamp as number).toBeGreaterThan(first.timestamp as number);
      expect(stamped.timestamp as number).toBeGreaterThanOrEqual(before);
      expect(stamped.timestamp as number).toBeLessThanOrEqual(Date.now() + 100);
    }
    // The far-future stamp did not drag the clock forward: a later write is near wall time.
    const after = await write(alice, 'k', 'after');
    expect(after.timestamp as number).toBeLessThanOrEqual(Date.now() + 100);
    const carol = await join(server, 's-client-ts', 'carol');
    expect(initOf(carol).k).toEqual({
      value: 'after',
      timestamp: after.timestamp,
      userId: 'alice',
    });
  });

  it('rejects a client-supplied userId (an unknown field) as invalid_message, applying nothing', async () => {
    const server = await startServer();
    const alice = await join(server, 's-reject-user', 'alice');
    const observer = await join(server, 's-reject-user', 'observer');
    await write(alice, 'k', 'kept');

    for (const extra of [{ userId: 'observer' }, { from: 'observer' }]) {
      const reply = await alice.request({ type: 'state:update', key: 'k', value: 'x', ...extra });
      expect(reply, JSON.stringify(extra)).toMatchObject({
        type: 'error',
        code: 'invalid_message',
      });
      expect(String(reply.message)).toContain(Object.keys(extra)[0]!);
    }
    await sentinel(alice, observer);
    expect(updatesFor(observer, 'k').map((m) => m.value)).toEqual(['kept']);
  });

  it('merge: true shallow-merges into an object value', async () => {
    const server = await startServer();
    const alice = await join(server, 's-merge', 'alice');
    const bob = await join(server, 's-merge', 'bob');

    await write(alice, 'doc', { a: 1, b: { c: 1, keep: true } });
    const merged = await write(bob, 'doc', { b: { d: 2 }, e: 3 }, true);
    // Shallow: `b` is replaced, not merged recursively.
    expect(merged).toMatchObject({ value: { a: 1, b: { d: 2 }, e: 3 }, userId: 'bob' });
    expect(
      (await alice.next((m) => m.type === 'state:update' && m.userId === 'bob')).value,
    ).toEqual({ a: 1, b: { d: 2 }, e: 3 });

    // Merge into a missing key, or over a non-object value, stores the object itself.
    expect((await write(alice, 'fresh', { only: 1 }, true)).value).toEqual({ only: 1 });
    await write(alice, 'scalar', 5);
    expect((await write(alice, 'scalar', { now: 'object' }, true)).value).toEqual({
      now: 'object',
    });
    // merge: false replaces.
    expect((await write(alice, 'doc', { z: 26 }, false)).value).toEqual({ z: 26 });

    const carol = await join(server, 's-merge', 'carol');
    expect(initOf(carol)).toMatchObject({
      doc: { value: { z: 26 } },
      fresh: { value: { only: 1 } },
      scalar: { value: { now: 'object' } },
    });
  });

  it('rejects merge with a non-object value as invalid_message, applying nothing', async () => {
    const server = await startServer();
    const alice = await join(server, 's-merge-bad', 'alice');
    const bob = await join(server, 's-merge-bad', 'bob');
    await write(alice, 'doc', { a: 1 });

    for (const value of [5, 'text', null, [1, 2], true]) {
      const reply = await alice.request({ type: 'state:update', key: 'doc', value, merge: true });
      expect(reply, JSON.stringify(value)).toMatchObject({
        type: 'error',
        code: 'invalid_message',
      });
      expect(String(reply.message)).toContain('value');
    }
    await sentinel(alice, bob);
    expect(updatesFor(bob, 'doc')).toHaveLength(1);
    const carol = await join(server, 's-merge-bad', 'carol');
    expect(initOf(carol).doc?.value).toEqual({ a: 1 });
  });

  it('rejects __proto__/constructor/prototype keys (in the value or as the key) with forbidden_key', async () => {
    const server = await startServer();
    const alice = await join(server, 's-proto', 'alice');
    const bob = await join(server, 's-proto', 'bob');
    await write(alice, 'obj', { safe: true });

    // Raw frames: a JS object literal cannot carry an own `__proto__` key.
    const frames = [
      '{"type":"state:update","key":"obj","value":{"__proto__":{"polluted":true}}}',
      '{"type":"state:update","key":"obj","value":{"__proto__":{"polluted":true}},"merge":true}',
      '{"type":"state:update","key":"obj","value":{"constructor":{"prototype":{"polluted":true}}},"merge":true}',
      '{"type":"state:update","key":"obj","value":{"a":{"b":[{"prototype":{"polluted":true}}]}}}',
      '{"type":"state:update","key":"__proto__","value":{"polluted":true}}',
      '{"type":"state:update","key":"constructor","value":{"polluted":true}}',
      '{"type":"state:update","key":"prototype","value":{"polluted":true},"merge":true}',
    ];
    for (const [i, frame] of frames.entries()) {
      alice.send(frame.replace('{"type"', `{"ref":"p${i}","type"`));
      const reply = await alice.next((m) => m.ref === `p${i}`);
      expect(reply, frame).toMatchObject({ type: 'error', code: 'forbidden_key' });
    }

    await write(alice, 'ok', 1);
    await sentinel(alice, bob);
    expect(bob.all('state:update').map((m) => m.key)).toEqual(['obj', 'ok']);
    const carol = await join(server, 's-proto', 'carol');
    const states = initOf(carol);
    expect(Object.keys(states).sort()).toEqual(['obj', 'ok']);
    expect(states.obj?.value).toEqual({ safe: true });
    expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a new key past limits.maxStateKeys with state_limit; existing keys stay writable', async () => {
    const server = await startServer({ limits: { maxStateKeys: 2 } });
    const alice = await join(server, 's-limit', 'alice');
    const bob = await join(server, 's-limit', 'bob');
    await write(alice, 'a', 1);
    await write(alice, 'b', 2);

    const reply = await alice.request({ type: 'state:update', key: 'c', value: 3 });
    expect(reply).toMatchObject({ type: 'error', code: 'state_limit' });
    expect((await write(alice, 'a', 10)).value).toBe(10);
    await sentinel(alice, bob);
    expect(updatesFor(bob, 'c')).toEqual([]);
    const carol = await join(server, 's-limit', 'carol');
    expect(Object.keys(initOf(carol)).sort()).toEqual(['a', 'b']);
  });

  it('refuses a merge whose result would pass limits.maxMessageBytes with state_limit', async () => {
    const server = await startServer({ limits: { maxMessageBytes: 1024 } });
    const alice = await join(server, 's-merge-size', 'alice');
    const bob = await join(server, 's-merge-size', 'bob');
    await write(alice, 'big', { a: 'x'.repeat(600) });

    const reply = await alice.request({
      type: 'state:update',
      key: 'big',
      value: { b: 'y'.repeat(600) },
      merge: true,
    });
    expect(reply).toMatchObject({ type: 'error', code: 'state_limit' });
    await sentinel(alice, bob);
    expect(updatesFor(bob, 'big')).toHaveLength(1);
    const carol = await join(server, 's-merge-size', 'carol');
    expect(initOf(carol).big?.value).toEqual({ a: 'x'.repeat(600) });
  });

  it('keeps the state for a rejoin within the cleanup grace, and drops it after', async () => {
    const server = await startServer({ roomConfig: { cleanupTimeoutMs: 60_000 } });
    const alice = await join(server, 's-grace', 'alice');
    const written = await write(alice, 'note', 'remember me');
    await alice.close();
    const rooms = server.getRoomManager();
    await waitUntil(() => rooms.get('s-grace')?.size === 0, 3000, 'the room to empty');
    expect(rooms.hasPendingCleanup('s-grace')).toBe(true);

    const back = await join(server, 's-grace', 'alice');
    expect(initOf(back)).toEqual({
      note: { value: 'remember me', timestamp: written.timestamp, userId: 'alice' },
    });
    expect(rooms.hasPendingCleanup('s-grace')).toBe(false);

    const short = await startServer({ roomConfig: { cleanupTimeoutMs: 30 } });
    const bob = await join(short, 's-expire', 'bob');
    await write(bob, 'note', 'forget me');
    await bob.close();
    await waitUntil(() => short.getRoomManager().get('s-expire') === undefined, 3000, 'cleanup');
    const later = await join(short, 's-expire', 'bob');
    expect(initOf(later)).toEqual({});
  });
});
