import { describe, expect, it } from 'vitest';
import { type RoomkitError, useSharedState, WebSocketClient } from '../src/index.js';
import { connectClient, eventually, record, startServer, until } from './helpers.js';

interface Doc {
  title: string;
  content: string;
  lastEditor: string;
}
const initialState: Doc = { title: 'Untitled', content: '', lastEditor: '' };

describe('useSharedState', () => {
  it('state/get/version/set/merge, applied at once and seen by the others', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const a = useSharedState<Doc>({ client: alice, room: 'doc', initialState });
    const b = useSharedState<Doc>({ client: bob, room: 'doc', initialState });
    expect(a.state()).toEqual(initialState);
    expect(a.get('title')).toBe('Untitled');
    await until(alice.room('doc').isJoined, Boolean);
    const v0 = a.version();
    a.set('title', 'My Document');
    expect(a.get('title')).toBe('My Document');
    expect(a.version()).toBeGreaterThan(v0);
    await until(b.state, (s) => s.title === 'My Document', 5000, 'bob sees the title');
    const bv = b.version();
    a.merge({ content: 'Hello', lastEditor: 'alice' });
    expect(a.state()).toEqual({ title: 'My Document', content: 'Hello', lastEditor: 'alice' });
    await until(b.state, (s) => s.lastEditor === 'alice' && s.content === 'Hello');
    expect(b.version()).toBeGreaterThan(bv);
    // Nothing unconfirmed remains: the state is the server's.
    await until(alice.room('doc').liveState, (s) => s.lastEditor?.value === 'alice');
    expect(a.state()).toEqual(b.state());
  });

  it('concurrent writers converge on the same value', async () => {
    type Counter = { n: number; doneA: boolean; doneB: boolean };
    const initial: Counter = { n: 0, doneA: false, doneB: false };
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const a = useSharedState<Counter>({ client: alice, room: 'doc', initialState: initial });
    const b = useSharedState<Counter>({ client: bob, room: 'doc', initialState: initial });
    await until(alice.room('doc').members, (m) => m.length === 2);
    await until(bob.room('doc').members, (m) => m.length === 2);
    for (let i = 1; i <= 20; i++) {
      a.set('n', i * 2);
      b.set('n', i * 2 + 1);
    }
    // Each client's writes are handled in order, so its `done` key lands after all its `n` writes.
    a.set('doneA', true);
    b.set('doneB', true);
    const room = () => server.getRoomManager().get('doc')!.liveState;
    await eventually(() => room().has('doneA') && room().has('doneB'), 5000, 'all writes');
    const final = room().get('n')!.value;
    expect([40, 41]).toContain(final);
    const settled = (s: Counter) => s.n === final && s.doneA && s.doneB;
    await until(a.state, settled, 5000, 'alice converges');
    await until(b.state, settled, 5000, 'bob converges');
    expect(a.state()).toEqual(b.state());
  });

  it('rolls back a refused write and reports it to onError', async () => {
    const server = await startServer({ limits: { maxStateKeys: 1 } });
    const errors: RoomkitError[] = [];
    const alice = connectClient(server, 'alice', {
      onError: (e) => errors.push(e as RoomkitError),
    });
    const a = useSharedState({ client: alice, room: 'doc', initialState: { one: 0, two: 0 } });
    await until(alice.room('doc').isJoined, Boolean);
    a.set('one', 1);
    const values = record(a.state);
    a.set('two', 2);
    expect(a.get('two')).toBe(2);
    await until(a.state, (s) => s.two === 0, 5000, 'the rollback');
    expect(a.state()).toEqual({ one: 1, two: 0 });
    const seen = values.values.map((s) => s.two).filter((v, i, all) => v !== all[i - 1]);
    expect(seen).toEqual([0, 2, 0]);
    expect(errors.map((e) => e.code)).toEqual(['state_limit']);
  });

  it('never lets a key reach the prototype; the server refuses it', async () => {
    const server = await startServer();
    const errors: RoomkitError[] = [];
    const alice = connectClient(server, 'alice', {
      onError: (e) => errors.push(e as RoomkitError),
    });
    const a = useSharedState<Record<string, unknown>>({
      client: alice,
      room: 'doc',
      initialState: {},
    });
    await until(alice.room('doc').isJoined, Boolean);
    a.set('__proto__', { polluted: true });
    expect(Object.getPrototypeOf(a.state())).toBe(Object.prototype);
    expect((a.state() as { polluted?: boolean }).polluted).toBeUndefined();
    await eventually(() => errors.length > 0, 5000, 'the refusal');
    expect(errors.map((e) => e.code)).toEqual(['forbidden_key']);
    expect(Object.keys(a.state())).toEqual([]);
  });

  it('sends writes made before the join once joined', async () => {
    const server = await startServer();
    const bob = connectClient(server, 'bob');
    const b = useSharedState({ client: bob, room: 'doc', initialState: { title: '' } });
    const alice = new WebSocketClient({
      url: `ws://127.0.0.1:${server.port}/rooms`,
      params: { userId: 'alice' },
    });
    const a = useSharedState({ client: alice, room: 'doc', initialState: { title: '' } });
    a.set('title', 'early');
    alice.connect();
    await until(b.state, (s) => s.title === 'early');
    alice.disconnect();
    expect(a.get('title')).toBe('early');
  });
});
