/**
 * After the server drops the socket or restarts, the client comes back by itself: rooms
 * rejoined, presence back, live state and documents converged, offline work delivered.
 */
import { describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import type { RoomServer } from '../../server/src/index.js';
import { usePresence, useSharedState, useStorage, type WebSocketClient } from '../src/index.js';
import {
  connectClient,
  countUpgrades,
  dropConnections,
  startServer,
  stopServer,
  until,
} from './helpers.js';
import { wiretap } from './raw-server.js';

/** Resolves once the document's text `name` satisfies `predicate`. */
function textWhere(doc: Y.Doc, predicate: (text: string) => boolean, name = 't'): Promise<string> {
  const text = doc.getText(name);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`text is ${text.toString()}`)), 5000);
    const check = () => {
      if (!predicate(text.toString())) return;
      clearTimeout(timer);
      text.unobserve(check);
      resolve(text.toString());
    };
    text.observe(check);
    check();
  });
}

async function restart(server: RoomServer): Promise<RoomServer> {
  const { port } = server;
  await stopServer(server);
  return startServer({}, port);
}

function whiteboard(client: WebSocketClient, name: string, tool: string) {
  const presence = usePresence({
    client,
    room: 'board',
    user: { id: 'ignored', name },
    initialData: { tool },
  });
  const shared = useSharedState({ client, room: 'board', initialState: { title: 'Untitled' } });
  const storage = useStorage({ client, room: 'board' });
  return { presence, shared, storage };
}

describe.each([
  ['the server drops the socket', false],
  ['the server restarts on the same port', true],
])('reconnect after %s', (_name, restarts) => {
  it('rejoins, restores presence and converges state and storage, offline edits included', async () => {
    let server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const a = whiteboard(alice, 'Alice', 'pen');
    const b = whiteboard(bob, 'Bob', 'eraser');
    await until(
      b.presence.others,
      (o) => o.some((p) => p.data.tool === 'pen'),
      5000,
      'bob sees alice',
    );
    await a.storage.whenSynced();
    await b.storage.whenSynced();
    a.storage.doc.getText('t').insert(0, 'hello');
    await textWhere(b.storage.doc, (t) => t === 'hello');

    if (restarts) server = await restart(server);
    else dropConnections(server, 'alice');
    await until(alice.status, (s) => s !== 'connected', 5000, 'alice notices');
    expect(a.presence.isConnected()).toBe(false);

    // Offline work on both sides (bob too, when the whole server went away).
    a.shared.set('title', 'written offline');
    a.presence.updatePresence({ tool: 'marker' });
    a.storage.doc.getText('t').insert(0, '[A]');
    if (restarts) b.storage.doc.getText('t').insert(8, '[B]');

    await until(alice.status, (s) => s === 'connected', 5000, 'alice reconnects');
    await until(a.presence.isConnected, Boolean, 5000, 'alice rejoins');
    await until(
      b.presence.others,
      (o) =>
        o.length === 1 &&
        o[0]!.data.tool === 'marker' &&
        o[0]!.user.name === 'Alice' &&
        o[0]!.user.id === 'alice',
      5000,
      'bob sees alice back with her data',
    );
    // Bob's own entry comes with the delta after his snapshot (it may trail alice's by a flush).
    await until(b.presence.count, (count) => count === 2, 5000, 'bob counts both');
    await until(a.presence.others, (o) => o.length === 1 && o[0]!.data.tool === 'eraser');

    await until(b.shared.state, (s) => s.title === 'written offline', 5000, 'bob gets the title');
    await until(a.shared.state, (s) => s.title === 'written offline');

    const expected = restarts ? '[A]hello[B]' : '[A]hello';
    await textWhere(a.storage.doc, (t) => t === expected);
    await textWhere(b.storage.doc, (t) => t === expected);
    await until(a.storage.pendingUpdates, (n) => n === 0);
    await until(b.storage.pendingUpdates, (n) => n === 0);
  });
});

describe('reconnect efficiency', () => {
  it('sends and receives only the difference of the document after a drop', async () => {
    const server = await startServer();
    const tap = wiretap();
    const alice = connectClient(server, 'alice', { WebSocket: tap.WebSocket });
    const bob = connectClient(server, 'bob');
    const a = useStorage({ client: alice, room: 'doc' });
    const b = useStorage({ client: bob, room: 'doc' });
    await a.whenSynced();
    await b.whenSynced();
    b.doc.getText('t').insert(0, 'x'.repeat(5000));
    await textWhere(a.doc, (t) => t.length === 5000);
    await until(b.pendingUpdates, (n) => n === 0);

    dropConnections(server, 'alice');
    await until(alice.status, (s) => s !== 'connected');
    const sentBefore = tap.sentBinaryBytes();
    const receivedBefore = tap.receivedBinaryBytes;
    a.doc.getText('t').insert(0, 'a');
    b.doc.getText('t').insert(5000, 'b');
    await textWhere(a.doc, (t) => t.length === 5002);
    await textWhere(b.doc, (t) => t.length === 5002);
    await until(a.pendingUpdates, (n) => n === 0);
    expect(a.doc.getText('t').toString()).toBe(b.doc.getText('t').toString());
    expect(tap.sentBinaryBytes() - sentBefore).toBeLessThan(200);
    expect(tap.receivedBinaryBytes - receivedBefore).toBeLessThan(200);
  });
});

describe('disconnect()', () => {
  it('stops reconnecting: no upgrade reaches a restarted server', async () => {
    let server = await startServer();
    const alice = connectClient(server, 'alice');
    await alice.room('r').membership().join();
    alice.disconnect();
    const { port } = server;
    await stopServer(server);
    server = await startServer({}, port);
    const upgrades = countUpgrades(server);
    // Absence can only be shown by waiting: several times the longest reconnect delay (200 ms).
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(upgrades.count).toBe(0);
    expect(alice.status()).toBe('disconnected');
    // connect() brings everything back.
    alice.connect();
    await until(alice.room('r').isJoined, Boolean);
    expect(upgrades.count).toBe(1);
  });

  it('cancels an attempt still waiting for async params', async () => {
    const server = await startServer();
    const upgrades = countUpgrades(server);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const alice = connectClient(server, 'alice', {
      params: async () => {
        await gate;
        return { userId: 'alice' };
      },
    });
    alice.disconnect();
    release();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(upgrades.count).toBe(0);
    expect(alice.status()).toBe('disconnected');
  });
});
