/**
 * The Chromium test page's script, bundled with esbuild from the client's TypeScript sources.
 * It runs a shared scenario on request (`roomkitTest.run`), and with `?join=room&user=id&server=url`
 * it joins a room as a small app would, for the reload and close tests.
 */
import { usePresence, WebSocketClient } from '../../src/index.js';
import { type ScenarioEnv, scenarios } from '../scenarios/index.js';

interface TestPage {
  /** Runs the named scenario against `serverUrl`; rejects with its error. */
  run(name: string, serverUrl: string): Promise<{ platformSockets: number }>;
  /** With `?join`: whether the page's client is in the room, and how many users it sees. */
  joined(): boolean;
  count(): number;
}

declare global {
  interface Window {
    roomkitTest: TestPage;
    /** Exposed by the test (page.exposeFunction): the server drops the user's sockets. */
    roomkitDrop?: (userId: string) => Promise<number>;
  }
}

// Count the sockets made through the platform's WebSocket: the client must use the browser's own
// (the bundle holds no other), so every connection a scenario makes shows up here.
let platformSockets = 0;
const PlatformWebSocket = globalThis.WebSocket;
globalThis.WebSocket = class CountingWebSocket extends PlatformWebSocket {
  constructor(url: string | URL, protocols?: string | string[]) {
    super(url, protocols);
    platformSockets += 1;
  }
};

const query = new URLSearchParams(location.search);
const joinRoom = query.get('join');
let presence: ReturnType<typeof usePresence> | null = null;
if (joinRoom) {
  const userId = query.get('user') ?? 'page';
  // No disconnect on unload: closing and reloading must clean up by themselves.
  const client = new WebSocketClient({
    url: query.get('server') ?? '',
    params: { userId, displayName: userId },
  });
  client.connect();
  presence = usePresence({ client, room: joinRoom, user: { name: userId }, initialData: {} });
}

window.roomkitTest = {
  async run(name, serverUrl) {
    const scenario = scenarios[name];
    if (!scenario) throw new Error(`no scenario ${name}`);
    const env: ScenarioEnv = {
      serverUrl,
      createClient: (options) => new WebSocketClient(options),
      dropConnections: (userId) => {
        if (!window.roomkitDrop) throw new Error('roomkitDrop was not exposed');
        return window.roomkitDrop(userId);
      },
    };
    await scenario(env);
    return { platformSockets };
  },
  joined: () => presence?.isConnected.peek() ?? false,
  count: () => presence?.count.peek() ?? 0,
};
