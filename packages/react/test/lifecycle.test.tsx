import { type Presence, type RoomClient, signal } from '@roomkit/client';
import { describe, expect, it, vi } from 'vitest';
import {
  RoomProvider,
  type UseCursorsResult,
  type UsePresenceResult,
  type UseRoomResult,
  type UseSharedStateResult,
  useBroadcast,
  useCursors,
  usePresence,
  useRoom,
  useSharedState,
  useStorage,
} from '../src/index.js';
import { connectClient, interact, Probe, render, settle, startServer, unmount } from './helpers.js';

/** A server that logs every announced join and leave as `+user@room` / `-user@room`. */
async function loggingServer() {
  const log = signal<string[]>([]);
  const server = await startServer({
    onJoin: (room, user) => log.set((list) => [...list, `+${user.userId}@${room}`]),
    onLeave: (room, user) => log.set((list) => [...list, `-${user.userId}@${room}`]),
  });
  const of = (userId: string) =>
    log.peek().filter((entry) => entry.slice(1).startsWith(`${userId}@`));
  return { server, log, of };
}

const hasUser = (userId: string) => (others: readonly { user: { id: string } }[]) =>
  others.some((other) => other.user.id === userId);

function dataOf(room: RoomClient, userId: string): Record<string, unknown> | undefined {
  const member = room.members.peek().find((m) => m.userId === userId);
  return member ? ((member.metadata?.data ?? {}) as Record<string, unknown>) : undefined;
}

