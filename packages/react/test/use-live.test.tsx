/**
 * `useLive` against a real server: the published chat example's frontend re-renders from the
 * server's state, actions are stable, StrictMode mounts once, unmount unmounts, and a changed
 * `room` re-mounts.
 */
import { Live, type ReadonlySignal, type WebSocketClient } from '@roomkit/client';
import { useLayoutEffect, useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { LiveRoomChat } from '../../../examples/live-chat/LiveRoomChat.js';
import { type ChatState, defaultState } from '../../../examples/live-chat/state.js';
import { LiveComponent, type LiveComponentClass } from '../../server/src/index.js';
import { RoomProvider, type UseLiveResult, useLive } from '../src/index.js';
import { connectClient, interact, Probe, render, settle, startServer, unmount } from './helpers.js';

const ChatComponent = LiveRoomChat as unknown as LiveComponentClass;

const counts = { mounted: 0, unmounted: 0 };

class Tally extends LiveComponent<{ total: number }> {
  static defaultState = { total: 0 };

  override onMount() {
    counts.mounted += 1;
  }

  override onUnmount() {
    counts.unmounted += 1;
  }

  async add(payload: { n: number }) {
    this.setState({ total: this.state.total + payload.n });
    return this.state.total;
  }
}

async function liveServer() {
  return startServer({ components: { LiveRoomChat: ChatComponent, Tally } });
}

/** The published RoomChatDemo example, with `useLive` for `Live.use` and plain elements to inspect. */
function RoomChatDemo({
  client,
  username,
  probe,
}: {
  client: WebSocketClient;
  username: string;
  probe: Probe<UseLiveResult<typeof LiveRoomChat>>;
}) {
  const [text, setText] = useState('');
  const chat = useLive(LiveRoomChat, { client, initialState: { ...defaultState, username } });
  probe.record(chat);
  const activeRoom = chat.$state.activeRoom;
  const messages = activeRoom ? chat.$state.messages[activeRoom] || [] : [];
  const typingUsers = activeRoom ? chat.$state.typingUsers[activeRoom] || [] : [];
  return (
    <div>
      {['geral', 'tech', 'random'].map((roomId) => (
        <button
          type="button"
          key={roomId}
          onClick={() => chat.joinRoom({ roomId, roomName: roomId })}
        >
          {roomId} {chat.$rooms.includes(roomId) && '(joined)'}
        </button>
      ))}
      <ul>
        {messages.map((msg) => (
          <li key={msg.id}>
            {msg.user}: {msg.text}
          </li>
        ))}
      </ul>
      {typingUsers.length > 0 && <p>{typingUsers.join(', ')} typing...</p>}
      <input
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          chat.startTyping();
        }}
      />
    </div>
  );
}

/** The chat state signal behind what `probe` rendered. */
function state(probe: Probe<UseLiveResult<typeof LiveRoomChat>>) {
  return probe.last.handle!.state as ReadonlySignal<ChatState>;
}

