import { type RoomClient, signal } from '@roomkit/client';
import { useEffect } from 'react';
import { act } from 'react-test-renderer';
import { describe, expect, it } from 'vitest';
import {
  RoomProvider,
  type UseBroadcastResult,
  type UseCursorsResult,
  type UsePresenceResult,
  type UseRoomResult,
  type UseSharedStateResult,
  type UseStorageResult,
  useBroadcast,
  useClientStatus,
  useCursors,
  usePresence,
  useRoom,
  useSharedState,
  useSignal,
  useStorage,
} from '../src/index.js';
import { connectClient, interact, Probe, render, settle, startServer, unmount } from './helpers.js';

/** Presence data of `userId` as `room` last heard it, if they are in the room. */
function dataOf(room: RoomClient, userId: string): Record<string, unknown> | undefined {
  const member = room.members.peek().find((m) => m.userId === userId);
  return member ? ((member.metadata?.data ?? {}) as Record<string, unknown>) : undefined;
}

const inRoom = (userId: string) => (members: readonly { userId: string }[]) =>
  members.some((m) => m.userId === userId);

describe('hooks show live data from another client', () => {
  it('usePresence: others, count, isConnected, myPresence and updatePresence', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const probe = new Probe<UsePresenceResult<{ tool: string }>>();
    function Panel() {
      const options = { user: { name: 'Alice' }, initialData: { tool: 'pen' }, syncInterval: 20 };
      probe.record(usePresence(options));
      return null;
    }
    await render(
      <RoomProvider client={alice} roomId="doc">
        <Panel />
      </RoomProvider>,
    );
    const room = alice.room('doc');
    const bobPresence = bob
      .room('doc')
      .presence({ user: { name: 'Bob' }, initialData: { tool: 'eraser' }, syncInterval: 20 });
    await settle(room.members, () => dataOf(room, 'bob')?.tool === 'eraser', 'alice sees bob');
    expect(probe.last.isConnected).toBe(true);
    expect(probe.last.count).toBe(2);
    expect(probe.last.myPresence).toEqual({ tool: 'pen' });
    expect(probe.last.others).toHaveLength(1);
    expect(probe.last.others[0]!.user).toMatchObject({ id: 'bob', name: 'Bob' });
    expect(probe.last.others[0]!.data).toEqual({ tool: 'eraser' });

    bobPresence.updatePresence({ tool: 'marker' });
    await settle(room.members, () => dataOf(room, 'bob')?.tool === 'marker', 'bob marker');
    expect(probe.last.others[0]!.data).toEqual({ tool: 'marker' });

    await interact(() => probe.last.updatePresence({ tool: 'brush' }));
    expect(probe.last.myPresence).toEqual({ tool: 'brush' });
    await settle(bobPresence.others, (o) => o[0]?.data.tool === 'brush', 'bob sees the brush');
    expect(bobPresence.others.peek()[0]!.user).toMatchObject({ id: 'alice', name: 'Alice' });

    bobPresence.dispose();
    await settle(room.members, (m) => !inRoom('bob')(m), 'bob gone');
    expect(probe.last.others).toEqual([]);
    expect(probe.last.count).toBe(1);
  });

  it('usePresence: a member joining with initialData never shows in others without it', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const probe = new Probe<UsePresenceResult<{ tool: string }>>();
    function Watcher() {
      probe.record(usePresence({ syncInterval: 0 }));
      return null;
    }
    await render(
      <RoomProvider client={alice} roomId="doc">
        <Watcher />
      </RoomProvider>,
    );
    await settle(alice.room('doc').isJoined, Boolean, 'alice in the room');
    function Joiner() {
      usePresence({ user: { name: 'Bob' }, initialData: { tool: 'pen' }, syncInterval: 0 });
      return null;
    }
    await render(
      <RoomProvider client={bob} roomId="doc">
        <Joiner />
      </RoomProvider>,
    );
    const room = alice.room('doc');
    await settle(room.members, () => dataOf(room, 'bob')?.tool === 'pen', 'alice sees bob');
    const withBob = probe.seen.flatMap((seen) => seen.others.filter((o) => o.user.id === 'bob'));
    expect(withBob.length).toBeGreaterThan(0);
    for (const other of withBob) {
      expect(other.user.name).toBe('Bob');
      expect(other.data).toEqual({ tool: 'pen' });
    }
  });

  it('useCursors: the others’ cursors and broadcast', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const probe = new Probe<UseCursorsResult>();
    function Overlay() {
      probe.record(useCursors());
      return null;
    }
    await render(
      <RoomProvider client={alice} room="canvas" user={{ name: 'Alice', color: '#f00' }}>
        <Overlay />
      </RoomProvider>,
    );
    const bobCursors = bob.room('canvas').cursors({ user: { name: 'Bob' } });
    await settle(alice.room('canvas').members, inRoom('bob'), 'alice sees bob');
    bobCursors.broadcast(10, 20);
    await settle(
      alice.lastMessage,
      (m) => m?.type === 'cursor:update' && (m.cursor as { x: number }).x === 10,
      'bob’s cursor',
    );
    expect(probe.last.cursors).toHaveLength(1);
    expect(probe.last.cursors[0]).toMatchObject({ x: 10, y: 20, user: { id: 'bob', name: 'Bob' } });

    await interact(() => probe.last.broadcast(30, 40));
    await settle(bobCursors.cursors, (c) => c[0]?.x === 30, 'bob sees alice’s cursor');
    expect(bobCursors.cursors.peek()[0]).toMatchObject({
      y: 40,
      user: { id: 'alice', color: '#f00' },
    });
  });

  it('useRoom in a provider: the room, its users, and broadcast', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const probe = new Probe<UseRoomResult>();
    function Header() {
      probe.record(useRoom());
      return null;
    }
    await render(
      <RoomProvider client={alice} roomId="project" metadata={{ topic: 'plans' }}>
        <Header />
      </RoomProvider>,
    );
    const received = signal<unknown[]>([]);
    bob.on('chat:message', (payload) => received.set((list) => [...list, payload]));
    const bobRoom = bob.room('project').membership();
    await interact(async () => expect(await bobRoom.join()).toBe(true));
    await settle(alice.room('project').members, inRoom('bob'), 'alice sees bob');
    const { room, users, isJoined, error } = probe.last;
    expect(isJoined).toBe(true);
    expect(error).toBeNull();
    expect(users.map((u) => u.id).sort()).toEqual(['alice', 'bob']);
    expect(room?.id).toBe('project');
    expect(room?.users).toHaveLength(2);
    expect(room?.metadata).toEqual({ topic: 'plans' });
    expect(room?.createdAt.getTime()).toBeGreaterThan(0);

    await interact(() => probe.last.broadcast('chat:message', { text: 'hi' }));
    await settle(received, (list) => list.length === 1, 'bob gets the message');
    expect(received.peek()[0]).toEqual({ text: 'hi' });
  });

  it('useRoom without a provider: join in an effect, leave on unmount', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const bobRoom = bob.room('solo').membership();
    await bobRoom.join();
    const probe = new Probe<UseRoomResult>();
    function Chat() {
      const room = useRoom({ client: alice, roomId: 'solo', user: { name: 'Alice' } });
      const { join, leave } = room;
      useEffect(() => {
        void join();
        return () => leave();
      }, [join, leave]);
      probe.record(room);
      return null;
    }
    const view = await render(<Chat />);
    await settle(bobRoom.users, (users) => users.some((u) => u.id === 'alice'), 'bob sees alice');
    await settle(
      alice.room('solo').users,
      (users) => users.some((u) => u.id === 'alice' && u.name === 'Alice') && users.length === 2,
      'alice’s declared name',
    );
    expect(probe.last.isJoined).toBe(true);
    expect(probe.last.users.find((u) => u.id === 'alice')?.name).toBe('Alice');

    await unmount(view);
    await settle(bobRoom.users, (users) => users.length === 1, 'alice left');
  });

  it('useRoom().leave(): not joined once it returns (the render in the same act shows it); join() works again', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const bobRoom = bob.room('exit').membership();
    await bobRoom.join();
    const probe = new Probe<UseRoomResult>();
    function Door() {
      probe.record(useRoom({ client: alice, roomId: 'exit' }));
      return null;
    }
    await render(<Door />);
    await interact(async () => expect(await probe.last.join()).toBe(true));
    await settle(bobRoom.users, (users) => users.length === 2, 'bob sees alice');
    expect(probe.last.isJoined).toBe(true);

    // A synchronous act: React renders what leave() changed, and no microtask runs before that.
    act(() => {
      probe.last.leave();
      expect(alice.room('exit').isJoined.peek()).toBe(false);
    });
    expect(probe.last.isJoined).toBe(false);
    expect(probe.last.room).toBeNull();
    expect(probe.last.users).toEqual([]);
    await settle(bobRoom.users, (users) => users.length === 1, 'alice left for bob');

    await interact(async () => expect(await probe.last.join()).toBe(true));
    expect(probe.last.isJoined).toBe(true);
    await settle(bobRoom.users, (users) => users.length === 2, 'alice back for bob');
  });

  it('useBroadcast: history, lastMessage, broadcast and clear', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    type Typing = { userId: string; isTyping: boolean };
    const probe = new Probe<UseBroadcastResult<Typing>>();
    function Indicator() {
      probe.record(useBroadcast<Typing>({ channel: 'typing' }));
      return null;
    }
    await render(
      <RoomProvider client={alice} roomId="chat">
        <Indicator />
      </RoomProvider>,
    );
    const bobChannel = bob.room('chat').channel<Typing>('typing');
    await settle(alice.room('chat').members, inRoom('bob'), 'alice sees bob');
    bobChannel.broadcast({ userId: 'bob', isTyping: true });
    await settle(alice.lastMessage, (m) => m?.type === 'broadcast', 'the broadcast');
    expect(probe.last.history).toHaveLength(1);
    expect(probe.last.lastMessage).toMatchObject({ userId: 'bob', isTyping: true, from: 'bob' });

    await interact(() => probe.last.broadcast({ userId: 'alice', isTyping: false }));
    expect(probe.last.history).toHaveLength(2);
    expect(probe.last.lastMessage).toMatchObject({ userId: 'alice', from: 'alice' });
    await settle(bobChannel.lastMessage, (m) => m?.userId === 'alice', 'bob gets it');

    await interact(() => probe.last.clear());
    expect(probe.last.history).toEqual([]);
    expect(probe.last.lastMessage).toBeNull();
  });

  it('useSharedState: state, get, version, set and merge', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    type Doc = { title: string; lastEditor: string };
    const initialState: Doc = { title: 'Untitled', lastEditor: '' };
    const probe = new Probe<UseSharedStateResult<Doc> & { title: string }>();
    function Title() {
      const shared = useSharedState({ initialState });
      probe.record({ ...shared, title: shared.get('title') });
      return null;
    }
    await render(
      <RoomProvider client={alice} roomId="doc">
        <Title />
      </RoomProvider>,
    );
    expect(probe.last.title).toBe('Untitled');
    const bobState = bob.room('doc').sharedState({ initialState });
    await settle(alice.room('doc').members, inRoom('bob'), 'alice sees bob');
    bobState.set('title', 'Plans');
    await settle(alice.room('doc').liveState, (s) => s.title?.value === 'Plans', 'the title');
    expect(probe.last.state).toEqual({ title: 'Plans', lastEditor: '' });
    expect(probe.last.title).toBe('Plans');
    const version = probe.last.version;
    expect(version).toBeGreaterThan(0);

    await interact(() => probe.last.merge({ title: 'Roadmap', lastEditor: 'alice' }));
    expect(probe.last.title).toBe('Roadmap');
    expect(probe.last.version).toBeGreaterThan(version);
    await settle(bobState.state, (s) => s.lastEditor === 'alice', 'bob sees the merge');
    expect(bobState.state.peek().title).toBe('Roadmap');

    await interact(() => probe.last.set('title', 'Final'));
    await settle(bobState.state, (s) => s.title === 'Final', 'bob sees the set');
  });

  it('useStorage: the room’s Yjs document, synced', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const probe = new Probe<UseStorageResult>();
    function Editor() {
      probe.record(useStorage());
      return null;
    }
    await render(
      <RoomProvider client={alice} roomId="notes">
        <Editor />
      </RoomProvider>,
    );
    const doc = probe.last.doc;
    // The room's storage signals are shared by every handle; this one only watches them.
    const watch = alice.room('notes').storage();
    await settle(watch.synced, (s) => s, 'alice synced');
    expect(probe.last.synced).toBe(true);
    expect(probe.last.doc).toBe(doc);

    const bobStorage = bob.room('notes').storage();
    await interact(() => bobStorage.whenSynced());
    bobStorage.doc.getText('t').insert(0, 'hello');
    const text = doc.getText('t');
    await interact(
      () =>
        new Promise<void>((resolve) => {
          const check = () => text.toString() === 'hello' && resolve();
          text.observe(check);
          check();
        }),
    );
    await interact(() => probe.last.doc.getText('t').insert(5, ' world'));
    const bobText = bobStorage.doc.getText('t');
    await interact(
      () =>
        new Promise<void>((resolve) => {
          const check = () => bobText.toString() === 'hello world' && resolve();
          bobText.observe(check);
          check();
        }),
    );
    await settle(watch.pendingUpdates, (n) => n === 0, 'acked');
    watch.dispose();
  });

  it('an explicit room inside a provider uses the provider’s client', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    const main = new Probe<UsePresenceResult>();
    const side = new Probe<UsePresenceResult>();
    function Panels() {
      main.record(usePresence());
      side.record(usePresence({ room: 'side' }));
      return null;
    }
    await render(
      <RoomProvider client={alice} roomId="main">
        <Panels />
      </RoomProvider>,
    );
    const bobSide = bob.room('side').presence();
    await settle(alice.room('side').members, inRoom('bob'), 'alice sees bob in side');
    await settle(bobSide.others, (o) => o.length === 1, 'bob sees alice in side');
    await settle(alice.room('main').isJoined, (joined) => joined, 'alice in main');
    expect(side.last.others.map((o) => o.user.id)).toEqual(['bob']);
    expect(main.last.others).toEqual([]);
    expect(main.last.isConnected).toBe(true);
  });

  it('useSignal and useClientStatus follow the client', async () => {
    const server = await startServer();
    const alice = connectClient(server, 'alice');
    const probe = new Probe<{ status: string; joined: boolean }>();
    function Status() {
      const status = useClientStatus();
      const joined = useSignal(alice.room('lobby').isJoined);
      probe.record({ status, joined });
      return null;
    }
    await render(
      <RoomProvider client={alice} roomId="lobby">
        <Status />
      </RoomProvider>,
    );
    await settle(alice.room('lobby').isJoined, (j) => j, 'joined');
    expect(probe.last).toEqual({ status: 'connected', joined: true });
    await interact(() => alice.disconnect());
    expect(probe.last).toEqual({ status: 'disconnected', joined: false });
  });
});
