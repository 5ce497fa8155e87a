#!/usr/bin/env node
// Measures @roomkit/client as an app's bundler would ship it: the built package (dist) bundled
// for the browser, minified, with yjs and lib0 left out (they are the storage engine, shared
// with any other Yjs code the app has), gzipped. Prints the figures; exits 1 over the budget.
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export const BUDGET_BYTES = 12_500;

export async function measureClient(entry) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    external: ['yjs', 'lib0', 'lib0/*'],
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].contents;
  return { minified: code.length, gzipped: gzipSync(code, { level: 9 }).length };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const entry = new URL('../dist/index.js', import.meta.url).pathname;
  const { minified, gzipped } = await measureClient(entry);
  const kb = (n) => `${(n / 1000).toFixed(2)} kB`;
  console.log(
    `@roomkit/client without yjs: ${kb(minified)} minified, ${kb(gzipped)} min+gzip (budget ${kb(BUDGET_BYTES)})`,
  );
  if (gzipped > BUDGET_BYTES) process.exit(1);
}
