/**
 * The browser path on React's real scheduler (no `act`, which flushes everything at once): with
 * `window` defined the bindings create features in layout effects. Checks that a StrictMode mount
 * on a connected client joins once, with the provider's settings, and leaves on unmount.
 */
import { signal } from '@roomkit/client';
import { create } from 'react-test-renderer';
import { describe, expect, it, vi } from 'vitest';
import type { UsePresenceResult, UseRoomResult } from '../src/index.js';
import { connectClient, Probe, type RendererOptions, startServer, until } from './helpers.js';

vi.stubGlobal('window', globalThis);
globalThis.IS_REACT_ACT_ENVIRONMENT = false;
const { RoomProvider, useCursors, usePresence, useRoom, useSharedState, useStorage } = await import(
  '../src/index.js'
);

describe('layout effects (browser path, real scheduler)', () => {
  it('StrictMode with a password: children hold first, one join, settings applied', async () => {
    const log = signal<string[]>([]);
    const server = await startServer({
      onJoin: (room, user) => log.set((list) => [...list, `+${user.userId}@${room}`]),
      onLeave: (room, user) => log.set((list) => [...list, `-${user.userId}@${room}`]),
    });
    const aliceLog = () => log.peek().filter((entry) => entry.includes('alice'));
    const alice = connectClient(server, 'alice');
    const bob = connectClient(server, 'bob');
    // Connected first: a join then goes out on the microtask after the first hold, not on welcome.
    await until(alice.status, (s) => s === 'connected', 'connected', 5000);
    const probe = new Probe<{ presence: UsePresenceResult; room: UseRoomResult }>();
    function Panel() {
      const presence = usePresence({ initialData: { step: 0 }, syncInterval: 0 });
      useCursors();
      useStorage();
      useSharedState({ initialState: { title: '' } });
      probe.record({ presence, room: useRoom() });
      return null;
    }
    const options: RendererOptions = { createNodeMock: () => null, unstable_strictMode: true };
    const view = create(
      <RoomProvider client={alice} roomId="vault" password="secret" metadata={{ kind: 'vault' }}>
        <Panel />
      </RoomProvider>,
      options,
    );
    try {
      await probe.until((v) => v.room.isJoined, 'alice joined');
      await probe.until((v) => v.room.room?.metadata?.kind === 'vault', 'the room’s metadata');

      const bobRoom = bob.room('vault').membership({ password: 'secret' });
      expect(await bobRoom.join()).toBe(true);
      const bobPresence = bob.room('vault').presence({ syncInterval: 0 });
      await probe.until((v) => v.presence.others.length === 1, 'alice sees bob');
      // A round trip after the mount's messages: any leave or rejoin would be logged by now.
      probe.last.presence.updatePresence({ step: 1 });
      await until(bobPresence.others, (o) => o[0]?.data.step === 1, 'alice’s step', 5000);
      bobPresence.dispose();
      expect(aliceLog()).toEqual(['+alice@vault']);
    } finally {
      view.unmount();
    }
    await until(log, () => aliceLog().length === 2, 'alice left', 5000);
    expect(aliceLog()).toEqual(['+alice@vault', '-alice@vault']);
  });
});
