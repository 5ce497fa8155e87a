/**
 * The client in Chromium: the shared scenarios (../scenarios, also run in Node by
 * scenarios.node.test.ts) bundled with the client's TypeScript sources into a test page, on the
 * browser's own WebSocket; then what only a browser does to a connection: reload and close.
 */
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle } from '../../../../examples/serve.mjs';
import { RoomServer } from '../../../server/src/index.js';
import { usePresence, WebSocketClient } from '../../src/index.js';
import { until } from '../scenarios/env.js';
import { scenarios } from '../scenarios/index.js';
import { chromiumSuite, launchChromium, serveFiles } from './chromium.js';
import { connectionsOf, dropConnections, waitFor } from './server-control.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const HTML =
  '<!doctype html><meta charset="utf-8"><title>roomkit test</title><script type="module" src="/page.js"></script>';
const suite = chromiumSuite('client in Chromium');

describe.skipIf(suite.skip)(suite.title, () => {
  let server: RoomServer;
  let serverUrl: string;
  let site: Awaited<ReturnType<typeof serveFiles>> | undefined;
  let built: { code: string; inputs: string[] };
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    server = new RoomServer({ logger: silent });
    await server.start(0);
    serverUrl = `ws://127.0.0.1:${server.port}/rooms`;
    built = await bundle(fileURLToPath(new URL('./page.ts', import.meta.url)), {
      fromSource: true,
    });
    site = await serveFiles({
      '/': { type: 'text/html; charset=utf-8', body: HTML },
      '/page.js': { type: 'text/javascript; charset=utf-8', body: built.code },
    });
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.exposeFunction('roomkitDrop', (userId: string) => dropConnections(server, userId));
    await page.goto(`${site.url}/`);
    await page.waitForFunction(() => window.roomkitTest !== undefined, null, { timeout: 5000 });
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await server?.stop();
  });

  it('bundles the client sources with no `ws` in them', () => {
    const fromWs = built.inputs.filter((input) => /(^|\/)node_modules\/ws\//.test(input));
    expect(fromWs).toEqual([]);
    expect(built.inputs.some((input) => input.endsWith('packages/client/src/index.ts'))).toBe(true);
    expect(built.code).not.toMatch(/from\s*["']ws["']|require\(\s*["']ws["']\s*\)/);
  });

  let sockets = 0;
  for (const name of Object.keys(scenarios)) {
    it(`scenario: ${name}`, async () => {
      const result = await page.evaluate(
        ([scenario, url]) => window.roomkitTest.run(scenario, url),
        [name, serverUrl] as const,
      );
      // Every connection went through the page's (counting) platform WebSocket.
      expect(result.platformSockets).toBeGreaterThan(sockets);
      sockets = result.platformSockets;
      expect(pageErrors).toEqual([]);
    });
  }

  /** A Node client watching `room` (the page under test is the other user). */
  function observer(room: string) {
    const client = new WebSocketClient({
      url: serverUrl,
      params: { userId: 'alice', displayName: 'alice' },
    });
    client.connect();
    const presence = usePresence({ client, room, initialData: {} });
    return { client, presence };
  }

  const joinUrl = (room: string, user: string) =>
    `${site!.url}/?join=${room}&user=${user}&server=${encodeURIComponent(serverUrl)}`;

  it('a reloaded page does not show its user twice, and its old connection is gone', async () => {
    const room = `reload-${Date.now().toString(36)}`;
    const { client, presence } = observer(room);
    let most = 0;
    const stopCount = presence.count.subscribe((n) => {
      most = Math.max(most, n);
    });
    const bob = await browser!.newPage();
    try {
      await bob.goto(joinUrl(room, 'bob'));
      await until(presence.others, (o) => o[0]?.user.id === 'bob', 'alice sees bob');
      const before = connectionsOf(server, room, 'bob');
      expect(before).toHaveLength(1);

      await bob.reload();
      await bob.waitForFunction(() => window.roomkitTest.joined(), null, { timeout: 5000 });
      await waitFor(() => {
        const now = connectionsOf(server, room, 'bob');
        return now.length === 1 && now[0] !== before[0];
      }, "the reloaded page's socket is bob's only connection");
      expect(server.getRoomManager().getUsers(room).sort()).toEqual(['alice', 'bob']);
      expect(server.getRoomManager().get(room)?.size).toBe(2);
      // Alice's view settles on bob once, with one connection.
      await until(
        client.room(room).members,
        (members) =>
          members.length === 2 && members.find((m) => m.userId === 'bob')?.connections === 1,
        "alice's member list has bob with one connection",
      );
      expect(presence.count()).toBe(2);
      expect(presence.others().map((o) => o.user.id)).toEqual(['bob']);
      expect(await bob.evaluate(() => window.roomkitTest.count())).toBe(2);
      expect(most).toBe(2);
    } finally {
      stopCount();
      await bob.close();
      client.disconnect();
    }
  });

  it('closing a page removes its user from presence', async () => {
    const room = `close-${Date.now().toString(36)}`;
    const { client, presence } = observer(room);
    const carol = await browser!.newPage();
    try {
      await carol.goto(joinUrl(room, 'carol'));
      await until(presence.others, (o) => o[0]?.user.id === 'carol', 'alice sees carol');
      await carol.close();
      await until(presence.others, (o) => o.length === 0, 'carol leaves presence');
      expect(presence.count()).toBe(1);
      await waitFor(
        () => server.getRoomManager().getUsers(room).join() === 'alice',
        'the server drops carol',
      );
    } finally {
      if (!carol.isClosed()) await carol.close();
      client.disconnect();
    }
  });
});