describe('useLive', () => {
  it("renders the example chat from the server's state; another client's messages re-render it", async () => {
    const server = await liveServer();
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob').live.use(LiveRoomChat, {
      initialState: { username: 'bob' },
    });
    const probe = new Probe<UseLiveResult<typeof LiveRoomChat>>();
    const view = await render(<RoomChatDemo client={alice} username="alice" probe={probe} />);
    // Before the mount: defaultState and initialState; then the server's state.
    expect(probe.seen[0]!.$state).toEqual({ ...defaultState, username: 'alice' });
    expect(probe.seen[0]!.mounted).toBe(false);
    await settle(probe.last.handle!.mounted, Boolean, 'mounted');
    expect(probe.last.mounted).toBe(true);
    expect(probe.last.$state).toMatchObject({ username: 'alice', activeRoom: null });

    const geral = () => view.root.findAllByType('button')[0]!;
    // The click's action resolves after the state it set has arrived.
    await interact(() => geral().props.onClick());
    expect(probe.last.$state.activeRoom).toBe('geral');
    expect(probe.last.$rooms).toEqual(['geral']);
    expect(geral().children.join('')).toBe('geral (joined)');

    await bob.joinRoom({ roomId: 'geral' });
    await bob.startTyping();
    await settle(state(probe), (s) => s.typingUsers.geral?.[0] === 'bob', 'bob typing');
    expect(view.root.findByType('p').children.join('')).toBe('bob typing...');

    await bob.sendMessage({ text: 'olá' });
    await settle(state(probe), (s) => s.messages.geral?.length === 1, 'bob message');
    expect(view.root.findAllByType('li').map((li) => li.children.join(''))).toEqual(['bob: olá']);
    expect(view.root.findAllByType('p')).toHaveLength(0);

    // Typing in the input calls the action; bob's component hears it.
    await interact(() => view.root.findByType('input').props.onChange({ target: { value: 'o' } }));
    await settle(bob.state, (s) => s.typingUsers.geral?.includes('alice') === true, 'alice types');
  });

  it('actions are stable; the result changes only with the values', async () => {
    const server = await liveServer();
    const client = connectClient(server, 'alice');
    const probe = new Probe<UseLiveResult<typeof Tally>>();
    function Counter() {
      probe.record(useLive(Tally, { client }));
      return null;
    }
    await render(<Counter />);
    const first = probe.last;
    expect(first.$state).toEqual({ total: 0 });
    let result: number | undefined;
    await interact(async () => {
      result = await first.add({ n: 2 });
    });
    expect(result).toBe(2);
    expect(probe.last.$state).toEqual({ total: 2 });
    expect(probe.last).not.toBe(first);
    expect(probe.last.add).toBe(first.add);
    expect(probe.last.call).toBe(first.call);
    await interact(async () => {
      result = await probe.last.call('add', { n: 1 });
    });
    expect(result).toBe(3);
  });

  it('StrictMode mounts once on the server; unmount unmounts; later calls reject', async () => {
    const server = await liveServer();
    const client = connectClient(server, 'alice');
    await settle(client.status, (s) => s === 'connected', 'connected');
    const before = { ...counts };
    const probe = new Probe<UseLiveResult<typeof Tally>>();
    function Counter() {
      probe.record(useLive(Tally, { client, initialState: { total: 10 } }));
      return null;
    }
    const view = await render(<Counter />, true);
    await settle(probe.last.handle!.mounted, Boolean, 'mounted');
    await interact(() => probe.last.add({ n: 1 }));
    expect(probe.last.$state.total).toBe(11);
    expect(counts.mounted).toBe(before.mounted + 1);
    expect(counts.unmounted).toBe(before.unmounted);

    const add = probe.last.add;
    await unmount(view);
    await vi.waitFor(() => expect(counts.unmounted).toBe(before.unmounted + 1));
    await expect(add({ n: 1 })).rejects.toMatchObject({ code: 'disposed' });
  });

  it("a child's layout effect may call an action before the handle exists", async () => {
    const server = await liveServer();
    const client = connectClient(server, 'alice');
    const probe = new Probe<UseLiveResult<typeof Tally>>();
    function Child({ add }: { add: (payload: { n: number }) => Promise<number> }) {
      useLayoutEffect(() => {
        void add({ n: 5 });
      }, [add]);
      return null;
    }
    function Parent() {
      const tally = useLive(Tally, { client });
      probe.record(tally);
      return <Child add={tally.add} />;
    }
    await render(<Parent />);
    await settle(probe.last.handle!.state, (s) => s.total === 5, 'the queued call');
    expect(probe.last.$state.total).toBe(5);
  });

  it('a new room re-mounts; the client comes from the provider or Live.client', async () => {
    const server = await liveServer();
    const client = connectClient(server, 'alice');
    const probe = new Probe<UseLiveResult<typeof Tally>>();
    function Counter({ room }: { room: string }) {
      probe.record(useLive(Tally, { room }));
      return null;
    }
    const view = await render(
      <RoomProvider client={client} roomId="page">
        <Counter room="a" />
      </RoomProvider>,
    );
    await settle(probe.last.handle!.rooms, (rooms) => rooms.includes('a'), 'in a');
    const firstId = probe.last.componentId;
    expect(probe.last.$roomState('a')).toEqual({});
    await interact(() =>
      view.update(
        <RoomProvider client={client} roomId="page">
          <Counter room="b" />
        </RoomProvider>,
      ),
    );
    await settle(probe.last.handle!.rooms, (rooms) => rooms.includes('b'), 'in b');
    expect(probe.last.componentId).not.toBe(firstId);
    expect(server.liveRooms.getStats().roomDetails.a).toBeUndefined();

    // Without a provider or a client: Live.client.
    Live.client = client as never;
    try {
      const other = new Probe<UseLiveResult<typeof Tally>>();
      function Plain() {
        other.record(useLive<typeof Tally>('Tally'));
        return null;
      }
      await render(<Plain />);
      await settle(other.last.handle!.mounted, Boolean, 'mounted through Live.client');
      expect(other.last.mounted).toBe(true);
    } finally {
      Live.client = null;
    }
  });

  it('a component the server does not know: error, not mounted', async () => {
    const server = await liveServer();
    const client = connectClient(server, 'alice');
    const probe = new Probe<UseLiveResult>();
    function Ghost() {
      probe.record(useLive('Ghost', { client }));
      return null;
    }
    await render(<Ghost />);
    await settle(probe.last.handle!.error, (error) => error !== null, 'the error');
    expect(probe.last.error?.code).toBe('unknown_component');
    expect(probe.last.mounted).toBe(false);
  });
});
