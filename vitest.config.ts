import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources, so a change needs no rebuild to be tested.
    alias: [
      { find: /^@roomkit\/protocol$/, replacement: source('./packages/protocol/src/index.ts') },
      {
        find: /^@roomkit\/protocol\/(storage-frame|errors|limits)$/,
        replacement: source('./packages/protocol/src/$1.ts'),
      },
      { find: /^@roomkit\/client$/, replacement: source('./packages/client/src/index.ts') },
      { find: /^@roomkit\/server$/, replacement: source('./packages/server/src/index.ts') },
    ],
  },
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'packages/*/test/**/*.test.tsx',
      'bench/test/**/*.test.ts',
    ],
    testTimeout: 15_000,
    hookTimeout: 15_000,
  },
});
