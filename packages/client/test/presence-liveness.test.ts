/**
 * Presence never sticks: a member whose process dies (no close frame) or freezes (no FIN
 * either) leaves the others' presence within the server's heartbeat timeout, and a user who comes
 * back while the old connection lingers is never shown twice.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RoomServer } from '../../server/src/index.js';
import { usePresence } from '../src/index.js';
import { connectClient, eventually, record, startServer, until } from './helpers.js';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));
// Inside node_modules, so the bundle's bare imports (ws, yjs) resolve to the workspace's.
const outDir = source('../../../node_modules/.cache/roomkit-client-tests');
const memberScript = `${outDir}/member-${process.pid}.mjs`;
const HEARTBEAT = { intervalMs: 100, checkIntervalMs: 50, timeoutMs: 300 };

beforeAll(async () => {
  // Built from the TypeScript sources, so the child runs exactly the code under test.
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [source('./fixtures/member.ts')],
    outfile: memberScript,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['ws', 'yjs', 'lib0', 'lib0/*', '@preact/signals-core'],
    alias: { '@roomkit/protocol': source('../../protocol/src') },
    logLevel: 'silent',
  });
});

afterAll(() => rmSync(memberScript, { force: true }));

const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

/** A member process for `userId` in `room`, resolved once it has joined. */
async function spawnMember(
  server: RoomServer,
  userId: string,
  room: string,
): Promise<ChildProcess> {
  const url = `ws://127.0.0.1:${server.port}/rooms`;
  const child = spawn(process.execPath, [memberScript, url, userId, room], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${userId} did not join`)), 10_000);
    child.once('exit', (code) => reject(new Error(`${userId} exited with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (!String(chunk).includes('joined')) return;
      clearTimeout(timer);
      resolve();
    });
  });
  return child;
}

describe('presence never sticks', () => {
  it('a killed client (no close frame) leaves the others’ presence', async () => {
    const server = await startServer({ heartbeat: HEARTBEAT });
    const bob = connectClient(server, 'bob');
    const presence = usePresence({ client: bob, room: 'r' });
    const child = await spawnMember(server, 'alice', 'r');
    await until(presence.others, (o) => o.some((p) => p.user.id === 'alice'));
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await until(presence.others, (o) => o.length === 0, 5000, 'alice gone');
    expect(Date.now() - killedAt).toBeLessThan(
      HEARTBEAT.timeoutMs + HEARTBEAT.checkIntervalMs + 500,
    );
    expect(presence.count()).toBe(1);
  }, 20_000);

  it('a frozen client (no FIN either) leaves within the heartbeat timeout', async () => {
    const server = await startServer({ heartbeat: HEARTBEAT });
    const bob = connectClient(server, 'bob');
    const presence = usePresence({ client: bob, room: 'r' });
    const child = await spawnMember(server, 'alice', 'r');
    await until(presence.others, (o) => o.some((p) => p.user.id === 'alice'));
    const frozenAt = Date.now();
    child.kill('SIGSTOP');
    await until(presence.others, (o) => o.length === 0, 5000, 'alice gone');
    const elapsed = Date.now() - frozenAt;
    // The server needs `timeoutMs` of silence, noticed at its next check.
    expect(elapsed).toBeGreaterThanOrEqual(HEARTBEAT.timeoutMs - HEARTBEAT.intervalMs);
    expect(elapsed).toBeLessThan(HEARTBEAT.timeoutMs + HEARTBEAT.checkIntervalMs + 1000);
  }, 20_000);

  it('a user who comes back while the old connection lingers is shown once', async () => {
    const server = await startServer({ heartbeat: HEARTBEAT });
    const bob = connectClient(server, 'bob');
    const presence = usePresence({ client: bob, room: 'r' });
    const child = await spawnMember(server, 'alice', 'r');
    await until(presence.others, (o) => o.some((p) => p.user.id === 'alice'));
    const others = record(presence.others);
    const count = record(presence.count);
    // The "page reload": the old page froze, the new one connects as the same user.
    child.kill('SIGSTOP');
    const reloaded = connectClient(server, 'alice');
    usePresence({ client: reloaded, room: 'r' });
    const room = () => server.getRoomManager().get('r')!;
    await eventually(() => room().connectionsOf('alice') === 2, 5000, 'both connections in');
    await eventually(() => room().connectionsOf('alice') === 1, 5000, 'the old one dropped');
    await until(presence.others, (o) => o.length === 1 && o[0]!.user.id === 'alice');
    expect(
      others.values.every((list) => list.filter((p) => p.user.id === 'alice').length <= 1),
    ).toBe(true);
    expect(Math.max(...count.values)).toBe(2);
    expect(presence.count()).toBe(2);
  }, 20_000);
});
