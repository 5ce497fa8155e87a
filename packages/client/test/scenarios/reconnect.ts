/**
 * The connection going away: the server drops a socket (no close handshake) and the client
 * comes back on its own — rejoined, presence re-sent, offline state and storage edits delivered,
 * the others' edits caught up — and `disconnect()` leaving for good.
 */
import type { ConnectionStatus } from '../../src/index.js';
import { usePresence, useSharedState, useStorage } from '../../src/index.js';
import {
  assert,
  assertEqual,
  type Scenario,
  uniqueRoom,
  until,
  untilEvent,
  withClients,
} from './env.js';

interface Board {
  title: string;
  note: string;
}

export const reconnectAfterDrop: Scenario = (env) =>
  withClients(env, async (open) => {
    const room = uniqueRoom('reconnect');
    const alice = open('alice');
    const bob = open('bob');
    const presenceOf = (client: typeof alice, tool: string) =>
      usePresence({ client, room, initialData: { tool }, syncInterval: 50 });
    const pa = presenceOf(alice, 'pen');
    presenceOf(bob, 'eraser');
    const initialState: Board = { title: '', note: '' };
    const sa = useSharedState<Board>({ client: alice, room, initialState });
    const sb = useSharedState<Board>({ client: bob, room, initialState });
    const ya = useStorage({ client: alice, room });
    const yb = useStorage({ client: bob, room });
    await until(pa.others, (o) => o[0]?.data.tool === 'eraser', 'alice sees bob');
    await ya.whenSynced();
    await yb.whenSynced();
    const before = bob.session.peek()?.connectionId;
    const droppedAt = Date.now();
    const statuses: ConnectionStatus[] = [];
    const stopStatus = bob.status.subscribe((status) => statuses.push(status));

    assertEqual(await env.dropConnections('bob'), 1, 'sockets dropped');
    // Straight after the drop, before bob is back: edits on both sides. Bob's may go into the
    // dead socket or wait offline; either way they must reach the room after the rejoin.
    sb.set('title', 'written by bob around the drop');
    yb.doc.getText('t').insert(0, 'B');
    sa.set('note', 'written by alice meanwhile');
    ya.doc.getText('t').insert(0, 'A');

    await until(
      bob.session,
      (s) => s !== null && s.connectionId !== before,
      'bob reconnects with a new connection',
    );
    assert(statuses.includes('reconnecting'), `status went through reconnecting: ${statuses}`);
    assertEqual(bob.status.peek(), 'connected', 'status after the reconnect');
    stopStatus();
    assert(await bob.room(room).whenJoined(), 'bob rejoined the room by himself');

    // The server's member record of bob is his new connection, with his presence re-sent.
    await until(
      alice.room(room).members,
      (members) =>
        members.some(
          (m) =>
            m.userId === 'bob' &&
            m.connectedAt >= droppedAt &&
            (m.metadata?.data as { tool?: string } | undefined)?.tool === 'eraser',
        ),
      "alice sees bob's new connection with his presence",
    );
    assertEqual(pa.count.peek(), 2, 'bob counted once');

    const agreed = (s: Board) =>
      s.title === 'written by bob around the drop' && s.note === 'written by alice meanwhile';
    await until(sa.state, agreed, 'alice has both writes');
    await until(sb.state, agreed, 'bob has both writes');

    const ta = ya.doc.getText('t');
    const tb = yb.doc.getText('t');
    const changes = (listener: () => void) => {
      ta.observe(listener);
      tb.observe(listener);
      return () => {
        ta.unobserve(listener);
        tb.unobserve(listener);
      };
    };
    await untilEvent(
      changes,
      () => ta.length === 2 && ta.toString() === tb.toString(),
      'storage converges with both offline edits',
    );
    await until(yb.synced, (synced) => synced, 'bob storage synced again');
  });

export const disconnectStops: Scenario = (env) =>
  withClients(env, async (open) => {
    const room = uniqueRoom('disconnect');
    const alice = open('alice');
    const bob = open('bob');
    const pa = usePresence({ client: alice, room, initialData: {} });
    usePresence({ client: bob, room, initialData: {} });
    await until(pa.count, (n) => n === 2, 'both in the room');
    bob.disconnect();
    assertEqual(bob.status.peek(), 'disconnected', 'status right after disconnect()');
    assertEqual(bob.retry.peek(), null, 'no reconnect scheduled');
    await until(pa.count, (n) => n === 1, 'alice sees bob leave');
    assertEqual(bob.status.peek(), 'disconnected', 'still disconnected');
    assertEqual(await env.dropConnections('bob'), 0, 'bob has no socket on the server');
  });
