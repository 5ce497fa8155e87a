import { clientFrame, type WireClient } from './wire.js';

export const SYSTEMS = ['roomkit', 'ws-corked', 'ws-plain', 'ws-preframed', 'socketio'] as const;
export type SystemName = (typeof SYSTEMS)[number];

/** The two kinds of traffic the scenarios send: relayed data and cursor positions. */
export type Channel = 'data' | 'cursor';

/**
 * How one system's clients join a room and what their messages look like on the wire. Each
 * carries the same JSON body (`{"t":<send time>,...}`) in that system's envelope.
 */
export interface SystemAdapter {
  path(room: string, member: number): string;
  /** Resolves once the server has the client in the room (rejects after `timeoutMs`). */
  join(client: WireClient, room: string, timeoutMs?: number): Promise<void>;
  /** A ready-to-write client frame carrying `body` (a JSON object's fields, without braces). */
  frame(channel: Channel, body: string): Buffer;
  /** The first bytes of a relayed message of that channel, as received. */
  marker(channel: Channel): Buffer;
}

export function waitFor(
  client: WireClient,
  match: (text: string) => boolean,
  timeoutMs = 15_000,
): Promise<string> {
  const seen = client.controls.find((payload) => match(payload.toString()));
  if (seen) return Promise.resolve(seen.toString());
  return new Promise((resolve, reject) => {
    const previous = client.onControl;
    const timer = setTimeout(() => {
      client.onControl = previous;
      reject(new Error('join timed out'));
    }, timeoutMs);
    client.onControl = (payload) => {
      previous?.(payload);
      const text = payload.toString();
      if (match(text)) {
        clearTimeout(timer);
        client.onControl = previous;
        resolve(text);
      }
    };
  });
}

const json: Pick<SystemAdapter, 'frame' | 'marker'> = {
  frame: (channel, body) =>
    clientFrame(channel === 'data' ? `{"type":"b",${body}}` : `{"type":"cursor:update",${body}}`),
  marker: (channel) => Buffer.from(channel === 'data' ? '{"type":"b"' : '{"type":"cursor:update"'),
};

const roomkit: SystemAdapter = {
  ...json,
  path: (room, member) => `/r/${room}?userId=u${member}`,
  join: async (client, _room, timeoutMs) => {
    await waitFor(client, (text) => text.startsWith('{"type":"state:init"'), timeoutMs);
  },
};

const bareWs: SystemAdapter = {
  ...json,
  path: (room) => `/r/${room}`,
  join: async () => {},
};

/** engine.io 4 over a raw socket: open packet, namespace connect, then a `join` event. */
const socketio: SystemAdapter = {
  path: () => '/socket.io/?EIO=4&transport=websocket',
  join: async (client, room, timeoutMs) => {
    const pings = (payload: Buffer) => {
      if (payload.length === 1 && payload[0] === 0x32) client.send(clientFrame('3'));
    };
    client.onControl = pings;
    await waitFor(client, (text) => text.startsWith('0{'), timeoutMs);
    const connected = waitFor(client, (text) => text.startsWith('40'), timeoutMs);
    client.send(clientFrame('40'));
    await connected;
    const joined = waitFor(client, (text) => text === '42["joined"]', timeoutMs);
    client.send(clientFrame(`42["join","${room}"]`));
    await joined;
  },
  frame: (channel, body) =>
    clientFrame(`42["${channel === 'data' ? 'm' : 'cursor:update'}",{${body}}]`),
  marker: (channel) => Buffer.from(channel === 'data' ? '42["m"' : '42["cursor:update"'),
};

export const ADAPTERS: Record<SystemName, SystemAdapter> = {
  roomkit,
  'ws-corked': bareWs,
  'ws-plain': bareWs,
  'ws-preframed': bareWs,
  socketio,
};

/** The send time carried in a payload (`"t":<ms>`), or NaN. */
export function sendTimeOf(payload: Buffer): number {
  const text = payload.toString('latin1');
  const at = text.indexOf('"t":');
  return at < 0 ? Number.NaN : Number.parseFloat(text.slice(at + 4));
}
