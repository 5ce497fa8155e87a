import { describe, expect, it } from 'vitest';
import { Bus, type BusMessage, LocalBus } from '../src/index.js';
import { join, startServer } from './helpers.js';

/** A bus that records what crosses it and delivers like the local one. */
class RecordingBus extends Bus {
  readonly published: BusMessage[] = [];
  publish(message: BusMessage): void {
    this.published.push(message);
    this.deliver(message);
  }
  async close(): Promise<void> {}
}

describe('Bus seam', () => {
  it('carries every room broadcast, so a plugged-in bus sees relays, state and cursors', async () => {
    const bus = new RecordingBus();
    const server = await startServer({ bus, cursorFlushMs: 5 });
    const alice = await join(server, 'bus-room', 'alice');
    const bob = await join(server, 'bus-room', 'bob');
    alice.send({ type: 'chat', text: 'hi' });
    alice.send({ type: 'state:update', key: 'k', value: 1 });
    alice.send({ type: 'cursor:update', x: 1, y: 2 });
    await bob.next('chat');
    await bob.next('state:update');
    await bob.next('cursor:update');
    const kinds = bus.published.flatMap((m) => {
      if (m.kind === 'batch') {
        return m.items.map((item) => `${(JSON.parse(item.data) as { type: string }).type}:batch`);
      }
      if (m.kind !== 'broadcast') return [m.kind];
      const parsed = JSON.parse(m.data) as { type: string };
      return [`${parsed.type}:${m.lossy ? 'lossy' : 'reliable'}`];
    });
    expect(kinds).toContain('chat:reliable');
    expect(kinds).toContain('state:update:reliable');
    expect(kinds).toContain('cursor:update:batch');
    expect(kinds).toContain('presence:lossy');
    const chat = bus.published.find((m) => m.kind === 'broadcast' && m.data.includes('"chat"'));
    expect(chat).toMatchObject({
      kind: 'broadcast',
      room: 'bus-room',
      exclude: [expect.any(String)],
    });
  });

  it("a message the bus does not deliver reaches no one (delivery is the bus's job)", async () => {
    class DroppingBus extends LocalBus {
      override publish(message: BusMessage): void {
        if (message.kind !== 'broadcast' || !message.data.includes('"secret"')) {
          super.publish(message);
        }
      }
    }
    const server = await startServer({ bus: new DroppingBus() });
    const alice = await join(server, 'drop', 'alice');
    const bob = await join(server, 'drop', 'bob');
    alice.send({ type: 'secret' });
    alice.send({ type: 'sentinel' });
    await bob.next('sentinel');
    expect(bob.all('secret')).toHaveLength(0);
  });
});
