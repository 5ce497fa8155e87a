/**
 * Dead peers: a server that accepts the upgrade but never says `welcome`, and one that stops
 * answering after it. The client must notice on its own (no close ever arrives) and reconnect.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type CloseInfo, WebSocketClient, type WebSocketClientOptions } from '../src/index.js';
import { eventually, until } from './helpers.js';
import { ackEverything, startRawServer, welcome } from './raw-server.js';

const clients: WebSocketClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

function connect(url: string, options: Partial<WebSocketClientOptions> = {}): WebSocketClient {
  const client = new WebSocketClient({
    url,
    reconnectDelay: 10,
    maxReconnectDelay: 20,
    ...options,
  });
  clients.push(client);
  client.connect();
  return client;
}

describe('liveness', () => {
  it('gives up on an attempt that gets no welcome within connectTimeout, and tries again', async () => {
    const server = await startRawServer();
    const closes: CloseInfo[] = [];
    const client = connect(server.url, { connectTimeout: 100, onClose: (e) => closes.push(e) });
    const first = await server.nextPeer();
    const started = Date.now();
    await server.nextPeer();
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(client.status()).toBe('reconnecting');
    expect(closes[0]).toMatchObject({ code: 4000, reason: 'connect timeout' });
    // The abandoned socket is really closed, not left open on the server.
    await new Promise<void>((resolve) => {
      if (first.socket.readyState === first.socket.CLOSED) resolve();
      else first.socket.on('close', () => resolve());
    });
  });

  it('sends heartbeat at the interval and drops a connection whose server stops answering', async () => {
    let answering = true;
    const server = await startRawServer({
      onPeer: (peer) => peer.send(welcome()),
      onMessage: (peer, message) => {
        if (answering) ackEverything(peer, message);
      },
    });
    const closes: CloseInfo[] = [];
    const client = connect(server.url, { heartbeatInterval: 40, onClose: (e) => closes.push(e) });
    const peer = await server.nextPeer();
    await until(client.status, (status) => status === 'connected');
    const heartbeats = () => peer.messages.filter((m) => m.type === 'heartbeat');
    const started = Date.now();
    await eventually(() => heartbeats().length >= 3, 2000, 'three heartbeats');
    expect(Date.now() - started).toBeGreaterThanOrEqual(80);
    expect(heartbeats()[0]).toEqual({ type: 'heartbeat', ref: 'hb' });
    expect(client.status()).toBe('connected');
    // Now silent: no ack, no frame at all. Within a few intervals the client replaces it.
    answering = false;
    const silentSince = Date.now();
    const second = await server.nextPeer();
    // Two intervals of silence, but never less than a second.
    expect(Date.now() - silentSince).toBeGreaterThanOrEqual(900);
    expect(Date.now() - silentSince).toBeLessThan(2500);
    expect(closes[0]).toMatchObject({ code: 4000, reason: 'no reply from the server' });
    expect(second.socket).not.toBe(peer.socket);
  });

  it('takes the server heartbeat interval from welcome when it is shorter', async () => {
    const server = await startRawServer({
      onPeer: (peer) => peer.send(welcome({ heartbeatIntervalMs: 30 })),
      onMessage: ackEverything,
    });
    const client = connect(server.url, { heartbeatInterval: 60_000 });
    const peer = await server.nextPeer();
    await until(client.status, (status) => status === 'connected');
    await eventually(
      () => peer.messages.filter((m) => m.type === 'heartbeat').length >= 2,
      2000,
      'heartbeats at the server interval',
    );
  });
});
