/**
 * The live chat example (examples/live-chat) as a user meets it, in Chromium against a real
 * server with LiveRoomChat registered and the HTTP API on: two pages join a room, chat, see each
 * other typing and leave; a message posted to the HTTP API (what the README's curl does) shows up
 * in both; the stats count them; after a server restart a page is back in its room.
 *
 * The page is bundled from the TypeScript sources (client, protocol and react), so the test needs
 * no build and sees the current code.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveRoomChat } from '../../../../examples/live-chat/LiveRoomChat.js';
import { workspaceSources } from '../../../../examples/serve.mjs';
import { type LiveComponentClass, RoomServer } from '../../../server/src/index.js';
import { chromiumSuite, launchChromium, serveFiles } from './chromium.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const suite = chromiumSuite('live chat example in Chromium');
const WAIT = { timeout: 5000 };
const API_KEY = 'live-chat-test-key';
const example = (path: string) =>
  fileURLToPath(new URL(`../../../../examples/live-chat/${path}`, import.meta.url));

async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [example('main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    plugins: [workspaceSources()],
  });
  return result.outputFiles[0]!.text;
}

describe.skipIf(suite.skip)(suite.title, () => {
  let server: RoomServer;
  let page: { url: string; close(): Promise<void> } | undefined;
  let browser: Browser | undefined;
  const pageErrors: string[] = [];

  async function startServer(port = 0): Promise<RoomServer> {
    const started = new RoomServer({
      logger: silent,
      components: { LiveRoomChat: LiveRoomChat as unknown as LiveComponentClass },
      api: { keys: [API_KEY] },
    });
    await started.start(port);
    return started;
  }

  beforeAll(async () => {
    server = await startServer();
    const [html, code] = await Promise.all([readFile(example('index.html'), 'utf8'), bundlePage()]);
    page = await serveFiles({
      '/live-chat/': { type: 'text/html; charset=utf-8', body: html },
      '/live-chat/main.js': { type: 'text/javascript; charset=utf-8', body: code },
    });
    browser = await launchChromium();
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await page?.close();
    await server?.stop();
  });

  async function open(user: string): Promise<Page> {
    const tab = await browser!.newPage({ viewport: { width: 900, height: 600 } });
    tab.on('pageerror', (error) => pageErrors.push(`${user}: ${error.message}`));
    // React's warnings (keys, effects, act) are console errors.
    tab.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(`${user}: ${message.text()}`);
    });
    const serverUrl = encodeURIComponent(`ws://127.0.0.1:${server.port}/rooms`);
    await tab.goto(`${page!.url}/live-chat/?user=${user}&server=${serverUrl}`);
    await tab.waitForFunction(
      () => document.querySelector('.status')?.textContent === 'live',
      null,
      WAIT,
    );
    return tab;
  }

  const messagesOf = (tab: Page) =>
    tab.$$eval('.message', (elements) => elements.map((element) => element.textContent));

  const lastMessageIs = (tab: Page, text: string) =>
    tab.waitForFunction(
      (expected) => document.querySelector('.message:last-child')?.textContent === expected,
      text,
      WAIT,
    );

  async function join(tab: Page, room: string): Promise<void> {
    await tab.locator(`button[data-room=${room}]`).click();
    // Joined, and the active room (a room already joined just becomes the active one).
    await tab.waitForFunction(
      (id) =>
        document.querySelector(`button.active[data-room=${id}]`)?.textContent === `${id} (joined)`,
      room,
      WAIT,
    );
  }

  function api(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`http://127.0.0.1:${server.port}/api${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${API_KEY}`,
        'content-type': 'application/json',
        ...init.headers,
      },
    });
  }

  it('two pages chat, see each other typing, get HTTP API messages, and leave', async () => {
    const alice = await open('alice');
    const bob = await open('bob');
    await join(alice, 'geral');
    await join(bob, 'geral');

    await bob.locator('input[name=message]').pressSequentially('hello');
    await alice.waitForFunction(
      () => document.querySelector('.typing')?.textContent === 'bob typing...',
      null,
      WAIT,
    );
    await bob.locator('input[name=message]').press('Enter');
    for (const tab of [alice, bob]) await lastMessageIs(tab, 'bob: hello');
    // The message (and the "stopped typing" sent with it) ends bob's typing on alice's page.
    await alice.waitForFunction(
      () => document.querySelector('.typing')?.textContent === '',
      null,
      WAIT,
    );
    expect(await messagesOf(bob)).toEqual(['bob: hello']);

    // What the README's curl does: a webhook posts into the room; both pages show it.
    const posted = await api('/rooms/geral/messages', {
      method: 'POST',
      body: JSON.stringify({ user: 'Webhook Bot', text: 'New deployment completed!' }),
    });
    expect(posted.status).toBe(200);
    expect(await posted.json()).toMatchObject({
      success: true,
      notified: 2,
      message: { user: 'Webhook Bot', text: 'New deployment completed!' },
    });
    for (const tab of [alice, bob]) {
      await lastMessageIs(tab, 'Webhook Bot: New deployment completed!');
    }
    const stats = await (await api('/rooms/stats')).json();
    expect(stats).toMatchObject({
      rooms: 1,
      components: 2,
      roomDetails: { geral: { components: 2 } },
    });

    // A room the others are not in stays separate.
    await join(alice, 'tech');
    await alice.locator('input[name=message]').fill('only tech');
    await alice.locator('input[name=message]').press('Enter');
    await lastMessageIs(alice, 'alice: only tech');
    await join(alice, 'geral'); // back to geral (already joined: it becomes the active room)
    expect(await messagesOf(alice)).toEqual([
      'bob: hello',
      'Webhook Bot: New deployment completed!',
    ]);

    // Bob leaves geral: his page empties, the stats drop him, alice's next message skips him.
    await bob.getByRole('button', { name: 'Leave geral' }).click();
    await bob.waitForFunction(
      () =>
        document.querySelector('.hint') !== null &&
        document.querySelector('button[data-room=geral]')?.textContent === 'geral ',
      null,
      WAIT,
    );
    await expect
      .poll(async () => (await (await api('/rooms/stats')).json()).roomDetails.geral?.components)
      .toBe(1);
    await alice.locator('input[name=message]').fill('bye bob');
    await alice.locator('input[name=message]').press('Enter');
    await lastMessageIs(alice, 'alice: bye bob');
    const notified = await api('/rooms/geral/emit', {
      method: 'POST',
      body: JSON.stringify({ event: 'user:typing', data: { user: 'ghost', typing: true } }),
    });
    expect(await notified.json()).toEqual({ success: true, notified: 1 });
    expect(await messagesOf(bob)).toEqual([]);

    expect(pageErrors).toEqual([]);
    await alice.close();
    await bob.close();
  });

  it('after a server restart, a page is back in its rooms with its messages', async () => {
    const alice = await open('alice2');
    await join(alice, 'random');
    await alice.locator('input[name=message]').fill('before the restart');
    await alice.locator('input[name=message]').press('Enter');
    await lastMessageIs(alice, 'alice2: before the restart');

    const { port } = server;
    await server.stop();
    // Away: no instance on the server, so in no room (the messages stay shown).
    await alice.waitForFunction(
      () =>
        document.querySelector('.status')?.textContent !== 'live' &&
        document.querySelector('button[data-room=random]')?.textContent === 'random ',
      null,
      WAIT,
    );
    expect(await messagesOf(alice)).toEqual(['alice2: before the restart']);
    server = await startServer(port);
    await alice.waitForFunction(
      () => document.querySelector('button[data-room=random]')?.textContent === 'random (joined)',
      null,
      { timeout: 15_000 },
    );
    expect(await messagesOf(alice)).toEqual(['alice2: before the restart']);
    // Back in the room for real: a message posted to it arrives.
    const posted = await api('/rooms/random/messages', {
      method: 'POST',
      body: JSON.stringify({ text: 'welcome back' }),
    });
    expect(await posted.json()).toMatchObject({ notified: 1 });
    await lastMessageIs(alice, 'API Bot: welcome back');
    expect(pageErrors).toEqual([]);
    await alice.close();
  }, 30_000);
});
