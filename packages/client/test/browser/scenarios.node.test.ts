/**
 * The shared scenarios (../scenarios) in Node, with the `ws` WebSocket, against a real server.
 * chromium.test.ts runs the same functions in a browser page.
 */
import { describe, it } from 'vitest';
import { WebSocket as WS } from 'ws';
import { WebSocketClient, type WebSocketConstructor } from '../../src/index.js';
import { startServer } from '../helpers.js';
import { type ScenarioEnv, scenarios } from '../scenarios/index.js';
import { dropConnections } from './server-control.js';

describe('shared scenarios in Node (ws)', () => {
  for (const [name, scenario] of Object.entries(scenarios)) {
    it(name, async () => {
      const server = await startServer();
      const env: ScenarioEnv = {
        serverUrl: `ws://127.0.0.1:${server.port}/rooms`,
        // Explicitly `ws`: Node 22+ has a global WebSocket the client would otherwise prefer.
        createClient: (options) =>
          new WebSocketClient({ ...options, WebSocket: WS as unknown as WebSocketConstructor }),
        dropConnections: async (userId) => dropConnections(server, userId),
      };
      await scenario(env);
    });
  }
});
