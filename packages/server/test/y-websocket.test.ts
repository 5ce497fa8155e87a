/**
 * y-websocket compatibility, tested with the stock `y-websocket` provider (a client we did not
 * write) in Node: document sync both ways with Roomkit clients, provider-to-provider sync through
 * the server, reconnects, awareness bridged to presence and back, and the endpoint's edges (path,
 * auth, read-only, no JSON on the wire).
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import {
  InProcessCluster,
  openStore,
  type PresenceUser,
  type RoomServer,
  type ServerConfig,
  type Store,
} from '../src/index.js';
import {
  connect,
  findUser,
  join,
  nextPresence,
  nodesOf,
  startServer,
  type TestClient,
  upgradeStatus,
  waitUntil,
  wsUrl,
} from './helpers.js';
import { connectionsOf, contentOf, DocClient, serverDocs } from './storage-helpers.js';
import { sqliteFile } from './test-databases.js';

type ProviderOptions = NonNullable<ConstructorParameters<typeof WebsocketProvider>[3]>;
/** Node's `ws` in place of the browser WebSocket, as y-websocket documents for Node. */
const WebSocketPolyfill = WebSocket as unknown as NonNullable<ProviderOptions['WebSocketPolyfill']>;

const providers = new Set<WebsocketProvider>();
const rawSockets = new Set<WebSocket>();

afterEach(() => {
  for (const provider of providers) {
    provider.destroy();
    provider.doc.destroy();
  }
  providers.clear();
  for (const socket of rawSockets) socket.terminate();
  rawSockets.clear();
});

/** The y-websocket endpoint (of the cluster's next node in turn: peers spread like clients). */
function yjsUrl(server: RoomServer, path = '/yjs'): string {
  return wsUrl(server, path);
}

/** A stock provider for `room` as `userId` (BroadcastChannel off: sync must go through the server). */
interface ProvideOptions {
  doc?: Y.Doc;
  path?: string;
  params?: Record<string, string>;
  /** Another provider's awareness (its clock goes on), as when a provider reconnects. */
  awareness?: ProviderOptions['awareness'];
}

function provide(
  server: RoomServer,
  room: string,
  userId: string,
  options: ProvideOptions = {},
): WebsocketProvider {
  const provider = new WebsocketProvider(
    yjsUrl(server, options.path),
    room,
    options.doc ?? new Y.Doc(),
    {
      WebSocketPolyfill,
      params: options.params ?? { userId },
      disableBc: true,
      maxBackoffTime: 200,
      ...(options.awareness ? { awareness: options.awareness } : {}),
    },
  );
  providers.add(provider);
  return provider;
}

async function synced(provider: WebsocketProvider, what = 'provider synced'): Promise<void> {
  await waitUntil(() => provider.synced, 3000, what);
}

async function providerIn(
  server: RoomServer,
  room: string,
  userId: string,
  options: ProvideOptions = {},
): Promise<WebsocketProvider> {
  const provider = provide(server, room, userId, options);
  await synced(provider, `${userId} synced`);
  return provider;
}

/** Whether every node that has the room's document loaded holds `want`. */
function serverHas(server: RoomServer, room: string, want: Y.Doc): boolean {
  return serverDocs(server, room).every((doc) => same(doc, want));
}

/** Stops every node of the server's cluster (each flushes its documents). */
async function stopAll(server: RoomServer): Promise<void> {
  for (const node of nodesOf(server)) await node.stop();
}

function same(a: Y.Doc, b: Y.Doc): boolean {
  return JSON.stringify(contentOf(a)) === JSON.stringify(contentOf(b));
}

