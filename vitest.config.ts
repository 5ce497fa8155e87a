import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** Room-feature suites that also run on a two-node cluster. */
const CLUSTER_TESTS = [
  'backpressure',
  'bad-input',
  'broadcast-channels',

  'connection-flow',
  'cursors',
  'extensions',
  'fuzz',
  'heartbeat',
  'hooks',
  'http-api',
  'lifecycle',
  'limits',
  'live-components',
  'live-leak',
  'live-rooms',
  'live-state',
  'multi-room',
  'presence',
  'rate-limit',
  'room-events',
  'room-settings',
  'spaces-moderation',
  'spaces-races',
  'spaces-realtime',
  'spaces-signin',
  'storage-bad-input',
  'storage-random-network',
  'storage-sync',
  'upgrade',
  'y-websocket',
  'y-websocket-awareness-checks',
];

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
    testTimeout: 15_000,
    hookTimeout: 15_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'one-node',
          include: [
            'packages/*/test/**/*.test.ts',
            'packages/*/test/**/*.test.tsx',
            'bench/test/**/*.test.ts',
          ],
        },
      },
      {
        // The room features again, on two nodes of an InProcessCluster with the clients spread
        // over them (see startServer and wsUrl in packages/server/test/helpers.ts).
        extends: true,
        test: {
          name: 'two-nodes',
          include: CLUSTER_TESTS.map((name) => `packages/server/test/${name}.test.ts`),
          env: { ROOMKIT_TEST_NODES: '2' },
        },
      },
    ],
  },
});
