/**
 * Peers that are not a Roomkit server, for what a real one will not do on demand: refuse every
 * upgrade, accept one and stay silent, or send arbitrary frames. Plus a `ws` WebSocket that
 * records the frames the client sends and receives. All are closed after each test.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { WebSocketConstructor } from '../src/index.js';

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closeHttp(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** An HTTP server that answers every upgrade with `status` and counts them. */
export async function startRefusingServer(
  status = 503,
): Promise<{ url: string; upgrades: number }> {
  const server = createServer((_req, res) => res.writeHead(404).end());
  const result = { url: '', upgrades: 0 };
  server.on('upgrade', (_req, socket) => {
    result.upgrades += 1;
    socket.end(`HTTP/1.1 ${status} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  const port = await listen(server);
  result.url = `ws://127.0.0.1:${port}/rooms`;
  cleanups.push(() => closeHttp(server));
  return result;
}

/** A port nothing listens on (it was free a moment ago). */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await closeHttp(server);
  return port;
}

export interface RawPeer {
  socket: WebSocket;
  /** Text frames received, parsed. */
  messages: Array<Record<string, unknown>>;
  /** Sends a JSON message or raw text/binary. */
  send(frame: unknown): void;
}

export interface RawServer {
  url: string;
  peers: RawPeer[];
  /** Resolves with the next peer to connect (or the latest, if it has not been taken yet). */
  nextPeer(timeoutMs?: number): Promise<RawPeer>;
}

/**
 * A `ws` server on port 0 that accepts every upgrade and does nothing unless told: `onPeer` runs
 * for each connection, `onMessage` for each text frame it receives.
 */
export async function startRawServer(
  handlers: {
    onPeer?: (peer: RawPeer) => void;
    onMessage?: (peer: RawPeer, message: Record<string, unknown>) => void;
  } = {},
): Promise<RawServer> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  const peers: RawPeer[] = [];
  let taken = 0;
  const waiters: Array<() => void> = [];
  wss.on('connection', (socket) => {
    const peer: RawPeer = {
      socket,
      messages: [],
      send(frame) {
        if (socket.readyState !== WebSocket.OPEN) return;
        socket.send(
          typeof frame === 'string' || frame instanceof Uint8Array ? frame : JSON.stringify(frame),
        );
      },
    };
    peers.push(peer);
    socket.on('error', () => {});
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      const message = JSON.parse(String(data)) as Record<string, unknown>;
      peer.messages.push(message);
      handlers.onMessage?.(peer, message);
    });
    handlers.onPeer?.(peer);
    for (const wake of waiters.splice(0)) wake();
  });
  const port = await listen(http);
  cleanups.push(async () => {
    for (const client of wss.clients) client.terminate();
    wss.close();
    await closeHttp(http);
  });
  return {
    url: `ws://127.0.0.1:${port}/rooms`,
    peers,
    nextPeer(timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const take = () => {
          if (taken >= peers.length) return false;
          resolve(peers[taken++]!);
          return true;
        };
        if (take()) return;
        const timer = setTimeout(() => reject(new Error('no peer connected')), timeoutMs);
        const wait = () => {
          if (take()) clearTimeout(timer);
          else waiters.push(wait);
        };
        waiters.push(wait);
      });
    },
  };
}

/** The `welcome` a Roomkit server sends, with `overrides`. */
export function welcome(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'welcome',
    connectionId: 'c-1',
    userId: 'alice',
    displayName: 'alice',
    color: '#FFB74D',
    room: null,
    heartbeatIntervalMs: 30_000,
    maxMessageBytes: 65_536,
    ...overrides,
  };
}

/** Answers like a server would to requests: `ack` for every message that carries a `ref`. */
export function ackEverything(peer: RawPeer, message: Record<string, unknown>): void {
  if (message.ref !== undefined) peer.send({ type: 'ack', ref: message.ref });
}

export interface Wiretap {
  WebSocket: WebSocketConstructor;
  /** Frames the client sent, on every socket it opened. */
  sent: Array<string | Uint8Array>;
  /** When each of `sent` was sent (ms since epoch). */
  sentAt: number[];
  /** Binary bytes received. */
  receivedBinaryBytes: number;
  /** Text frames sent, parsed, of `type`, each with `sentAt`. */
  sentOfType(type: string): Array<Record<string, unknown> & { sentAt: number }>;
  /** Binary bytes sent. */
  sentBinaryBytes(): number;
}

/** A `ws` WebSocket that records what the client sends (transport instrumentation, not a mock). */
export function wiretap(): Wiretap {
  const tap: Wiretap = {
    WebSocket: undefined as unknown as WebSocketConstructor,
    sent: [],
    sentAt: [],
    receivedBinaryBytes: 0,
    sentOfType: (type) =>
      tap.sent.flatMap((frame, i) => {
        if (typeof frame !== 'string') return [];
        const message = JSON.parse(frame) as Record<string, unknown>;
        return message.type === type ? [{ ...message, sentAt: tap.sentAt[i]! }] : [];
      }),
    sentBinaryBytes: () =>
      tap.sent.reduce((sum, frame) => sum + (typeof frame === 'string' ? 0 : frame.length), 0),
  };
  class TappedWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      this.on('message', (data, isBinary) => {
        if (isBinary) tap.receivedBinaryBytes += (data as ArrayBuffer | Buffer).byteLength;
      });
    }
    override send(data: string | ArrayBuffer | Uint8Array): void {
      tap.sent.push(typeof data === 'string' ? data : new Uint8Array(data as ArrayBuffer));
      tap.sentAt.push(Date.now());
      super.send(data);
    }
  }
  tap.WebSocket = TappedWebSocket as unknown as WebSocketConstructor;
  return tap;
}