/** An awareness state as the provider holds it, read without trusting its shape. */
function field(state: unknown, ...path: string[]): unknown {
  let value = state;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function awarenessStates(provider: WebsocketProvider): unknown[] {
  return [...provider.awareness.getStates().values()];
}

function metadataAwareness(user: PresenceUser | undefined, ...path: string[]): unknown {
  return field(user?.metadata, 'awareness', ...path);
}

/** A y-websocket awareness message (type 1) with the given entries. */
function awarenessMessage(entries: Array<[clientId: number, clock: number, state: unknown]>) {
  const update = encoding.createEncoder();
  encoding.writeVarUint(update, entries.length);
  for (const [clientId, clock, state] of entries) {
    encoding.writeVarUint(update, clientId);
    encoding.writeVarUint(update, clock);
    encoding.writeVarString(update, JSON.stringify(state));
  }
  const message = encoding.createEncoder();
  encoding.writeVarUint(message, 1);
  encoding.writeVarUint8Array(message, encoding.toUint8Array(update));
  return encoding.toUint8Array(message);
}

interface RawPeer {
  socket: WebSocket;
  /** Every frame received, from the first (the greeting) on. */
  frames: Array<{ data: Buffer; isBinary: boolean }>;
}

/** Opens a raw socket on the y-websocket endpoint (closed after the test). */
async function rawYjsSocket(server: RoomServer, room: string, userId: string): Promise<RawPeer> {
  const socket = new WebSocket(`${yjsUrl(server)}/${room}?userId=${userId}`);
  rawSockets.add(socket);
  const frames: RawPeer['frames'] = [];
  socket.on('message', (data: Buffer, isBinary: boolean) => frames.push({ data, isBinary }));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { socket, frames };
}

/** A raw peer announcing one awareness state (a marker the providers can wait for). */
async function sendAwareness(
  server: RoomServer,
  room: string,
  clientId: number,
  state: unknown,
): Promise<void> {
  const { socket } = await rawYjsSocket(server, room, `raw-${clientId}`);
  socket.send(awarenessMessage([[clientId, 1, state]]));
}

describe('y-websocket: document sync with Roomkit clients', () => {
  it('edits flow both ways between a stock provider and Roomkit clients (binary and base64)', async () => {
    const server = await startServer();
    const alice = await DocClient.open(server, 'shared', 'alice', 'binary');
    const bob = await DocClient.open(server, 'shared', 'bob', 'base64');
    alice.doc.getText('text').insert(0, 'from roomkit');
    await alice.settled();

    // A provider joining later gets the whole document.
    const provider = await providerIn(server, 'shared', 'yuki');
    await waitUntil(() => provider.doc.getText('text').toString() === 'from roomkit');

    // Its edits reach both Roomkit encodings and the server's document.
    provider.doc.getMap('map').set('from', 'provider');
    provider.doc.getArray('array').push([1, { nested: true }]);
    await waitUntil(() => same(alice.doc, provider.doc) && same(bob.doc, provider.doc));
    await waitUntil(() => serverHas(server, 'shared', provider.doc), 3000, 'every node has it');

    // Roomkit edits after it joined reach it too.
    bob.doc.getText('text').insert(0, '> ');
    await bob.settled();
    await waitUntil(() => provider.doc.getText('text').toString() === '> from roomkit');
  });

  it("a provider's document content reaches the room when it connects (its sync step 2)", async () => {
    const server = await startServer();
    const alice = await DocClient.open(server, 'prefilled', 'alice');
    alice.doc.getText('text').insert(0, 'room ');
    await alice.settled();
    const doc = new Y.Doc();
    doc.getText('text').insert(0, 'offline');
    doc.getMap('map').set('k', 'v');
    const provider = await providerIn(server, 'prefilled', 'yuki', { doc });
    await waitUntil(() => same(alice.doc, provider.doc), 3000, 'both sides merged');
    expect(alice.text()).toContain('room ');
    expect(alice.text()).toContain('offline');
    expect(alice.doc.getMap('map').get('k')).toBe('v');
    await waitUntil(() => serverHas(server, 'prefilled', alice.doc), 3000, 'every node has it');
  });

  it('concurrent edits from a provider and a Roomkit client converge, keeping both', async () => {
    const server = await startServer();
    const alice = await DocClient.open(server, 'race', 'alice');
    const provider = await providerIn(server, 'race', 'yuki');
    alice.doc.getText('text').insert(0, 'base');
    await alice.settled();
    await waitUntil(() => provider.doc.getText('text').toString() === 'base');

    // Same moment, same places.
    for (let i = 0; i < 20; i++) {
      alice.doc.getText('text').insert(0, 'A');
      provider.doc.getText('text').insert(4, 'P');
      alice.doc.getArray('array').push([`a${i}`]);
      provider.doc.getArray('array').push([`p${i}`]);
      alice.doc.getMap('map').set(`k${i % 3}`, `alice${i}`);
      provider.doc.getMap('map').set(`k${i % 3}`, `yuki${i}`);
    }
    await alice.settled();
    await waitUntil(() => same(alice.doc, provider.doc), 3000, 'convergence');
    const text = alice.text();
    expect(text.match(/A/g)?.length).toBe(20);
    expect(text.match(/P/g)?.length).toBe(20);
    expect(text.replace(/[AP]/g, '')).toBe('base');
    expect(alice.doc.getArray('array').length).toBe(40);
    await waitUntil(() => serverHas(server, 'race', alice.doc), 3000, 'every node has it');
  });

  it('with a store: a provider first in the room waits for the document to load, and its edits persist', async () => {
    const file = sqliteFile('roomkit-yjs-');
    const open: Array<{ server: RoomServer; store: Store }> = [];
    try {
      const store = await openStore(file);
      const first = await startServer({ store });
      open.push({ server: first, store });
      const doc = new Y.Doc();
      doc.getText('text').insert(0, 'brought along');
      const provider = await providerIn(first, 'stored', 'yuki', { doc });
      provider.doc.getMap('map').set('typed', 'after sync');
      await waitUntil(() =>
        serverDocs(first, 'stored').every((d) => d.getMap('map').get('typed') === 'after sync'),
      );
      provider.destroy();
      // stop() flushes everything to the store.
      await stopAll(first);

      const reopened = await openStore(file);
      const second = await startServer({ store: reopened });
      open.push({ server: second, store: reopened });
      const again = await providerIn(second, 'stored', 'yuki');
      expect(contentOf(again.doc)).toEqual(contentOf(doc));
      expect(again.doc.getText('text').toString()).toBe('brought along');
    } finally {
      // Each server stops (and flushes) before its store closes.
      for (const { server, store } of open) {
        await stopAll(server);
        await store.close();
      }
    }
  });

  it('two providers sync with each other through the server', async () => {
    const server = await startServer();
    const one = await providerIn(server, 'pair', 'one');
    const two = await providerIn(server, 'pair', 'two');
    one.doc.getText('text').insert(0, 'hello');
    await waitUntil(() => two.doc.getText('text').toString() === 'hello');
    two.doc.getText('text').insert(5, ' world');
    two.doc.getMap('map').set('x', [1, 2]);
    await waitUntil(() => same(one.doc, two.doc) && one.doc.getMap('map').has('x'));
    expect(one.doc.getText('text').toString()).toBe('hello world');
    await waitUntil(() => serverHas(server, 'pair', one.doc), 3000, 'every node has it');
  });

  it('a provider the server dropped reconnects and catches up both ways', async () => {
    const server = await startServer();
    const alice = await DocClient.open(server, 'drop', 'alice');
    const provider = await providerIn(server, 'drop', 'yuki');
    alice.doc.getText('text').insert(0, 'before');
    await alice.settled();
    await waitUntil(() => provider.doc.getText('text').toString() === 'before');

    const disconnected = new Promise<void>((resolve) => {
      provider.on('status', ({ status }) => {
        if (status === 'disconnected') resolve();
      });
    });
    const peer = connectionsOf(server, 'drop').find((c) => c.session.wire === 'y-websocket');
    peer!.session.ws.terminate();
    await disconnected;

    // Both sides edit while it is away.
    alice.doc.getText('text').insert(6, ' +alice');
    await alice.settled();
    provider.doc.getText('text').insert(0, 'yuki+ ');
    provider.doc.getMap('map').set('offline', true);

    // y-websocket reconnects on its own and re-syncs (sync step 1 both ways).
    await waitUntil(() => provider.wsconnected, 5000, 'provider reconnected');
    await synced(provider, 'provider re-synced');
    await waitUntil(() => same(alice.doc, provider.doc), 3000, 'caught up both ways');
    expect(alice.text()).toBe('yuki+ before +alice');
    expect(alice.doc.getMap('map').get('offline')).toBe(true);
  });
});

describe('y-websocket: awareness and presence', () => {
  it("a provider's awareness state is its presence entry's metadata.awareness for Roomkit clients", async () => {
    const server = await startServer();
    const watcher = await join(server, 'aware', 'watcher');
    const provider = await providerIn(server, 'aware', 'yuki');
    // The provider is a member like any other.
    await nextPresence(watcher, (users) => findUser(users, 'yuki') !== undefined, 'aware');
    provider.awareness.setLocalStateField('user', { name: 'Yuki', color: '#ff8800' });
    const users = await nextPresence(
      watcher,
      (list) => metadataAwareness(findUser(list, 'yuki'), 'user', 'name') === 'Yuki',
      'aware',
    );
    expect(metadataAwareness(findUser(users, 'yuki'), 'user')).toEqual({
      name: 'Yuki',
      color: '#ff8800',
    });
    // A later change shows too.
    provider.awareness.setLocalStateField('cursor', { index: 3 });
    await nextPresence(
      watcher,
      (list) => field(metadataAwareness(findUser(list, 'yuki')), 'cursor', 'index') === 3,
      'aware',
    );
  });

  it('a Roomkit member appears in the provider awareness as {user: {name, color, id}} and disappears when it leaves', async () => {
    const server = await startServer();
    const provider = await providerIn(server, 'mirror', 'yuki');
    const carol = await join(server, 'mirror', 'carol', 'Carol');
    const carolState = () =>
      awarenessStates(provider).find((state) => field(state, 'user', 'id') === 'carol');
    await waitUntil(() => carolState() !== undefined, 3000, 'carol in awareness');
    expect(field(carolState(), 'user', 'name')).toBe('Carol');
    expect(field(carolState(), 'user', 'color')).toMatch(/^#[0-9a-f]{6}$/i);
    expect(field(carolState(), 'presence', 'onlineStatus')).toBe('online');

    await carol.close();
    await waitUntil(() => carolState() === undefined, 3000, 'carol gone from awareness');
  });

  it('a Roomkit presence update is mirrored into the provider awareness', async () => {
    const server = await startServer();
    const provider = await providerIn(server, 'mirror-update', 'yuki');
    const carol = await join(server, 'mirror-update', 'carol', 'Carol');
    carol.send({ type: 'presence:update', location: 'page-2', metadata: { mood: 'happy' } });
    await waitUntil(
      () =>
        awarenessStates(provider).some(
          (state) =>
            field(state, 'user', 'id') === 'carol' &&
            field(state, 'presence', 'location') === 'page-2' &&
            field(state, 'presence', 'metadata', 'mood') === 'happy',
        ),
      3000,
      "carol's presence in awareness",
    );
  });

  it('Roomkit members show again in the awareness of a provider that reconnected (mirrored clocks never go back)', async () => {
    const server = await startServer();
    const provider = await providerIn(server, 'mirror-again', 'yuki');
    const carol = await join(server, 'mirror-again', 'carol', 'Carol');
    const carolAt = (location: string) => () =>
      awarenessStates(provider).some(
        (state) =>
          field(state, 'user', 'id') === 'carol' &&
          field(state, 'presence', 'location') === location,
      );
    // Each presence change is a new awareness clock for carol's mirrored entry.
    for (const location of ['one', 'two', 'three', 'four']) {
      carol.send({ type: 'presence:update', location });
      await waitUntil(carolAt(location), 3000, `carol at ${location}`);
    }
    // The server drops the provider (its only y-websocket peer). The provider forgets the
    // others' states but remembers their clocks, and ignores a state with an older clock.
    const peer = connectionsOf(server, 'mirror-again').find(
      (c) => c.session.wire === 'y-websocket',
    );
    peer!.session.ws.terminate();
    await waitUntil(() => !provider.wsconnected, 3000, 'provider disconnected');
    expect(carolAt('four')()).toBe(false);
    await waitUntil(() => provider.wsconnected && provider.synced, 5000, 'provider back');
    await waitUntil(carolAt('four'), 3000, 'carol in the awareness again');
  });

  it('Roomkit members show again in the awareness of a reconnected provider while another provider stayed', async () => {
    const server = await startServer();
    const stays = await providerIn(server, 'mirror-stay', 'stays');
    const provider = await providerIn(server, 'mirror-stay', 'yuki');
    await join(server, 'mirror-stay', 'carol', 'Carol');
    const hasCarol = () =>
      awarenessStates(provider).some((state) => field(state, 'user', 'id') === 'carol');
    await waitUntil(hasCarol, 3000, 'carol at the provider');
    const peer = connectionsOf(server, 'mirror-stay').find((c) => c.user.userId === 'yuki');
    peer!.session.ws.terminate();
    await waitUntil(() => !provider.wsconnected, 3000, 'provider disconnected');
    expect(hasCarol()).toBe(false);
    await waitUntil(() => provider.wsconnected && provider.synced, 5000, 'provider back');
    // Nothing about carol changed meanwhile: what the provider gets on arrival must still count.
    await waitUntil(hasCarol, 3000, 'carol in the awareness again');
    expect(stays.wsconnected).toBe(true);
  });

  it('a provider stays online in presence past the heartbeat timeout: its pongs count', async () => {
    const server = await startServer({ heartbeat: { checkIntervalMs: 50, timeoutMs: 200 } });
    const watcher = await join(server, 'alive', 'watcher');
    await providerIn(server, 'alive', 'yuki');
    await nextPresence(watcher, (users) => findUser(users, 'yuki') !== undefined, 'alive');
    const peer = connectionsOf(server, 'alive').find((c) => c.user.userId === 'yuki')!;
    const joinedAt = Date.now();
    // A provider never sends `heartbeat`; it answers the server's pings, checked every 50 ms.
    await waitUntil(
      () => peer.session.lastSeen > joinedAt + 400,
      3000,
      'a pong from the provider well past the timeout',
    );
    expect(peer.user.onlineStatus).toBe('online');
  });

  it('a provider that disconnects leaves the presence list of Roomkit clients', async () => {
    const server = await startServer();
    const watcher = await join(server, 'leaving', 'watcher');
    const provider = await providerIn(server, 'leaving', 'yuki');
    await nextPresence(watcher, (users) => findUser(users, 'yuki') !== undefined, 'leaving');
    provider.disconnect();
    await nextPresence(watcher, (users) => findUser(users, 'yuki') === undefined, 'leaving');
  });

  it('awareness is forwarded between providers, and a departed provider is removed from the others', async () => {
    const server = await startServer();
    const one = await providerIn(server, 'aware-pair', 'one');
    const two = await providerIn(server, 'aware-pair', 'two');
    one.awareness.setLocalStateField('user', { name: 'One' });
    await waitUntil(
      () => field(two.awareness.getStates().get(one.doc.clientID), 'user', 'name') === 'One',
      3000,
      "one's state at two",
    );
    // A provider arriving later gets every current state at once.
    const three = await providerIn(server, 'aware-pair', 'three');
    await waitUntil(
      () => field(three.awareness.getStates().get(one.doc.clientID), 'user', 'name') === 'One',
      3000,
      "one's state at three",
    );
    one.disconnect();
    await waitUntil(
      () =>
        !two.awareness.getStates().has(one.doc.clientID) &&
        !three.awareness.getStates().has(one.doc.clientID),
      3000,
      "one's state removed at two and three",
    );
  });

  it('a Roomkit member stays in the awareness of one provider when another provider leaves', async () => {
    const server = await startServer();
    const one = await providerIn(server, 'echo', 'one');
    await join(server, 'echo', 'carol', 'Carol');
    const hasCarol = (provider: WebsocketProvider) =>
      awarenessStates(provider).some((state) => field(state, 'user', 'id') === 'carol');
    await waitUntil(() => hasCarol(one), 3000, 'carol at one');
    one.awareness.setLocalStateField('user', { name: 'One' });
    const two = await providerIn(server, 'echo', 'two');
    await waitUntil(
      () => hasCarol(two) && two.awareness.getStates().has(one.doc.clientID),
      3000,
      'carol and one at two',
    );
    // Providers send back every awareness change they apply, the mirrored members' too: those
    // echoes must not make carol's entry "one's", to be removed with one's own when it goes.
    one.disconnect();
    await waitUntil(
      () => !connectionsOf(server, 'echo').some((c) => c.user.userId === 'one'),
      3000,
      'one left the room',
    );
    // Whatever the server sent two about one's leaving is on the wire before this.
    await sendAwareness(server, 'echo', 424242, { marker: true });
    await waitUntil(() => two.awareness.getStates().has(424242), 3000, 'the marker at two');
    expect(hasCarol(two)).toBe(true);
  });

  it('a provider the server dropped is seen again by the other providers from its next awareness change', async () => {
    const server = await startServer();
    const one = await providerIn(server, 'back', 'one');
    const two = await providerIn(server, 'back', 'two');
    one.awareness.setLocalStateField('user', { name: 'One' });
    const oneAtTwo = () => field(two.awareness.getStates().get(one.doc.clientID), 'user', 'name');
    await waitUntil(() => oneAtTwo() === 'One', 3000, 'one at two');
    const peer = connectionsOf(server, 'back').find((c) => c.user.userId === 'one');
    peer!.session.ws.terminate();
    await waitUntil(() => oneAtTwo() === undefined, 3000, 'one removed at two');
    await waitUntil(() => one.wsconnected && one.synced, 5000, 'one back');
    // Its clock went on from where it was: its next change must count as newer than the
    // removal the server sent in its name (the reference server sends it at the same clock).
    one.awareness.setLocalStateField('user', { name: 'One again' });
    await waitUntil(() => oneAtTwo() === 'One again', 3000, 'one seen again at two');
  });

  it("a peer cannot change or remove another client's awareness state (a provider's or a mirrored member's)", async () => {
    const server = await startServer();
    const victim = await providerIn(server, 'spoof', 'victim');
    victim.awareness.setLocalStateField('user', { name: 'Victim' });
    const watcher = await providerIn(server, 'spoof', 'watcher');
    await join(server, 'spoof', 'carol', 'Carol');
    const stateOf = (test: (state: unknown) => boolean) =>
      [...watcher.awareness.getStates()].find(([, state]) => test(state));
    await waitUntil(
      () =>
        stateOf((s) => field(s, 'user', 'id') === 'carol') !== undefined &&
        field(watcher.awareness.getStates().get(victim.doc.clientID), 'user', 'name') === 'Victim',
      3000,
      'carol and victim in the awareness',
    );
    const carolId = stateOf((s) => field(s, 'user', 'id') === 'carol')![0];

    const { socket: mallory } = await rawYjsSocket(server, 'spoof', 'mallory');
    mallory.send(awarenessMessage([[carolId, 1_000_000, { user: { name: 'Mallory' } }]]));
    mallory.send(awarenessMessage([[victim.doc.clientID, 1_000_000, null]]));
    // Then its own state, which does go through: once the watcher has it, the others were handled.
    mallory.send(awarenessMessage([[424242, 1, { user: { name: 'Mallory' } }]]));
    await waitUntil(
      () => field(watcher.awareness.getStates().get(424242), 'user', 'name') === 'Mallory',
      3000,
      "mallory's own state",
    );
    expect(field(watcher.awareness.getStates().get(carolId), 'user', 'name')).toBe('Carol');
    expect(field(watcher.awareness.getStates().get(victim.doc.clientID), 'user', 'name')).toBe(
      'Victim',
    );
  });
});

describe('y-websocket: across two nodes of a cluster', () => {
  /** Two nodes of one cluster (whatever ROOMKIT_TEST_NODES says). */
  async function twoNodes(): Promise<[RoomServer, RoomServer]> {
    const cluster = new InProcessCluster();
    const a = await startServer({ bus: cluster.bus('a') });
    const b = await startServer({ bus: cluster.bus('b') });
    return [a, b];
  }

  it("a provider arriving on one node gets the other node's states at once, and their changes and removals after", async () => {
    const [a, b] = await twoNodes();
    const one = await providerIn(a, 'spread', 'one');
    one.awareness.setLocalStateField('user', { name: 'One' });
    await join(a, 'spread', 'carol', 'Carol');
    const two = await providerIn(b, 'spread', 'two');
    const oneAtTwo = () => field(two.awareness.getStates().get(one.doc.clientID), 'user', 'name');
    const carolAtTwo = () =>
      awarenessStates(two).find((state) => field(state, 'user', 'id') === 'carol');
    await waitUntil(() => oneAtTwo() === 'One' && carolAtTwo() !== undefined, 3000, 'both at two');
    // And back: two's state at one, then changes both ways.
    two.awareness.setLocalStateField('user', { name: 'Two' });
    await waitUntil(
      () => field(one.awareness.getStates().get(two.doc.clientID), 'user', 'name') === 'Two',
      3000,
      'two at one',
    );
    one.awareness.setLocalStateField('user', { name: 'One again' });
    await waitUntil(() => oneAtTwo() === 'One again', 3000, "one's change at two");
    // A Roomkit member joining on the node of two shows at one.
    const dave = await join(b, 'spread', 'dave', 'Dave');
    await waitUntil(
      () => awarenessStates(one).some((state) => field(state, 'user', 'id') === 'dave'),
      3000,
      'dave at one',
    );
    one.disconnect();
    await dave.close();
    await waitUntil(() => oneAtTwo() === undefined, 3000, 'one removed at two');
    expect(carolAtTwo()).toBeDefined();
  });

  it("a provider reconnecting to the other node is taken there, with its state's clock as it was", async () => {
    const [a, b] = await twoNodes();
    const watcher = await join(b, 'moving', 'watcher');
    const doc = new Y.Doc();
    const first = await providerIn(a, 'moving', 'yuki', { doc });
    first.awareness.setLocalStateField('user', { name: 'Yuki' });
    const named = (users: PresenceUser[]) =>
      metadataAwareness(findUser(users, 'yuki'), 'user', 'name') === 'Yuki';
    await nextPresence(watcher, named, 'moving');
    // Node a removes its state at the clock it had; the provider comes back through node b with
    // the same awareness, so the same clock: node b must not take it for an echo of a's client.
    first.disconnect();
    await nextPresence(watcher, (users) => findUser(users, 'yuki') === undefined, 'moving');
    await providerIn(b, 'moving', 'yuki', { doc, awareness: first.awareness });
    await nextPresence(watcher, named, 'moving');
  });

  it('a provider on one node and Roomkit clients on the other edit one document', async () => {
    const [a, b] = await twoNodes();
    const alice = await DocClient.open(b, 'doc', 'alice', 'binary');
    const bob = await DocClient.open(b, 'doc', 'bob', 'base64');
    alice.doc.getText('text').insert(0, 'from b');
    await alice.settled();
    const provider = await providerIn(a, 'doc', 'yuki');
    await waitUntil(() => same(provider.doc, alice.doc), 3000, 'the provider has the document');
    provider.doc.getMap('map').set('from', 'a');
    await waitUntil(() => same(bob.doc, provider.doc), 3000, "bob has the provider's edit");
    bob.doc.getText('text').insert(0, '> ');
    await waitUntil(() => same(alice.doc, provider.doc), 3000, "the provider has bob's edit");
    for (const server of [a, b]) expect(serverHas(server, 'doc', provider.doc)).toBe(true);
  });
});

describe('y-websocket: the endpoint', () => {
  /** The y-websocket message type of a frame (0 sync, 1 awareness, 2 auth, 3 query). */
  function messageType(data: Buffer): number {
    return decoding.readVarUint(decoding.createDecoder(new Uint8Array(data)));
  }

  function queryAwareness(): Uint8Array {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, 3);
    return encoding.toUint8Array(encoder);
  }

  it('never sends a JSON text frame to a y-websocket connection, whatever happens in the room', async () => {
    const server = await startServer();
    const { socket, frames } = await rawYjsSocket(server, 'quiet', 'raw');
    const provider = await providerIn(server, 'quiet', 'yuki');
    const errors: unknown[] = [];
    provider.on('connection-error', (event) => errors.push(event));

    // JSON traffic in the room: joins, presence, app messages, cursors, live state, base64 storage.
    const member = await join(server, 'quiet', 'member');
    const writer = await DocClient.open(server, 'quiet', 'writer', 'base64');
    member.send({ type: 'presence:update', location: 'here' });
    member.send({ type: 'chat', text: 'hello' });
    member.send({ type: 'cursor:update', x: 1, y: 2 });
    member.send({ type: 'state:update', key: 'k', value: 1 });
    writer.doc.getText('text').insert(0, 'json edit');
    await writer.settled();
    await waitUntil(() => provider.doc.getText('text').toString() === 'json edit');
    // What a Roomkit client would get an `error` for: garbage, JSON, a Roomkit request.
    socket.send('not json');
    socket.send(JSON.stringify({ type: 'room:join', room: 'other', ref: 1 }));
    socket.send(Buffer.from([0xff, 0xff, 0xff]));
    // Frames are handled in order: the answer to this query comes after any reply to those.
    const before = frames.length;
    socket.send(queryAwareness());
    await waitUntil(
      () => frames.slice(before).some((f) => f.isBinary && messageType(f.data) === 1),
      3000,
      'awareness answer to the query',
    );
    await member.close();
    await waitUntil(() =>
      frames.some((f) => f.isBinary && messageType(f.data) === 0 && f.data.length > 20),
    );

    expect(frames.length).toBeGreaterThan(0);
    expect(frames.filter((f) => !f.isBinary)).toEqual([]);
    for (const frame of frames) expect([0, 1, 3]).toContain(messageType(frame.data));
    expect(errors).toEqual([]);
    expect(provider.wsconnected).toBe(true);
  });

  it('an invalid room id in the path is refused with HTTP 400', async () => {
    const server = await startServer();
    for (const path of ['/yjs/-starts-with-dash', '/yjs/has%20space', `/yjs/${'x'.repeat(129)}`]) {
      expect((await upgradeStatus(`${yjsUrl(server, path)}`)).status, path).toBe(400);
    }
    expect((await upgradeStatus(`${yjsUrl(server, '/yjs/fine-room')}?userId=u`)).status).toBe(101);
  });

  it('yjsPath: false turns the endpoint off (404); a custom yjsPath works', async () => {
    const off = await startServer({ yjsPath: false });
    expect((await upgradeStatus(yjsUrl(off, '/yjs/room'))).status).toBe(404);
    const custom = await startServer({ yjsPath: '/collab' });
    expect((await upgradeStatus(yjsUrl(custom, '/yjs/room'))).status).toBe(404);
    const alice = await DocClient.open(custom, 'room', 'alice');
    const provider = await providerIn(custom, 'room', 'yuki', { path: '/collab' });
    provider.doc.getText('text').insert(0, 'custom path');
    await waitUntil(() => alice.text() === 'custom path');
  });

  it('a peer announcing many awareness clients or oversized states gets only a few small ones kept', async () => {
    const server = await startServer();
    const { socket } = await rawYjsSocket(server, 'crowd', 'crowder');
    const big = { user: { name: 'x'.repeat(10_000) } };
    socket.send(awarenessMessage([[1, 1, big]]));
    for (let batch = 0; batch < 4; batch++) {
      socket.send(
        awarenessMessage(
          Array.from({ length: 64 }, (_, i): [number, number, unknown] => [
            1000 + batch * 64 + i,
            1,
            { user: { name: `n${i}` } },
          ]),
        ),
      );
    }
    const provider = await providerIn(server, 'crowd', 'viewer');
    const crowd = () =>
      [...provider.awareness.getStates().keys()].filter((id) => id !== provider.doc.clientID);
    await waitUntil(() => crowd().length > 0, 3000, 'the crowd arrives');
    expect(crowd().length).toBeLessThanOrEqual(8);
    expect(provider.awareness.getStates().has(1)).toBe(false);
  });

  it('a peer piling up frames while the document loads is closed with 4008, bounded in bytes', async () => {
    let release = () => {};
    const gate = new Promise<null>((resolve) => {
      release = () => resolve(null);
    });
    const server = await startServer({
      storage: { maxUpdateBytes: 64 * 1024 },
      initialStorage: () => gate,
    });
    const { socket } = await rawYjsSocket(server, 'slow', 'piler');
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    // 40 frames of 60 kB (2.4 MB) while the load waits: over 1 MiB + 2 × 64 KiB.
    const junk = new Uint8Array(60_000);
    junk[0] = 1; // an awareness message: held, not applied
    for (let i = 0; i < 40; i++) socket.send(junk);
    expect(await closed).toBe(4008);
    release();
  });

  it('a peer whose room the application removes is closed with 4004, so its provider reconnects', async () => {
    const server = await startServer();
    const { socket } = await rawYjsSocket(server, 'doomed', 'peer');
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    await waitUntil(() => server.getRoomManager().get('doomed') !== undefined, 3000, 'joined');
    server.getRoomManager().remove('doomed');
    expect(await closed).toBe(4004);
  });

  it('storage: false turns the endpoint off too (404)', async () => {
    const server = await startServer({ storage: false });
    expect((await upgradeStatus(yjsUrl(server, '/yjs/room'))).status).toBe(404);
  });

  describe('auth', () => {
    const auth: ServerConfig['auth'] = {
      authenticate: (req) => {
        const token = new URL(req.url ?? '/', 'http://x').searchParams.get('token');
        if (token === null || !token.startsWith('ok-')) return null;
        const userId = token.slice(3);
        return { userId, displayName: userId, readOnly: userId.startsWith('viewer') };
      },
    };

    /** A Roomkit client authenticated by token, joined to `room`. */
    async function tokenJoin(server: RoomServer, room: string, token: string): Promise<TestClient> {
      const client = await connect(server, `/rooms/${room}`, `token=${token}`);
      const mark = client.mark();
      await client.next('state:init');
      client.rewind(mark);
      return client;
    }

    it('applies to /yjs upgrades: 401 without credentials, a member with them', async () => {
      const server = await startServer({ auth });
      expect((await upgradeStatus(yjsUrl(server, '/yjs/secure'))).status).toBe(401);
      expect((await upgradeStatus(`${yjsUrl(server, '/yjs/secure')}?userId=yuki`)).status).toBe(
        401,
      );
      expect((await upgradeStatus(`${yjsUrl(server, '/yjs/secure')}?token=bad`)).status).toBe(401);
      const watcher = await tokenJoin(server, 'secure', 'ok-watcher');
      const provider = await providerIn(server, 'secure', 'ignored', {
        params: { token: 'ok-yuki' },
      });
      // The identity is the authenticated one.
      await nextPresence(watcher, (users) => findUser(users, 'yuki') !== undefined, 'secure');
      provider.doc.getText('text').insert(0, 'authorized');
      await waitUntil(() =>
        serverDocs(server, 'secure').every((d) => d.getText('text').toString() === 'authorized'),
      );
    });

    it("keeps the metadata auth vouched for next to the provider's awareness", async () => {
      const server = await startServer({
        auth: {
          authenticate: (req) => {
            const token = new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? 'anon';
            return { userId: token, displayName: token, metadata: { role: 'viewer' } };
          },
        },
      });
      const watcher = await tokenJoin(server, 'meta', 'watcher');
      const provider = await providerIn(server, 'meta', 'ignored', { params: { token: 'yuki' } });
      provider.awareness.setLocalStateField('user', { name: 'Yuki' });
      const users = await nextPresence(
        watcher,
        (list) => metadataAwareness(findUser(list, 'yuki'), 'user', 'name') === 'Yuki',
        'meta',
      );
      expect(findUser(users, 'yuki')?.metadata?.role).toBe('viewer');
    });

    it("a read-only user's provider gets the document and its updates, but its edits are not applied", async () => {
      const server = await startServer({ auth });
      const editorClient = await tokenJoin(server, 'ro', 'ok-editor');
      const editor = new DocClient(editorClient, 'ro');
      await editor.sync();
      editor.doc.getText('text').insert(0, 'visible');
      await editor.settled();

      const viewer = await providerIn(server, 'ro', 'ignored', { params: { token: 'ok-viewer' } });
      await waitUntil(() => viewer.doc.getText('text').toString() === 'visible');
      viewer.doc.getText('text').insert(0, 'nope ');
      viewer.doc.getMap('map').set('evil', true);
      // A connection's frames are handled in order: once the awareness change it sent after
      // the edits shows in presence, the edits were handled (and refused).
      viewer.awareness.setLocalStateField('marker', 'after-edits');
      await nextPresence(
        editorClient,
        (users) => metadataAwareness(findUser(users, 'viewer'), 'marker') === 'after-edits',
        'ro',
      );
      for (const doc of serverDocs(server, 'ro')) {
        expect(doc.getText('text').toString()).toBe('visible');
        expect(doc.getMap('map').has('evil')).toBe(false);
      }
      expect(editor.text()).toBe('visible');
      expect(editor.updates).toHaveLength(0);
      // Roomkit connections still work, and the viewer still gets their updates.
      expect(editor.errors).toEqual([]);
      editor.doc.getText('text').insert(7, '!');
      await editor.settled();
      await waitUntil(() => viewer.doc.getText('text').toString() === 'nope visible!');
      await waitUntil(() =>
        serverDocs(server, 'ro').every((d) => d.getText('text').toString() === 'visible!'),
      );
    });
  });
});
