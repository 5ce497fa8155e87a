/**
 * Two clients in a room, one scenario per feature, with the hook-style functions and their options.
 * Each throws on the first unmet expectation.
 */
import {
  signal,
  useBroadcast,
  useCursors,
  usePresence,
  useRoom,
  useSharedState,
  useStorage,
} from '../../src/index.js';
import {
  assert,
  assertEqual,
  type Scenario,
  uniqueRoom,
  until,
  untilEvent,
  withClients,
} from './env.js';

export const presence: Scenario = (env) =>
  withClients(env, async (open) => {
    const room = uniqueRoom('presence');
    const alice = open('alice');
    const bob = open('bob');
    const pa = usePresence({
      client: alice,
      room,
      user: { id: 'alice', name: 'Alice', color: '#e91e63' },
      initialData: { tool: 'pen' },
      syncInterval: 50,
    });
    const pb = usePresence({
      client: bob,
      room,
      user: { id: 'bob', name: 'Bob' },
      initialData: { tool: 'eraser' },
      syncInterval: 50,
    });
    await until(pa.others, (o) => o[0]?.data.tool === 'eraser', 'alice sees bob and his tool');
    const [other] = pa.others.peek();
    assertEqual([other?.user.id, other?.user.name], ['bob', 'Bob'], 'bob as alice sees him');
    assertEqual(pa.count.peek(), 2, 'count includes me');
    assert(pa.isConnected.peek(), 'alice is connected');
    await until(
      pb.others,
      (o) => o[0]?.data.tool === 'pen' && o[0].user.color === '#e91e63',
      'bob sees alice with her declared color',
    );

    pa.updatePresence({ tool: 'eraser' });
    assertEqual(pa.myPresence.peek(), { tool: 'eraser' }, 'my presence updates at once');
    await until(pb.others, (o) => o[0]?.data.tool === 'eraser', 'bob sees alice switch tools');

    // Nothing else holds bob's room: disposing his presence leaves it.
    pb.dispose();
    await until(pa.others, (o) => o.length === 0, 'alice sees bob leave');
    assertEqual(pa.count.peek(), 1, 'count after bob left');
    pa.dispose();
  });

export const cursors: Scenario = (env) =>
  withClients(env, async (open) => {
    const room = uniqueRoom('cursors');
    const alice = open('alice');
    const bob = open('bob');
    const ca = useCursors({ client: alice, room, user: { name: 'Alice', color: '#00bcd4' } });
    const cb = useCursors({ client: bob, room, user: { name: 'Bob' } });
    // Positions sent before the join wait for it; a burst is throttled, its last one always sent.
    for (let i = 0; i <= 10; i++) ca.broadcast(i * 10, i * 5);
    const [cursor] = await until(
      cb.cursors,
      (c) => c[0]?.x === 100 && c[0].y === 50 && c[0].user.name === 'Alice',
      "bob sees alice's last position, with her name",
    );
    assertEqual(cursor?.user.color, '#00bcd4', 'cursor color');
    assert(typeof cursor?.timestamp === 'number', 'cursor has a timestamp');
    assertEqual(ca.cursors.peek(), [], 'my own cursor is not in cursors()');

    ca.dispose();
    await until(cb.cursors, (c) => c.length === 0, "alice's cursor goes when she leaves");
    cb.dispose();
  });

