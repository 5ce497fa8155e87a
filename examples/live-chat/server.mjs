#!/usr/bin/env node
// Runs the live chat example: a Roomkit server with the LiveRoomChat component registered and the
// HTTP API on (ws://localhost:1234/rooms and http://localhost:1234/api), and the page
// (http://localhost:5173/live-chat/). Build the packages first (npx tsc -b).
//
//   node examples/live-chat/server.mjs [--port 1234] [--web-port 5173] [--host localhost] [--api-key KEY]
//
// LiveRoomChat.ts is TypeScript: it is compiled with esbuild at startup (Node 20 runs no
// TypeScript), against the same @roomkit/server this file imports.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { RoomServer } from '@roomkit/server';
import { build } from 'esbuild';
import { serveExamples } from '../serve.mjs';

/** LiveRoomChat.ts (and state.ts) compiled for Node; it extends this file's `LiveComponent`. */
export async function loadLiveRoomChat() {
  const serverUrl = import.meta.resolve('@roomkit/server');
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./LiveRoomChat.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    plugins: [
      {
        name: 'roomkit-server',
        setup(builder) {
          builder.onResolve({ filter: /^@roomkit\/server$/ }, () => ({
            path: serverUrl,
            external: true,
          }));
        },
      },
    ],
  });
  const code = Buffer.from(result.outputFiles[0].text).toString('base64');
  const module = await import(`data:text/javascript;base64,${code}`);
  return module.LiveRoomChat;
}

/**
 * Starts the Roomkit server (with LiveRoomChat and the HTTP API) and the page server. Resolves
 * with both, the page's url and `close()`.
 */
export async function startLiveChat({
  port = 1234,
  webPort = 5173,
  host = 'localhost',
  apiKeys = [],
} = {}) {
  const LiveRoomChat = await loadLiveRoomChat();
  const server = new RoomServer({
    host,
    components: { LiveRoomChat },
    api: { keys: apiKeys },
  });
  await server.start(port);
  let web;
  try {
    web = await serveExamples({ port: webPort, host, defaultExample: 'live-chat' });
  } catch (error) {
    await server.stop();
    throw error;
  }
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const query = server.port === 1234 ? '' : `?server=ws://${shownHost}:${server.port}/rooms`;
  return {
    server,
    web,
    pageUrl: `${web.url}/live-chat/${query}`,
    apiUrl: `http://${shownHost}:${server.port}/api`,
    async close() {
      await web.close();
      await server.stop();
    },
  };
}

function parseArgs(argv) {
  const options = { port: 1234, webPort: 5173, host: 'localhost', apiKeys: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--port') options.port = Number(value());
    else if (arg === '--web-port') options.webPort = Number(value());
    else if (arg === '--host') options.host = value();
    else if (arg === '--api-key') options.apiKeys.push(value());
    else if (arg === '--help' || arg === '-h') options.help = true;
    else throw new Error(`unknown argument ${arg}`);
  }
  for (const name of ['port', 'webPort']) {
    const n = options[name];
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be 0-65535`);
  }
  return options;
}

const USAGE =
  'usage: node examples/live-chat/server.mjs [--port 1234] [--web-port 5173] [--host localhost] [--api-key KEY]';

async function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`${error.message}\n${USAGE}`);
    process.exit(2);
  }
  if (options.help) {
    console.log(USAGE);
    return;
  }
  const envKeys = (process.env.ROOMKIT_API_KEYS ?? '').split(',').filter(Boolean);
  if (options.apiKeys.length === 0) options.apiKeys = envKeys;
  // Secure by default: without a key, make one for this run and show it.
  const generated = options.apiKeys.length === 0;
  if (generated) options.apiKeys = [randomBytes(18).toString('base64url')];
  let chat;
  try {
    chat = await startLiveChat(options);
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
  console.log('Roomkit live chat example');
  console.log(`  page:      ${chat.pageUrl}   (open it in two windows)`);
  console.log(`  websocket: ws://${options.host}:${chat.server.port}/rooms`);
  console.log(`  HTTP API:  ${chat.apiUrl}`);
  if (generated)
    console.log(`  API key:   ${options.apiKeys[0]}   (made for this run; --api-key to choose)`);
  console.log(
    `\ncurl -X POST ${chat.apiUrl}/rooms/geral/messages -H "Authorization: Bearer ${options.apiKeys[0]}" -H "Content-Type: application/json" -d '{"user":"Webhook Bot","text":"New deployment completed!"}'`,
  );
  console.log('\nCtrl+C stops.');
  const stop = async () => {
    await chat.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
