import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pollExtension } from '../../../examples/extension-poll.mjs';
import {
  defineMessage,
  type Extension,
  ExtensionError,
  type Logger,
  RoomServer,
  Type,
} from '../src/index.js';
import {
  join,
  type Received,
  sentinel,
  startServer,
  upgradeStatus,
  waitUntil,
  wsUrl,
} from './helpers.js';

const tallyOf = (m: Received) => m.counts as Record<string, number>;

/** A logger that keeps error lines, to assert what a failing hook logs. */
function recordingLogger(): Logger & { errors: unknown[] } {
  const errors: unknown[] = [];
  return {
    errors,
    debug() {},
    info() {},
    warn() {},
    error(...args: unknown[]) {
      errors.push(args);
    },
  } as unknown as Logger & { errors: unknown[] };
}

describe('extensions: the poll example', () => {
  it('a vote is validated, stored in the room state, and every member (on any node) sees the tally', async () => {
    const server = await startServer({ extensions: [pollExtension({ options: ['yes', 'no'] })] });
    const alice = await join(server, 'poll', 'alice');
    expect(tallyOf(await alice.next('poll:tally'))).toEqual({ yes: 0, no: 0 });
    const bob = await join(server, 'poll', 'bob');
    await bob.next('poll:tally');

    const voted = await alice.request({ type: 'poll:vote', payload: { option: 'yes' } });
    expect(voted).toMatchObject({ type: 'poll:tally', counts: { yes: 1, no: 0 } });
    // The vote is room state: bob's node holds it too (votes from any node count the same).
    await bob.next((m) => m.type === 'state:update' && m.key === 'poll:vote:alice');
    expect(tallyOf(await bob.next('poll:tally'))).toEqual({ yes: 1, no: 0 });

    const bobVote = await bob.request({ type: 'poll:vote', payload: { option: 'no' } });
    expect(tallyOf(bobVote)).toEqual({ yes: 1, no: 1 });
    // A second vote replaces the first.
    const changed = await alice.request({ type: 'poll:vote', payload: { option: 'no' } });
    expect(tallyOf(changed)).toEqual({ yes: 0, no: 2 });
    const carol = await join(server, 'poll', 'carol');
    expect(tallyOf(await carol.next('poll:tally'))).toEqual({ yes: 0, no: 2 });
  });

  it('a payload the schema refuses gets invalid_message naming the field; nothing changes', async () => {
    const server = await startServer({ extensions: [pollExtension({ options: ['yes', 'no'] })] });
    const alice = await join(server, 'poll-bad', 'alice');
    const refused = await alice.request({ type: 'poll:vote', payload: { option: 'maybe' } });
    expect(refused).toMatchObject({ type: 'error', code: 'invalid_message' });
    expect(refused.message).toContain('poll:vote: field "payload.option"');
    const extra = await alice.request({ type: 'poll:vote', payload: { option: 'yes', x: 1 } });
    expect(extra).toMatchObject({ type: 'error', code: 'invalid_message' });
    const missing = await alice.request({ type: 'poll:vote' });
    expect(missing.message).toContain('field "payload"');
    expect(alice.all('state:update')).toEqual([]);
    // The connection is fine.
    expect(await alice.request({ type: 'poll:vote', payload: { option: 'no' } })).toMatchObject({
      type: 'poll:tally',
    });
  });

  it('onMessage refuses an application message with the extension code; others are relayed', async () => {
    const server = await startServer({
      extensions: [pollExtension({ options: ['a'], maxChatLength: 5 })],
    });
    const alice = await join(server, 'chat', 'alice');
    const bob = await join(server, 'chat', 'bob');
    const refused = await alice.request({ type: 'chat', payload: { text: 'far too long' } });
    expect(refused).toMatchObject({ type: 'error', code: 'chat_too_long' });
    alice.send({ type: 'chat', payload: { text: 'hi' } });
    await bob.next((m) => m.type === 'chat' && (m.payload as { text: string }).text === 'hi');
    await sentinel(alice, bob);
    expect(bob.all('chat')).toHaveLength(1);
  });

  it('property: any payload gets an answer (the tally or invalid_message), never a crash', async () => {
    const server = await startServer({ extensions: [pollExtension({ options: ['yes', 'no'] })] });
    const alice = await join(server, 'poll-fuzz', 'alice');
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (payload) => {
        const reply = await alice.request({ type: 'poll:vote', payload });
        expect(['poll:tally', 'error']).toContain(reply.type);
        // Keys that could reach a prototype are refused by the protocol edge itself.
        if (reply.type === 'error')
          expect(['invalid_message', 'forbidden_key']).toContain(reply.code);
      }),
      { numRuns: 60 },
    );
    expect(await alice.request({ type: 'heartbeat' })).toMatchObject({ type: 'ack' });
  });
});

describe('extensions: the documented example', () => {
  it('node examples/extension-poll.mjs prints exactly what docs/extensions.md shows', async () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const doc = readFileSync(`${root}docs/extensions.md`, 'utf8');
    const shown = /```\n(alice joins[\s\S]*?)```/.exec(doc)?.[1];
    expect(shown).toBeDefined();
    // The example imports the built package (`npm install` builds it), as a user would run it.
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['examples/extension-poll.mjs'],
        { cwd: root, timeout: 10_000 },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      );
    });
    expect(output).toBe(shown);
  });
});

