import { describe, expect, it } from 'vitest';
import { type BusMessage, LocalBus, type Logger } from '../src/index.js';
import { join, startServer, waitUntil } from './helpers.js';

/** A single node's bus that records what it would send to other nodes. */
class RecordingBus extends LocalBus {
  readonly published: BusMessage[] = [];
  override publish(message: BusMessage): Promise<void> {
    this.published.push(message);
    return super.publish(message);
  }
}

/** A bus whose every send to other nodes fails (a broken link). */
class FailingBus extends LocalBus {
  override publish(): Promise<void> {
    return Promise.reject(new Error('link down'));
  }
}

function recordingLogger(): Logger & { lines: { level: string; msg?: string }[] } {
  const lines: { level: string; msg?: string }[] = [];
  const at = (level: string) => (_fields: Record<string, unknown>, msg?: string) =>
    void lines.push({ level, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('Bus seam', () => {
  it('publishes every room change and broadcast for the other nodes: members, state, relays, cursors', async () => {
    const bus = new RecordingBus();
    const server = await startServer({ bus, cursorFlushMs: 5 });
    const alice = await join(server, 'bus-room', 'alice');
    const bob = await join(server, 'bus-room', 'bob');
    alice.send({ type: 'chat', text: 'hi' });
    alice.send({ type: 'state:update', key: 'k', value: 1 });
    alice.send({ type: 'cursor:update', x: 1, y: 2 });
    alice.send({ type: 'presence:update', location: 'home' });
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
    expect(kinds).toContain('member-joined');
    expect(kinds).toContain('chat:reliable');
    expect(kinds).toContain('state-set');
    expect(kinds).toContain('state:update:reliable');
    expect(kinds).toContain('cursor:update:batch');
    await waitUntil(
      () => bus.published.some((m) => m.kind === 'member-updated'),
      3000,
      'presence update published',
    );
    const chat = bus.published.find((m) => m.kind === 'broadcast' && m.data.includes('"chat"'));
    expect(chat).toMatchObject({
      kind: 'broadcast',
      room: 'bus-room',
      exclude: [expect.any(String)],
    });
    const joined = bus.published.find((m) => m.kind === 'member-joined');
    expect(joined).toMatchObject({
      room: 'bus-room',
      member: { nodeId: bus.nodeId, user: { userId: 'alice' } },
    });
    // Presence lists are not sent between nodes: each node builds its members' from the events.
    expect(kinds.some((kind) => kind.startsWith('presence'))).toBe(false);
  });

  it('a failed publish is logged; this node still delivers to its own members', async () => {
    const logger = recordingLogger();
    const server = await startServer({ bus: new FailingBus(), logger });
    const alice = await join(server, 'cut-off', 'alice');
    const bob = await join(server, 'cut-off', 'bob');
    alice.send({ type: 'chat', text: 'still here' });
    expect(await bob.next('chat')).toMatchObject({ text: 'still here', from: 'alice' });
    await waitUntil(
      () => logger.lines.some((line) => line.level === 'error' && /publish/.test(line.msg ?? '')),
      3000,
      'publish failure logged',
    );
  });
});
