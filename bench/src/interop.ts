import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { TEXT } from './yjs-doc.js';
import type { YjsSystemName } from './yjs-protocols.js';
import { YjsSession } from './yjs-session.js';

// `node bench/dist/interop.js`: the Yjs scenarios drive every server with the harness's own wire
// client (yjs-session.ts, yjs-editors.ts). This checks that client against the peers' own
// providers (@hocuspocus/provider, y-websocket's WebsocketProvider) on the same peer processes
// the benchmark starts: an edit from each side must reach the other.

const here = dirname(fileURLToPath(import.meta.url));

async function peer(system: YjsSystemName) {
  const child = spawn(process.execPath, [join(here, 'peers', `${system}.js`)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<number>((resolve) => {
    lines.on('line', (line) => {
      if (line.startsWith('READY ')) resolve(Number(line.split(' ')[1]));
    });
  });
  return { port, stop: () => child.kill('SIGTERM') };
}

function provider(system: 'hocuspocus' | 'y-websocket', port: number, doc: Y.Doc) {
  if (system === 'hocuspocus') {
    // Node 20 has no global WebSocket: the provider's socket gets `ws`.
    const socket = new HocuspocusProviderWebsocket({
      url: `ws://127.0.0.1:${port}`,
      WebSocketPolyfill: WebSocket,
    });
    const p = new HocuspocusProvider({ name: 'interop', document: doc, websocketProvider: socket });
    p.attach();
    return {
      destroy: () => {
        p.destroy();
        socket.destroy();
      },
    };
  }
  const p = new WebsocketProvider(`ws://127.0.0.1:${port}`, 'interop', doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  });
  return { destroy: () => p.destroy() };
}

function contains(doc: Y.Doc, part: string): () => boolean {
  return () => doc.getText(TEXT).toString().includes(part);
}

async function check(system: 'hocuspocus' | 'y-websocket'): Promise<void> {
  const server = await peer(system);
  try {
    const ours = new YjsSession({ system, port: server.port, docName: 'interop', member: 1 });
    await ours.connect();
    ours.doc.getText(TEXT).insert(0, 'from the harness; ');
    const theirDoc = new Y.Doc();
    const theirs = provider(system, server.port, theirDoc);
    await waitFor(contains(theirDoc, 'from the harness'));
    theirDoc.getText(TEXT).insert(0, 'from the provider; ');
    await ours.until(contains(ours.doc, 'from the provider'), 10_000);
    theirs.destroy();
    await ours.close();
    process.stdout.write(`${system}: ok (${ours.doc.getText(TEXT).toString()})\n`);
  } finally {
    server.stop();
  }
}

async function waitFor(done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error('the provider never saw the edit');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

try {
  await check('hocuspocus');
  await check('y-websocket');
  process.exit(0);
} catch (error) {
  process.stderr.write(`interop: ${String(error)}\n`);
  process.exit(1);
}
