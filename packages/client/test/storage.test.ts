import { afterEach, describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import { openStore, type RoomServer, type Store } from '../../server/src/index.js';
import { type RoomkitError, useStorage, WebSocketClient } from '../src/index.js';
import { connectClient, record, startServer, stopServer, until } from './helpers.js';

const stores: Store[] = [];
afterEach(async () => {
  // The server must stop (and flush) before its store closes.
  await Promise.all(servers.splice(0).map((server) => stopServer(server)));
  await Promise.all(stores.splice(0).map((store) => store.close()));
});
const servers: RoomServer[] = [];

/** Resolves once the text satisfies `predicate` (checked now and on every change). */
function textWhere(text: Y.Text, predicate: (value: string) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`text stayed ${text.toString()}`)), 5000);
    const check = () => {
      if (!predicate(text.toString())) return;
      clearTimeout(timer);
      text.unobserve(check);
      resolve();
    };
    text.observe(check);
    check();
  });
}

describe('useStorage', () => {
  it('syncs the room document both ways; pendingUpdates returns to 0 once durable', async () => {
    const store = await openStore(':memory:');
    stores.push(store);
    const server = await startServer({ store });
    servers.push(server);
    const alice = connectClient(server, 'alice');
    const a = useStorage({ client: alice, room: 'notes' });
    expect(a.synced()).toBe(false);
    await a.whenSynced();
    expect(a.synced()).toBe(true);
    const pending = record(a.pendingUpdates);
    a.doc.getText('t').insert(0, 'hello');
    expect(a.pendingUpdates()).toBe(1);
    await until(a.pendingUpdates, (n) => n === 0, 5000, 'the ack');
    expect(pending.values).toEqual([0, 1, 0]);

    // A later member gets what is there, then edits flow both ways.
    const bob = connectClient(server, 'bob');
    const b = useStorage({ client: bob, room: 'notes' });
    await b.whenSynced();
    expect(b.doc.getText('t').toString()).toBe('hello');
    b.doc.getText('t').insert(5, ' world');
    await textWhere(a.doc.getText('t'), (t) => t === 'hello world');
    a.doc.getMap('m').set('k', 1);
    await until(b.pendingUpdates, (n) => n === 0);
    await new Promise<void>((resolve) => {
      const map = b.doc.getMap('m');
      const check = () => map.get('k') === 1 && resolve();
      map.observe(check);
      check();
    });
    expect(a.error()).toBeNull();
  });

  it('sends edits made before connecting once synced', async () => {
    const server = await startServer();
    const bob = connectClient(server, 'bob');
    const b = useStorage({ client: bob, room: 'notes' });
    await b.whenSynced();
    const alice = new WebSocketClient({
      url: `ws://127.0.0.1:${server.port}/rooms`,
      params: { userId: 'alice' },
    });
    const a = useStorage({ client: alice, room: 'notes' });
    a.doc.getText('t').insert(0, 'offline');
    const synced = a.whenSynced();
    alice.connect();
    await synced;
    await textWhere(b.doc.getText('t'), (t) => t === 'offline');
    await until(a.pendingUpdates, (n) => n === 0);
    alice.disconnect();
    expect(a.synced()).toBe(false);
  });

  it('one document per room per client, shared by every handle', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const first = useStorage({ client: alice, room: 'notes' });
    const second = alice.room('notes').storage();
    expect(second.doc).toBe(first.doc);
    first.dispose();
    await second.whenSynced();
    expect(alice.room('notes').isJoined()).toBe(true);
  });

  it('a read-only user syncs, and its edits are refused: error() says read_only', async () => {
    const server = await startServer({
      auth: {
        authenticate: (req) => {
          const userId = new URL(req.url ?? '/', 'http://x').searchParams.get('userId') ?? 'anon';
          return { userId, displayName: userId, readOnly: userId === 'viewer' };
        },
      },
    });
    const errors: RoomkitError[] = [];
    const editor = connectClient(server, 'editor');
    const viewer = connectClient(server, 'viewer', {
      onError: (e) => errors.push(e as RoomkitError),
    });
    const e = useStorage({ client: editor, room: 'notes' });
    const v = useStorage({ client: viewer, room: 'notes' });
    await e.whenSynced();
    e.doc.getText('t').insert(0, 'from editor');
    await v.whenSynced();
    await textWhere(v.doc.getText('t'), (t) => t === 'from editor');
    v.doc.getText('t').insert(0, 'vandal ');
    await until(v.error, (error) => error !== null, 5000, 'the refusal');
    expect(v.error()).toMatchObject({ code: 'read_only' });
    expect(errors.map((error) => error.code)).toContain('read_only');
    expect(v.pendingUpdates()).toBe(0);
    // The editor never got it; its own edits still reach the viewer.
    e.doc.getText('t').insert(0, '> ');
    await textWhere(v.doc.getText('t'), (t) => t.includes('> '));
    expect(e.doc.getText('t').toString()).toBe('> from editor');
  });
});