describe('lifecycle', () => {
  it('a StrictMode mount joins once: no leave and rejoin on the wire', async () => {
    const { server, of } = await loggingServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const bobPresence = bob.room('doc').presence({ initialData: { tool: 'pen' }, syncInterval: 0 });
    const probe = new Probe<UseSharedStateResult<{ title: string }> & { others: number }>();
    function Everything() {
      const presence = usePresence({ initialData: { step: 0 }, syncInterval: 0 });
      useCursors();
      useRoom();
      useBroadcast({ channel: 'chat' });
      useStorage();
      const shared = useSharedState({ initialState: { title: '' } });
      probe.record({ ...shared, others: presence.others.length });
      return null;
    }
    const hold = vi.spyOn(alice.room('doc'), 'hold');
    const view = await render(
      <RoomProvider client={alice} roomId="doc">
        <Everything />
      </RoomProvider>,
      true,
    );
    // StrictMode did run every effect twice: the provider and five features held the room twice.
    expect(hold.mock.calls.length).toBeGreaterThanOrEqual(12);
    await settle(bobPresence.others, hasUser('alice'), 'bob sees alice');
    // The server handles one connection's messages in order: once this write is back from the
    // server, any leave or rejoin the mount had sent would have been handled (and logged) too.
    await interact(() => probe.last.set('title', 'strict'));
    await settle(bob.room('doc').liveState, (s) => s.title?.value === 'strict', 'the write');
    expect(of('alice')).toEqual(['+alice@doc']);
    expect(probe.last.others).toBe(1);
    expect(probe.last.state.title).toBe('strict');

    await unmount(view);
    await settle(bobPresence.others, (others) => others.length === 0, 'alice left');
    expect(of('alice')).toEqual(['+alice@doc', '-alice@doc']);
  });

  it('the room is left when the last component using it unmounts', async () => {
    const { server, of } = await loggingServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const bobPresence = bob.room('doc').presence({ syncInterval: 0 });
    const first = new Probe<UsePresenceResult<{ step: number }>>();
    const second = new Probe<UsePresenceResult<{ step: number }>>();
    // No provider: explicit client and room.
    function Member({ probe }: { probe: Probe<UsePresenceResult<{ step: number }>> }) {
      probe.record(usePresence({ client: alice, room: 'doc', syncInterval: 0 }));
      return null;
    }
    const firstView = await render(<Member probe={first} />);
    const secondView = await render(<Member probe={second} />);
    await settle(bobPresence.others, hasUser('alice'), 'bob sees alice');
    // Alice hears of bob in her own frame, which may come a moment after bob's.
    await settle(alice.room('doc').members, (users) => users.length === 2, 'alice sees bob');
    expect(second.last.others.map((o) => o.user.id)).toEqual(['bob']);

    await unmount(firstView);
    await interact(() => second.last.updatePresence({ step: 1 }));
    await settle(bobPresence.others, (o) => o[0]?.data.step === 1, 'alice is still there');
    expect(of('alice')).toEqual(['+alice@doc']);

    await unmount(secondView);
    await settle(bobPresence.others, (o) => o.length === 0, 'alice left');
    expect(of('alice')).toEqual(['+alice@doc', '-alice@doc']);
  });

  it('re-renders only the components whose slice changed', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const cursorsOnly = new Probe<UseCursorsResult>();
    const presenceOnly = new Probe<UsePresenceResult>();
    const stateOnly = new Probe<UseSharedStateResult<{ n: number }>>();
    function CursorsOnly() {
      cursorsOnly.record(useCursors());
      return null;
    }
    function PresenceOnly() {
      presenceOnly.record(usePresence());
      return null;
    }
    function StateOnly() {
      stateOnly.record(useSharedState({ initialState: { n: 0 } }));
      return null;
    }
    await render(
      <RoomProvider client={alice} roomId="board">
        <CursorsOnly />
        <PresenceOnly />
        <StateOnly />
      </RoomProvider>,
    );
    const bobRoom = bob.room('board');
    const bobPresence = bobRoom.presence({ initialData: { tool: 'pen' }, syncInterval: 0 });
    const bobCursors = bobRoom.cursors({ throttle: 0 });
    const bobState = bobRoom.sharedState({ initialState: { n: 0 } });
    const room = alice.room('board');
    await settle(room.members, () => dataOf(room, 'bob')?.tool === 'pen', 'bob’s presence');
    const renders = () => [cursorsOnly.renders, presenceOnly.renders, stateOnly.renders];

    let before = renders();
    for (const x of [1, 2]) {
      bobCursors.broadcast(x, x);
      await settle(
        alice.lastMessage,
        (m) => m?.type === 'cursor:update' && (m.cursor as { x: number }).x === x,
        `cursor at ${x}`,
      );
      expect(cursorsOnly.last.cursors[0]).toMatchObject({ x, y: x });
    }
    let after = renders();
    expect(after[0]).toBe(before[0]! + 2);
    expect(after.slice(1)).toEqual(before.slice(1));

    before = after;
    bobPresence.updatePresence({ tool: 'eraser' });
    await settle(room.members, () => dataOf(room, 'bob')?.tool === 'eraser', 'bob’s eraser');
    expect(presenceOnly.last.others[0]!.data).toEqual({ tool: 'eraser' });
    after = renders();
    expect(after[1]).toBeGreaterThan(before[1]!);
    // The cursors' derived list was recomputed from the new member list, but is equal: no render.
    expect([after[0], after[2]]).toEqual([before[0], before[2]]);

    before = after;
    bobState.set('n', 1);
    await settle(room.liveState, (s) => s.n?.value === 1, 'n = 1');
    expect(stateOnly.last.state.n).toBe(1);
    after = renders();
    expect(after[2]).toBeGreaterThan(before[2]!);
    expect(after.slice(0, 2)).toEqual(before.slice(0, 2));
  });

  it('actions keep their identity across renders (StrictMode included)', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const bobPresence = bob.room('doc').presence({ syncInterval: 0 });
    const probe = new Probe<readonly unknown[]>();
    function Actions({ label }: { label: string }) {
      const presence = usePresence<{ label: string }>({ initialData: { label }, syncInterval: 0 });
      const cursors = useCursors();
      const room = useRoom();
      const channel = useBroadcast({ channel: 'chat' });
      const shared = useSharedState({ initialState: { label } });
      probe.record([
        presence.updatePresence,
        cursors.broadcast,
        room.join,
        room.leave,
        room.broadcast,
        channel.broadcast,
        channel.clear,
        shared.set,
        shared.merge,
      ]);
      return null;
    }
    const view = await render(
      <RoomProvider client={alice} roomId="doc">
        <Actions label="a" />
      </RoomProvider>,
      true,
    );
    await settle(bobPresence.others, hasUser('alice'), 'bob sees alice');
    await interact(() =>
      view.update(
        <RoomProvider client={alice} roomId="doc">
          <Actions label="b" />
        </RoomProvider>,
      ),
    );
    bobPresence.updatePresence({ label: 'bob' });
    await settle(
      alice.room('doc').members,
      () => dataOf(alice.room('doc'), 'bob')?.label === 'bob',
      'bob’s update',
    );
    expect(probe.renders).toBeGreaterThan(4);
    const [first] = probe.seen;
    for (const actions of probe.seen) {
      actions.forEach((action, i) => {
        expect(action).toBe(first![i]);
      });
    }
  });

  it('provider settings reach the join, though its children hold the room first', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const carol = connectClient(server, 'carol');
    const probes = { alice: new Probe<UseRoomResult>(), bob: new Probe<UseRoomResult>() };
    function Header({ probe }: { probe: Probe<UseRoomResult> }) {
      usePresence({ initialData: { here: true } });
      probe.record(useRoom());
      return null;
    }
    await render(
      <RoomProvider client={alice} roomId="vault" password="secret" metadata={{ kind: 'vault' }}>
        <Header probe={probes.alice} />
      </RoomProvider>,
    );
    await settle(alice.room('vault').isJoined, (joined) => joined, 'alice joined');
    expect(probes.alice.last.room?.metadata).toEqual({ kind: 'vault' });

    await render(
      <RoomProvider client={bob} roomId="vault" password="guess">
        <Header probe={probes.bob} />
      </RoomProvider>,
    );
    await settle(bob.room('vault').error, (error) => error !== null, 'bob refused');
    expect(probes.bob.last.isJoined).toBe(false);
    expect(probes.bob.last.error?.code).toBe('wrong_password');

    const carolRoom = carol.room('vault').membership({ password: 'secret' });
    await interact(async () => expect(await carolRoom.join()).toBe(true));
  });

  it('a new roomId moves the subtree to the new room', async () => {
    const { server, of } = await loggingServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const carol = connectClient(server, 'carol');
    const inA: Presence<Record<string, unknown>> = bob.room('a').presence({ syncInterval: 0 });
    const inB = carol.room('b').presence({ syncInterval: 0 });
    const probe = new Probe<UsePresenceResult>();
    function Who() {
      probe.record(usePresence());
      return null;
    }
    const tree = (roomId: string) => (
      <RoomProvider client={alice} roomId={roomId}>
        <Who />
      </RoomProvider>
    );
    const view = await render(tree('a'));
    await settle(inA.others, hasUser('alice'), 'alice in a');
    await settle(alice.room('a').members, (m) => m.length === 2, 'alice sees bob');
    expect(probe.last.others.map((o) => o.user.id)).toEqual(['bob']);

    await interact(() => view.update(tree('b')));
    // The render with the new room never shows the old room's users.
    expect(probe.last.others.map((o) => o.user.id)).not.toContain('bob');
    await settle(inB.others, hasUser('alice'), 'alice in b');
    await settle(inA.others, (o) => o.length === 0, 'alice left a');
    await settle(alice.room('b').members, (m) => m.length === 2, 'alice sees carol');
    expect(probe.last.others.map((o) => o.user.id)).toEqual(['carol']);
    expect(of('alice')).toEqual(['+alice@a', '-alice@a', '+alice@b']);
  });

  it('a hook with neither a client nor a provider says what is missing', async () => {
    function Orphan() {
      usePresence();
      return null;
    }
    await expect(render(<Orphan />)).rejects.toThrow(/usePresence: no client/);
  });
});
