import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  useBroadcast,
  useCursors,
  usePresence,
  useRoom,
  useSharedState,
  useStorage,
} from '../src/index.js';
import { connectClient, startServer, until } from './helpers.js';

describe('client smoke', () => {
  it('joins, sees presence, state, broadcast, cursors and storage', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const pa = usePresence({
      client: alice,
      room: 'demo',
      user: { id: 'x', name: 'Alice' },
      initialData: { tool: 'pen' },
    });
    usePresence({
      client: bob,
      room: 'demo',
      user: { id: 'y', name: 'Bob' },
      initialData: { tool: 'eraser' },
    });
    await until(
      pa.others,
      (o) => o.length === 1 && o[0]!.data.tool === 'eraser',
      5000,
      'alice sees bob',
    );
    expect(pa.count()).toBe(2);
    expect(pa.others()[0]!.user).toMatchObject({ id: 'bob', name: 'Bob' });

    const sa = useSharedState({
      client: alice,
      room: 'demo',
      initialState: { title: 'Untitled', n: 0 },
    });
    const sb = useSharedState({
      client: bob,
      room: 'demo',
      initialState: { title: 'Untitled', n: 0 },
    });
    sa.set('title', 'Hello');
    expect(sa.get('title')).toBe('Hello');
    await until(sb.state, (s) => s.title === 'Hello', 5000, 'bob sees title');

    const ba = useBroadcast<{ text: string }>({ client: alice, room: 'demo', channel: 'chat' });
    const bb = useBroadcast<{ text: string }>({ client: bob, room: 'demo', channel: 'chat' });
    ba.broadcast({ text: 'hi' });
    await until(bb.lastMessage, (m) => m?.text === 'hi', 5000, 'bob sees the chat message');

    const ca = useCursors({ client: alice, room: 'demo' });
    const cb = useCursors({ client: bob, room: 'demo' });
    ca.broadcast(10, 20);
    await until(cb.cursors, (c) => c.length === 1 && c[0]!.x === 10, 5000, 'bob sees cursor');

    const ra = useRoom({ client: alice, roomId: 'demo' });
    await ra.join();
    expect(ra.room()?.users).toHaveLength(2);

    const da = useStorage({ client: alice, room: 'demo' });
    const db = useStorage({ client: bob, room: 'demo' });
    await da.whenSynced();
    await db.whenSynced();
    da.doc.getText('t').insert(0, 'hello');
    const text = db.doc.getText('t');
    await new Promise<void>((resolve) => {
      const check = () => text.toString() === 'hello' && resolve();
      text.observe(check);
      check();
    });
    expect(Y.encodeStateAsUpdate(db.doc).length).toBeGreaterThan(2);
    await until(da.pendingUpdates, (n) => n === 0);
  });
});
