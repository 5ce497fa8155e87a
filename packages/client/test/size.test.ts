import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

// The budget: the client without yjs under 12.5 kB min+gzip. `npm run size -w
// @roomkit/client` prints the same measure for the built package.
const BUDGET_BYTES = 12_500;
const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

describe('bundle size', () => {
  it('the browser bundle without yjs stays under 12.5 kB min+gzip and leaves out ws and typebox', async () => {
    const result = await build({
      entryPoints: [source('../src/index.ts')],
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      write: false,
      external: ['yjs', 'lib0', 'lib0/*'],
      alias: { '@roomkit/protocol': source('../../protocol/src') },
      logLevel: 'silent',
    });
    const code = result.outputFiles[0]!.text;
    const gzipped = gzipSync(code, { level: 9 }).length;
    expect(gzipped).toBeLessThan(BUDGET_BYTES);
    expect(code).not.toMatch(/TypeCompiler|@sinclair/);
    // `ws` is loaded only in Node, through a computed specifier the bundler cannot follow.
    expect(code).not.toMatch(/from\s*["']ws["']/);
  });
});
