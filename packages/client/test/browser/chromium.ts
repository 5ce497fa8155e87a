/** Chromium for the browser tests: whether it is here, launching it, and serving a test page. */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';

const CHROMIUM_PATH = process.env.ROOMKIT_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Whether the browser suites run. Without Chromium they are skipped with the reason in the
 * suite's title, except on CI (CI=true), where they run and fail, so a broken image is noticed.
 */
export function chromiumSuite(name: string): { skip: boolean; title: string } {
  const skip = !existsSync(CHROMIUM_PATH) && process.env.CI !== 'true';
  return { skip, title: skip ? `${name} (skipped: no Chromium at ${CHROMIUM_PATH})` : name };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Serves fixed bodies by path on 127.0.0.1 (port 0). */
export async function serveFiles(
  files: Record<string, { type: string; body: string }>,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', 'http://x').pathname];
    res.writeHead(file ? 200 : 404, {
      'content-type': file?.type ?? 'text/plain',
      'cache-control': 'no-store',
    });
    res.end(file?.body ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