describe('extensions: the interface', () => {
  it('hooks take payload objects: connect, join, leave, disconnect, room unload, destroy', async () => {
    const calls: string[] = [];
    const extension: Extension = {
      name: 'audit',
      onConnect: ({ connection }) => void calls.push(`connect:${connection.userId}`),
      onJoin: ({ connection, room }) => void calls.push(`join:${connection.userId}:${room.id}`),
      onLeave: ({ connection, room }) => void calls.push(`leave:${connection.userId}:${room.id}`),
      onDisconnect: ({ connection }) => void calls.push(`disconnect:${connection.userId}`),
      onRoomUnload: ({ roomId, reason }) => void calls.push(`unload:${roomId}:${reason}`),
      onDestroy: () => void calls.push('destroy'),
    };
    const server = new RoomServer({
      extensions: [extension],
      roomConfig: { cleanupTimeoutMs: 10 },
      logger: recordingLogger(),
    });
    await server.start(0);
    try {
      const alice = await join(server, 'audited', 'alice');
      await waitUntil(() => calls.includes('join:alice:audited'));
      await alice.close();
      await waitUntil(() => calls.includes('unload:audited:empty'), 3000, JSON.stringify(calls));
    } finally {
      await server.stop();
    }
    expect(calls).toEqual([
      'join:alice:audited',
      'connect:alice',
      'leave:alice:audited',
      'disconnect:alice',
      'unload:audited:empty',
      'destroy',
    ]);
  });

  it('onAuthenticate sees who connects and may refuse the upgrade (403 forbidden with its reason)', async () => {
    const seen: string[] = [];
    const server = await startServer({
      limits: { authTimeoutMs: 200 },
      extensions: [
        {
          name: 'gate',
          async onAuthenticate({ userId, roomId, verified, request }) {
            seen.push(`${userId}:${roomId}:${verified}:${request.url.split('?')[0]}`);
            if (userId === 'mallory') throw new Error('mallory is not welcome');
            if (userId === 'slow') await new Promise((resolve) => setTimeout(resolve, 2000));
          },
        },
      ],
    });
    const refused = await upgradeStatus(wsUrl(server, '/rooms/gated', 'userId=mallory'));
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toEqual({
      error: { code: 'forbidden', message: 'mallory is not welcome' },
    });
    const late = await upgradeStatus(wsUrl(server, '/rooms/gated', 'userId=slow'));
    expect(late.status).toBe(403);
    const alice = await join(server, 'gated', 'alice');
    expect(await alice.request({ type: 'heartbeat' })).toMatchObject({ type: 'ack' });
    expect(seen).toContain('alice:gated:false:/rooms/gated');
  });

  it('a failing hook is logged and changes nothing; a throwing handler is internal_error', async () => {
    const logger = recordingLogger();
    const server = await startServer({
      logger,
      extensions: [
        {
          name: 'broken',
          onJoin: async () => {
            throw new Error('hook down');
          },
          messages: [
            defineMessage({
              type: 'broken:go',
              payload: Type.Unknown(),
              handle: () => {
                throw new Error('handler down');
              },
            }),
          ],
        },
      ],
    });
    const alice = await join(server, 'broken', 'alice');
    await waitUntil(() => logger.errors.length > 0);
    const reply = await alice.request({ type: 'broken:go' });
    expect(reply).toMatchObject({ type: 'error', code: 'internal_error' });
    expect(await alice.request({ type: 'heartbeat' })).toMatchObject({ type: 'ack' });
  });

  it('an async handler holds the connection’s next messages, so they keep their order', async () => {
    const order: string[] = [];
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const server = await startServer({
      extensions: [
        {
          name: 'slow',
          messages: [
            defineMessage({
              type: 'slow:first',
              payload: Type.Unknown(),
              handle: async () => {
                await gate;
                order.push('first');
                return { type: 'slow:done' };
              },
            }),
            defineMessage({
              type: 'slow:second',
              scope: 'connection',
              payload: Type.Unknown(),
              handle: () => {
                order.push('second');
                return undefined;
              },
            }),
          ],
        },
      ],
    });
    const alice = await join(server, 'slow', 'alice');
    alice.send({ type: 'slow:first', ref: 1 });
    alice.send({ type: 'slow:second', ref: 2 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([]);
    release();
    expect(await alice.next((m) => m.ref === 1)).toMatchObject({ type: 'slow:done' });
    expect(await alice.next((m) => m.ref === 2)).toMatchObject({ type: 'ack' });
    expect(order).toEqual(['first', 'second']);
  });

  it('an ExtensionError refuses with its own code; bad definitions fail at construction', async () => {
    const server = await startServer({
      extensions: [
        {
          name: 'strict',
          messages: [
            defineMessage({
              type: 'strict:go',
              payload: Type.Unknown(),
              handle: () => {
                throw new ExtensionError('not_today', 'come back tomorrow');
              },
            }),
          ],
        },
      ],
    });
    const alice = await join(server, 'strict', 'alice');
    expect(await alice.request({ type: 'strict:go' })).toMatchObject({
      type: 'error',
      code: 'not_today',
      message: 'come back tomorrow',
    });
    const make = (type: string) => () =>
      new RoomServer({
        extensions: [
          {
            name: 'x',
            messages: [defineMessage({ type, payload: Type.Unknown(), handle: () => undefined })],
          },
        ],
      });
    expect(make('state:update')).toThrow(/built-in message type/);
    expect(make('room:mine')).toThrow(/reserved/);
    expect(make('has space')).toThrow(/printable/);
    expect(() => new ExtensionError('Bad Code', 'x')).toThrow(TypeError);
    expect(() => new RoomServer({ extensions: [{ name: '' }] })).toThrow(/name/);
  });
});