export const room: Scenario = (env) =>
  withClients(env, async (open) => {
    const id = uniqueRoom('room');
    const alice = open('alice');
    const bob = open('bob');
    const ra = useRoom({ client: alice, roomId: id, user: { name: 'Alice' } });
    const rb = useRoom({ client: bob, roomId: id, user: { name: 'Bob' } });
    assert(await ra.join(), 'alice joins');
    const joined = signal<string[]>([]);
    const stopJoined = alice.on<{ userId: string }>('room:user:joined', (payload) =>
      joined.set((list) => [...list, payload.userId]),
    );
    assert(await rb.join(), 'bob joins');
    await until(joined, (list) => list.includes('bob'), 'alice gets room:user:joined for bob');
    await until(
      ra.users,
      (users) =>
        users
          .map((u) => u.name)
          .sort()
          .join() === 'Alice,Bob',
      'alice sees both users by name',
    );
    const info = ra.room.peek();
    assert(info !== null && info.id === id && info.users.length === 2, 'room() describes the room');
    assert(!Number.isNaN(info.createdAt.getTime()), 'room() has createdAt from the server');

    // A chat as examples/chat does it: room.broadcast(type, payload) + client.on(type).
    const heard = signal<Array<{ text: string; from: string | undefined }>>([]);
    const echoed = signal(0);
    const stopBob = bob.on<{ text: string }>('chat:message', (payload, message) =>
      heard.set((list) => [...list, { text: payload.text, from: message.from }]),
    );
    const stopAlice = alice.on('chat:message', () => echoed.set((n) => n + 1));
    ra.broadcast('chat:message', { text: 'hello' });
    await until(heard, (list) => list.length === 1, 'bob hears alice');
    assertEqual(heard.peek(), [{ text: 'hello', from: 'alice' }], 'relayed with the sender');
    assertEqual(echoed.peek(), 1, "alice's own handlers see her message once");

    const left = signal<unknown[]>([]);
    const stopLeft = bob.on('room:user:left', (payload) => left.set((l) => [...l, payload]));
    ra.leave();
    await until(rb.users, (users) => users.length === 1, 'bob sees alice leave');
    await until(left, (l) => l.length === 1, 'bob gets room:user:left');
    assertEqual(left.peek(), ['alice'], 'room:user:left payload is the userId');
    assert(!ra.isJoined.peek() && ra.room.peek() === null, 'alice is out of the room');
    for (const stop of [stopJoined, stopBob, stopAlice, stopLeft]) stop();
    rb.dispose();

    // Password and maxUsers apply when a join creates the room.
    const locked = uniqueRoom('locked');
    const owner = useRoom({ client: alice, roomId: locked, password: 'secret', maxUsers: 1 });
    assert(await owner.join(), 'the owner creates the locked room');
    const intruder = useRoom({ client: bob, roomId: locked, password: 'wrong' });
    assert(!(await intruder.join()), 'a wrong password is refused');
    assertEqual(intruder.error.peek()?.code, 'wrong_password', 'error code');
    const guest = useRoom({ client: bob, roomId: locked, password: 'secret' });
    assert(!(await guest.join()), 'a second user is refused past maxUsers');
    assertEqual(guest.error.peek()?.code, 'room_full', 'error code');
    owner.dispose();
    guest.dispose();
    intruder.dispose();
  });

export const broadcastChannel: Scenario = (env) =>
  withClients(env, async (open) => {
    const room = uniqueRoom('broadcast');
    const alice = open('alice');
    const bob = open('bob');
    type Typing = { userId: string; isTyping: boolean };
    const ta = useBroadcast<Typing>({ client: alice, room, channel: 'typing' });
    const tb = useBroadcast<Typing>({ client: bob, room, channel: 'typing' });
    const nb = useBroadcast({ client: bob, room, channel: 'notifications' });
    const recent = useBroadcast<{ n: number }>({
      client: bob,
      room,
      channel: 'n',
      historyLimit: 3,
    });
    const counter = useBroadcast<{ n: number }>({ client: alice, room, channel: 'n' });
    assert(await alice.room(room).whenJoined(), 'alice joined');
    assert(await bob.room(room).whenJoined(), 'bob joined');

    ta.broadcast({ userId: 'alice', isTyping: true });
    assertEqual(ta.history.peek().length, 1, 'my own message is in my history');
    const got = await until(tb.lastMessage, (m) => m !== null, 'bob gets the typing message');
    assert(got !== null, 'message');
    assertEqual(
      [got.userId, got.isTyping, got.from],
      ['alice', true, 'alice'],
      'payload and sender',
    );
    assert(typeof got.timestamp === 'number' && got.timestamp > 0, 'server timestamp');
    assertEqual(nb.history.peek(), [], 'other channels get nothing');

    for (let n = 1; n <= 5; n++) counter.broadcast({ n });
    await until(recent.lastMessage, (m) => m?.n === 5, 'bob gets the burst');
    assertEqual(
      recent.history.peek().map((m) => m.n),
      [3, 4, 5],
      'history keeps the last historyLimit, in order',
    );
    tb.clear();
    assertEqual([tb.history.peek(), tb.lastMessage.peek()], [[], null], 'clear() empties');
    for (const channel of [ta, tb, nb, recent, counter]) channel.dispose();
  });

