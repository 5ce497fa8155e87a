#!/usr/bin/env node
// Serves the examples for the browser: bundles examples/<name>/main.ts with esbuild on each
// request (so an edit shows on reload) and serves its index.html. No other dependencies.
//
//   node examples/serve.mjs [whiteboard|chat] [--port 5173] [--host localhost] [--source]
//
// `@roomkit/client` resolves through node_modules to packages/client/dist (build it with
// `npx tsc -b`); --source bundles the TypeScript sources instead (what the browser tests do).
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, context } from 'esbuild';

const EXAMPLES_DIR = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(EXAMPLES_DIR, '..');
const CLIENT_DIST = join(ROOT, 'packages/client/dist/index.js');

/** Examples are the folders with a main.ts (not `shared`). */
export function listExamples() {
  return readdirSync(EXAMPLES_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(EXAMPLES_DIR, entry.name, 'main.ts')))
    .map((entry) => entry.name)
    .sort();
}

/**
 * An esbuild plugin mapping `@roomkit/client`, `@roomkit/react` and `@roomkit/protocol[/sub]` to
 * the workspace's TypeScript sources, so nothing needs building first.
 */
export function workspaceSources() {
  const source = (pkg, sub) => join(ROOT, 'packages', pkg, 'src', `${sub ?? 'index'}.ts`);
  return {
    name: 'roomkit-workspace-sources',
    setup(builder) {
      builder.onResolve({ filter: /^@roomkit\/(client|protocol|react)(\/[\w-]+)?$/ }, (args) => {
        const [, pkg, sub] = /^@roomkit\/(client|protocol|react)(?:\/([\w-]+))?$/.exec(args.path);
        return { path: source(pkg, sub) };
      });
    },
  };
}

function buildOptions(entry, fromSource) {
  return {
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: 'inline',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: fromSource ? [workspaceSources()] : [],
  };
}

/** Bundles `entry` for the browser. Resolves with the code and the files that went into it. */
export async function bundle(entry, { fromSource = false } = {}) {
  const result = await build(buildOptions(entry, fromSource));
  return { code: result.outputFiles[0].text, inputs: Object.keys(result.metafile.inputs) };
}

const STATIC_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * Starts the examples server. Each example is at `/<name>/`; `/` redirects to `defaultExample`
 * (keeping the query, e.g. `?user=alice&room=demo`). Resolves with its url and `close()`.
 */
export async function serveExamples({
  port = 5173,
  host = 'localhost',
  fromSource = false,
  defaultExample = 'whiteboard',
  log = () => {},
} = {}) {
  const examples = listExamples();
  if (!examples.includes(defaultExample)) {
    throw new Error(`no example "${defaultExample}" (have: ${examples.join(', ')})`);
  }
  if (!fromSource && !existsSync(CLIENT_DIST)) {
    throw new Error(
      `${CLIENT_DIST} is missing: build the packages first (npx tsc -b), or pass --source`,
    );
  }
  // One incremental build context per example, created on first request.
  const contexts = new Map();
  const rebuild = async (name) => {
    let ctx = contexts.get(name);
    if (!ctx) {
      ctx = context(buildOptions(join(EXAMPLES_DIR, name, 'main.ts'), fromSource));
      contexts.set(name, ctx);
    }
    const result = await (await ctx).rebuild();
    return result.outputFiles[0].text;
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status, type, body) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (url.pathname === '/') {
      res.writeHead(302, { location: `/${defaultExample}/${url.search}` });
      res.end();
      return;
    }
    const match = /^\/([\w-]+)(?:\/([\w.-]*))?$/.exec(url.pathname);
    const [, name, file] = match ?? [];
    if (!match || !examples.includes(name)) {
      send(404, 'text/plain', `not found; examples: ${examples.map((e) => `/${e}/`).join(' ')}`);
      return;
    }
    if (file === undefined) {
      res.writeHead(301, { location: `/${name}/${url.search}` });
      res.end();
      return;
    }
    try {
      if (file === 'main.js') {
        send(200, 'text/javascript; charset=utf-8', await rebuild(name));
        return;
      }
      const path = join(EXAMPLES_DIR, name, file === '' ? 'index.html' : file);
      const type = STATIC_TYPES[extname(path)];
      if (!type || file.startsWith('.') || !existsSync(path)) {
        send(404, 'text/plain', 'not found');
        return;
      }
      send(200, type, await readFile(path));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log(`${req.url}: ${message}`);
      send(500, 'text/plain; charset=utf-8', message);
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    port: address.port,
    url: `http://${shownHost}:${address.port}`,
    examples,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      for (const ctx of contexts.values()) await (await ctx).dispose();
    },
  };
}

function parseArgs(argv) {
  const options = { port: 5173, host: 'localhost', fromSource: false, defaultExample: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--port' || arg === '-p') options.port = Number(value());
    else if (arg === '--host') options.host = value();
    else if (arg === '--source') options.fromSource = true;
    else if (arg === '--help' || arg === '-h') options.help = true;
    else if (!arg.startsWith('-') && options.defaultExample === undefined)
      options.defaultExample = arg;
    else throw new Error(`unknown argument ${arg}`);
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new Error('--port must be an integer 0-65535');
  }
  return options;
}

async function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(
      `${error.message}\nusage: node examples/serve.mjs [example] [--port N] [--host H] [--source]`,
    );
    process.exit(2);
  }
  if (options.help) {
    console.log('usage: node examples/serve.mjs [example] [--port N] [--host H] [--source]');
    console.log(`examples: ${listExamples().join(', ')}`);
    return;
  }
  const defaultExample = options.defaultExample ?? 'whiteboard';
  let served;
  try {
    served = await serveExamples({ ...options, defaultExample, log: (m) => console.error(m) });
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
  console.log(`Roomkit examples (client from ${options.fromSource ? 'sources' : 'dist'}):`);
  for (const name of served.examples) console.log(`  ${name.padEnd(12)} ${served.url}/${name}/`);
  console.log(
    `They connect to ws://<this host>:1234/rooms: run \`npm start\` too (or add ?server=ws://host:port/rooms).`,
  );
  console.log(`Open ${served.url}/${defaultExample}/ in two windows. Ctrl+C stops.`);
  const stop = async () => {
    await served.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
