import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RoomServer } from '../../packages/server/src/index.js';
import { openMembers, received } from '../src/clients.js';
import { ADAPTERS, sendTimeOf } from '../src/systems.js';
import { clientFrame, WireClient } from '../src/wire.js';

// The harness's raw client must count exactly what a real server delivers, or every benchmark
// figure is wrong. These run it against a real Roomkit server.

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const servers: RoomServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function roomkit(): Promise<RoomServer> {
  const server = new RoomServer({
    path: '/r',
    logger: silent,
    rateLimit: { messagesPerSecond: 1e6, burst: 1e6 },
  });
  servers.push(server);
  await server.start(0);
  return server;
}

describe('clientFrame', () => {
  it('builds masked frames a real server accepts, for 7-, 16- and 64-bit lengths', async () => {
    const server = await roomkit();
    const observer = new WebSocket(`ws://127.0.0.1:${server.port}/r/w?userId=obs`);
    const got: string[] = [];
    observer.on('message', (data) => got.push(data.toString()));
    await new Promise((resolve) => observer.once('open', resolve));
    const sender = new WireClient({
      port: server.port,
      path: '/r/w?userId=snd',
      marker: Buffer.from('{"type":"b"'),
    });
    await sender.open();
    await ADAPTERS.roomkit.join(sender, 'w');
    for (const size of [10, 200, 70_000]) {
      sender.send(clientFrame(JSON.stringify({ type: 'b', pad: 'x'.repeat(size) })));
    }
    const deadline = Date.now() + 3000;
    while (got.filter((m) => m.startsWith('{"type":"b"')).length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // 70 000 bytes is over the server's 64 KiB message limit: refused, the other two relayed.
    expect(
      got
        .filter((m) => m.startsWith('{"type":"b"'))
        .map((m) => (JSON.parse(m) as { pad: string }).pad.length),
    ).toEqual([10, 200]);
    observer.close();
    sender.destroy();
  });
});

describe('WireClient counting', () => {
  it('counts every relayed data frame across chunk boundaries and skips control traffic', async () => {
    const server = await roomkit();
    const samples: number[] = [];
    const { members, errors } = await openMembers({
      system: 'roomkit',
      port: server.port,
      count: 5,
      room: () => 'count',
      channel: 'data',
      concurrency: 2,
      sample: (i) => (i === 1 ? (payload) => samples.push(sendTimeOf(payload)) : undefined),
    });
    expect(errors).toBe(0);
    const publisher = members[0]!;
    const total = 300;
    for (let i = 0; i < total; i++) {
      publisher.client.send(
        ADAPTERS.roomkit.frame('data', `"t":${i}.5,"p":"${'y'.repeat(i % 3 === 0 ? 2000 : 50)}"`),
      );
    }
    const deadline = Date.now() + 5000;
    while (received(members) < total * 4 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(received(members)).toBe(total * 4);
    expect(publisher.client.count).toBe(0);
    expect(samples).toHaveLength(total);
    expect(samples[7]).toBe(7.5);
    for (const member of members) member.client.destroy();
  });
});