interface DocumentState {
  title: string;
  content: string;
  lastEditor: string;
}

export const sharedState: Scenario = (env) =>
  withClients(env, async (open) => {
    const room = uniqueRoom('state');
    const alice = open('alice');
    const bob = open('bob');
    const initialState: DocumentState = { title: 'Untitled', content: '', lastEditor: '' };
    const da = useSharedState<DocumentState>({ client: alice, room, initialState });
    const db = useSharedState<DocumentState>({ client: bob, room, initialState });
    assert(await alice.room(room).whenJoined(), 'alice joined');
    assert(await bob.room(room).whenJoined(), 'bob joined');
    assertEqual(db.get('title'), 'Untitled', 'initialState shows before any write');

    const before = da.version.peek();
    da.set('title', 'My Document');
    assertEqual(da.get('title'), 'My Document', 'a write shows at once');
    assert(da.version.peek() > before, 'version counts the write');
    await until(db.state, (s) => s.title === 'My Document', 'bob sees the title');

    db.merge({ content: 'hello', lastEditor: 'bob' });
    await until(
      da.state,
      (s) => s.content === 'hello' && s.lastEditor === 'bob',
      'alice sees the merge',
    );

    // Concurrent writes to one key: last writer (by the server's clock) wins on both sides.
    da.set('title', 'A');
    db.set('title', 'B');
    // Barrier: a later write by each, echoed back by the server to its writer (after that
    // writer's earlier acks) and seen by the other, means every title write was processed.
    da.set('lastEditor', 'alice');
    db.set('content', 'done');
    await until(db.state, (s) => s.lastEditor === 'alice', 'bob sees the barrier');
    await until(da.state, (s) => s.content === 'done', 'alice sees the barrier');
    await until(alice.room(room).liveState, (s) => s.lastEditor?.value === 'alice', 'echo');
    await until(bob.room(room).liveState, (s) => s.content?.value === 'done', 'echo');
    assertEqual(da.get('title'), db.get('title'), 'both sides agree on the title');
    assert(['A', 'B'].includes(da.get('title')), 'the winner is one of the writes');
    da.dispose();
    db.dispose();
  });

export const storage: Scenario = (env) =>
  withClients(env, async (open) => {
    const room = uniqueRoom('storage');
    const alice = open('alice');
    const bob = open('bob');
    const sa = useStorage({ client: alice, room });
    const sb = useStorage({ client: bob, room });
    await sa.whenSynced();
    await sb.whenSynced();
    const ta = sa.doc.getText('body');
    const tb = sb.doc.getText('body');
    // Either document changing may complete a wait that looks at both.
    const changes = (listener: () => void) => {
      ta.observe(listener);
      tb.observe(listener);
      return () => {
        ta.unobserve(listener);
        tb.unobserve(listener);
      };
    };
    ta.insert(0, 'hello');
    await untilEvent(changes, () => tb.toString() === 'hello', 'bob sees hello');

    // Concurrent edits from both sides merge (CRDT): both end with all of each.
    ta.insert(5, ' world');
    tb.insert(0, '> ');
    const converged = () => ta.toString() === tb.toString() && ta.length === 13;
    await untilEvent(changes, converged, 'both documents converge');
    assertEqual(ta.toString(), '> hello world', 'merged text');
    await until(sa.pendingUpdates, (n) => n === 0, "alice's updates confirmed");
    await until(sb.pendingUpdates, (n) => n === 0, "bob's updates confirmed");
    sa.dispose();
    sb.dispose();
  });
