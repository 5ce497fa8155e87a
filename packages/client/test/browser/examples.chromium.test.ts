/**
 * The examples as a user meets them: served by examples/serve.mjs, in Chromium, against a real
 * server. Whiteboard: two people see each other, their cursors, their strokes and the board
 * color; someone joining later gets the strokes from the room's shared state. Chat: users,
 * messages, the typing indicator, join and leave notices.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExamplesServer, serveExamples } from '../../../../examples/serve.mjs';
import { RoomServer } from '../../../server/src/index.js';
import { chromiumSuite, launchChromium } from './chromium.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const suite = chromiumSuite('examples in Chromium');
const WAIT = { timeout: 5000 };

describe.skipIf(suite.skip)(suite.title, () => {
  let server: RoomServer;
  let examples: ExamplesServer | undefined;
  let browser: Browser | undefined;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    server = new RoomServer({ logger: silent });
    await server.start(0);
    // From the client's sources, so the test needs no build and sees the current code.
    examples = await serveExamples({ port: 0, host: '127.0.0.1', fromSource: true });
    browser = await launchChromium();
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await examples?.close();
    await server?.stop();
  });

  async function open(user: string, room: string, example = 'whiteboard'): Promise<Page> {
    const page = await browser!.newPage({ viewport: { width: 900, height: 600 } });
    page.on('pageerror', (error) => pageErrors.push(`${user}: ${error.message}`));
    const serverUrl = encodeURIComponent(`ws://127.0.0.1:${server.port}/rooms`);
    await page.goto(`${examples!.url}/${example}/?user=${user}&room=${room}&server=${serverUrl}`);
    return page;
  }

  /** Whether the canvas has ink at CSS position (x, y) (painting happens on the next frame). */
  const hasInk = ([x, y]: readonly [number, number]) => {
    const canvas = document.querySelector('canvas')!;
    const ratio = devicePixelRatio;
    return canvas.getContext('2d')!.getImageData(x * ratio, y * ratio, 1, 1).data[3]! > 0;
  };
  const MIDDLE_OF_STROKE = [200, 200] as const;

  it('whiteboard: users, cursors, strokes and the background across pages', async () => {
    const room = `board-${Date.now().toString(36)}`;
    const alice = await open('alice', room);
    const bob = await open('bob', room);

    // Each sees the other in the users panel, with the other's tool.
    const seesUser = (name: string) =>
      Array.from(document.querySelectorAll('.users-panel .user:not(.me)')).some((el) =>
        el.textContent?.includes(name),
      );
    await alice.waitForFunction(seesUser, 'bob', WAIT);
    await bob.waitForFunction(seesUser, 'alice', WAIT);
    await bob.waitForFunction(
      () => document.querySelector('.users-panel h3')?.textContent === 'Online (2)',
      null,
      WAIT,
    );
    await alice.getByRole('button', { name: 'Eraser' }).click();
    await bob.waitForFunction(
      () => document.querySelector('[data-user="alice"] small')?.textContent === 'Tool: eraser',
      null,
      WAIT,
    );
    await alice.getByRole('button', { name: 'Pen' }).click();

    // Alice's mouse over the canvas shows up as her named cursor on bob's page.
    const box = (await alice.locator('canvas').boundingBox())!;
    await alice.mouse.move(box.x + 50, box.y + 40);
    await alice.mouse.move(box.x + 120, box.y + 90, { steps: 5 });
    await bob.waitForFunction(
      () => {
        const cursor = document.querySelector<HTMLElement>('.remote-cursor');
        return (
          cursor?.textContent === 'alice' &&
          cursor.style.left === '120px' &&
          cursor.style.top === '90px'
        );
      },
      null,
      WAIT,
    );

    // A stroke drawn by alice appears on bob's canvas.
    expect(await bob.evaluate(hasInk, MIDDLE_OF_STROKE)).toBe(false);
    await alice.mouse.move(box.x + 100, box.y + 200);
    await alice.mouse.down();
    await alice.mouse.move(box.x + 300, box.y + 200, { steps: 10 });
    await alice.mouse.up();
    await alice.waitForFunction(hasInk, MIDDLE_OF_STROKE, WAIT);
    await bob.waitForFunction(hasInk, MIDDLE_OF_STROKE, WAIT);

    // The board color, picked by bob, changes alice's canvas background.
    await bob.locator('input[type=color]').evaluate((input: HTMLInputElement) => {
      input.value = '#ffeb3b';
      input.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await alice.waitForFunction(
      () => document.querySelector('canvas')!.style.background === 'rgb(255, 235, 59)',
      null,
      WAIT,
    );

    // Someone joining later gets the committed stroke from the room's shared state.
    const carol = await open('carol', room);
    await carol.waitForFunction(hasInk, MIDDLE_OF_STROKE, WAIT);
    await carol.waitForFunction(
      () => document.querySelector('.users-panel h3')?.textContent === 'Online (3)',
      null,
      WAIT,
    );
    expect(pageErrors).toEqual([]);
    for (const page of [alice, bob, carol]) await page.close();
  });

  it('chat: users, messages, typing, join and leave', async () => {
    const room = `chat-${Date.now().toString(36)}`;
    const alice = await open('alice', room, 'chat');
    // Alice is in before bob comes, so she gets bob's join notice.
    await alice.waitForFunction(
      () => document.querySelector('.users h3')?.textContent === 'Users (1)',
      null,
      WAIT,
    );
    const bob = await open('bob', room, 'chat');
    await alice.waitForFunction(
      () => document.querySelector('.users h3')?.textContent === 'Users (2)',
      null,
      WAIT,
    );
    await alice.waitForFunction(
      () =>
        Array.from(document.querySelectorAll('.notice')).some(
          (n) => n.textContent === 'bob joined',
        ),
      null,
      WAIT,
    );

    await bob.locator('input[name=message]').pressSequentially('hello');
    await alice.waitForFunction(
      () => document.querySelector('.typing-indicator')?.textContent === 'bob is typing...',
      null,
      WAIT,
    );
    await bob.locator('input[name=message]').press('Enter');
    for (const page of [alice, bob]) {
      await page.waitForFunction(
        () => document.querySelector('.message:last-child')?.textContent === 'bob: hello',
        null,
        WAIT,
      );
    }
    // Sending says "stopped typing".
    await alice.waitForFunction(
      () => document.querySelector('.typing-indicator')?.textContent === '',
      null,
      WAIT,
    );

    await bob.close();
    await alice.waitForFunction(
      () =>
        document.querySelector('.users h3')?.textContent === 'Users (1)' &&
        Array.from(document.querySelectorAll('.notice')).some((n) => n.textContent === 'bob left'),
      null,
      WAIT,
    );
    expect(pageErrors).toEqual([]);
    await alice.close();
  });
});
