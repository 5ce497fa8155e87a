import type { CursorPosition } from '@roomkit/protocol';
import { describe, expect, it } from 'vitest';
import type { ServerConfig } from '../src/index.js';
import {
  join,
  type Received,
  sentinel,
  startServer,
  type TestClient,
  waitUntil,
} from './helpers.js';

const CONFIG: ServerConfig = { cursorFlushMs: 40 };

type Cursor = CursorPosition;

function cursorOf(message: Received): Cursor {
  const cursor = message.cursor;
  if (message.type !== 'cursor:update' || typeof cursor !== 'object' || cursor === null) {
    throw new Error(`not a cursor message: ${JSON.stringify(message)}`);
  }
  return cursor as Cursor;
}

function cursorsFrom(client: TestClient, userId: string): Cursor[] {
  return client
    .all('cursor:update')
    .map(cursorOf)
    .filter((cursor) => cursor.userId === userId);
}

function welcomeColor(client: TestClient): unknown {
  return client.all('welcome')[0]?.color;
}

describe('cursors', () => {
  it('relays cursor:update to the others, never the sender, stamped with who and when', async () => {
    const server = await startServer(CONFIG);
    const alice = await join(server, 'c-relay', 'alice', 'Alice');
    const bob = await join(server, 'c-relay', 'bob');
    const carol = await join(server, 'c-relay', 'carol');

    const before = Date.now();
    alice.send({ type: 'cursor:update', x: 10.5, y: -20, tool: 'pen', meta: { pressure: 0.5 } });
    for (const other of [bob, carol]) {
      const message = await other.next('cursor:update');
      expect(Object.keys(message).sort()).toEqual(['cursor', 'room', 'type']);
      expect(message.room).toBe('c-relay');
      const cursor = cursorOf(message);
      expect(cursor).toEqual({
        userId: 'alice',
        displayName: 'Alice',
        color: welcomeColor(alice),
        x: 10.5,
        y: -20,
        tool: 'pen',
        meta: { pressure: 0.5 },
        lastUpdate: cursor.lastUpdate,
      });
      expect(cursor.lastUpdate).toBeGreaterThanOrEqual(before);
      expect(cursor.lastUpdate).toBeLessThanOrEqual(Date.now());
    }

    // The flush that reached bob would have reached alice before bob's sentinel does.
    await sentinel(bob, alice);
    expect(alice.all('cursor:update')).toEqual([]);
  });

  it('does not let a client spoof userId, displayName, color or lastUpdate through extra fields', async () => {
    const server = await startServer(CONFIG);
    const alice = await join(server, 'c-spoof', 'alice', 'Alice');
    const bob = await join(server, 'c-spoof', 'bob');

    const before = Date.now();
    alice.send({
      type: 'cursor:update',
      x: 1,
      y: 2,
      userId: 'bob',
      displayName: 'Mallory',
      color: '#000000',
      lastUpdate: 5,
      cursor: { userId: 'bob' },
      label: 'ok',
    });
    const cursor = cursorOf(await bob.next('cursor:update'));
    expect(cursor.userId).toBe('alice');
    expect(cursor.displayName).toBe('Alice');
    expect(cursor.color).toBe(welcomeColor(alice));
    expect(cursor.color).not.toBe('#000000');
    expect(cursor.lastUpdate).toBeGreaterThanOrEqual(before);
    expect(cursor.label).toBe('ok');
    expect({ x: cursor.x, y: cursor.y }).toEqual({ x: 1, y: 2 });
  });

  it('coalesces rapid updates from one user within a flush interval; the last one is the final position', async () => {
    const server = await startServer(CONFIG);
    const alice = await join(server, 'c-coalesce', 'alice');
    const bob = await join(server, 'c-coalesce', 'bob');

    const moves = 100;
    for (let i = 1; i <= moves; i++) alice.send({ type: 'cursor:update', x: i, y: i * 2 });
    await bob.next((m) => m.type === 'cursor:update' && cursorOf(m).x === moves);
    // Nothing about alice's cursor comes after the final position.
    await sentinel(alice, bob);

    const received = cursorsFrom(bob, 'alice');
    expect(received.length).toBeGreaterThan(0);
    expect(received.length).toBeLessThanOrEqual(10);
    expect(received.at(-1)).toMatchObject({ x: moves, y: moves * 2 });
    // Positions only move forward: no stale position is delivered after a newer one.
    const xs = received.map((cursor) => cursor.x);
    expect([...xs].sort((a, b) => a - b)).toEqual(xs);
  });

  it('with two movers, delivers the latest position of each (no user dropped)', async () => {
    const server = await startServer(CONFIG);
    const alice = await join(server, 'c-two', 'alice');
    const carol = await join(server, 'c-two', 'carol');
    const bob = await join(server, 'c-two', 'bob');

    const moves = 50;
    for (let i = 1; i <= moves; i++) {
      alice.send({ type: 'cursor:update', x: i, y: 0 });
      carol.send({ type: 'cursor:update', x: 0, y: i });
    }
    const done = (): boolean =>
      cursorsFrom(bob, 'alice').some((cursor) => cursor.x === moves) &&
      cursorsFrom(bob, 'carol').some((cursor) => cursor.y === moves);
    await waitUntil(done, 3000, "both movers' final positions");
    await sentinel(alice, bob);
    await sentinel(carol, bob);

    const fromAlice = cursorsFrom(bob, 'alice');
    const fromCarol = cursorsFrom(bob, 'carol');
    expect(fromAlice.at(-1)).toMatchObject({ x: moves, y: 0 });
    expect(fromCarol.at(-1)).toMatchObject({ x: 0, y: moves });
    expect(fromAlice.length).toBeLessThanOrEqual(10);
    expect(fromCarol.length).toBeLessThanOrEqual(10);

    // Each mover gets the other's cursor, never its own.
    await waitUntil(
      () => cursorsFrom(alice, 'carol').some((cursor) => cursor.y === moves),
      3000,
      "carol's final position at alice",
    );
    await waitUntil(
      () => cursorsFrom(carol, 'alice').some((cursor) => cursor.x === moves),
      3000,
      "alice's final position at carol",
    );
    await sentinel(bob, alice);
    await sentinel(bob, carol);
    expect(cursorsFrom(alice, 'alice')).toEqual([]);
    expect(cursorsFrom(carol, 'carol')).toEqual([]);
  });

  it('rejects non-numeric or missing x/y as invalid_message and relays nothing', async () => {
    const server = await startServer(CONFIG);
    const alice = await join(server, 'c-invalid', 'alice');
    const bob = await join(server, 'c-invalid', 'bob');

    const cases: Array<[Record<string, unknown>, string]> = [
      [{ x: '10', y: 2 }, 'x'],
      [{ x: 1, y: '2' }, 'y'],
      [{ x: null, y: 2 }, 'x'],
      [{ x: 1, y: { value: 2 } }, 'y'],
      [{ x: [1], y: 2 }, 'x'],
      [{ y: 2 }, 'x'],
      [{ x: 1 }, 'y'],
    ];
    for (const [fields, field] of cases) {
      const reply = await alice.request({ type: 'cursor:update', ...fields });
      expect(reply, JSON.stringify(fields)).toMatchObject({
        type: 'error',
        code: 'invalid_message',
      });
      expect(String(reply.message), JSON.stringify(fields)).toContain(`"${field}"`);
    }

    // A valid update afterwards is the only cursor bob ever sees.
    alice.send({ type: 'cursor:update', x: 7, y: 8 });
    await bob.next('cursor:update');
    await sentinel(alice, bob);
    expect(cursorsFrom(bob, 'alice').map((cursor) => [cursor.x, cursor.y])).toEqual([[7, 8]]);
  });
});
