import { afterEach, describe, expect, it } from 'vitest';
import { RoomServer } from '../../packages/server/src/index.js';
import { bigRoom } from '../src/big-room.js';

// The big-room scenario against a real Roomkit server, small: every member must end up knowing
// everyone, and bytes and CPU must be accounted.

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const servers: RoomServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

describe('big room', () => {
  it('fills a Roomkit room one member at a time and checks every count', async () => {
    const server = new RoomServer({ path: '/r', logger: silent });
    servers.push(server);
    await server.start(0);
    const result = await bigRoom(
      { system: 'roomkit', port: server.port, statsPort: 0, serverPid: process.pid, quick: false },
      25,
    );
    const details = result.details as {
      finished: boolean;
      joined: number;
      totalBytes: number;
      counts: { reached: number; exactMembers: number };
    };
    expect(details.finished).toBe(true);
    expect(details.joined).toBe(25);
    expect(details.counts.reached).toBe(25);
    // Roomkit's members take deltas, so each counts exactly: its snapshot plus the users the
    // deltas name.
    expect(details.counts.exactMembers).toBe(25);
    expect(details.totalBytes).toBeGreaterThan(0);
    expect(result.summary.loss).toBe(0);
  });

  it('reports a fill that cannot finish within the cap instead of hanging', async () => {
    const server = new RoomServer({ path: '/r', logger: silent });
    servers.push(server);
    await server.start(0);
    const result = await bigRoom(
      {
        system: 'roomkit',
        port: server.port,
        statsPort: 0,
        serverPid: process.pid,
        quick: false,
        capSeconds: 0.05,
      },
      100_000,
    );
    const details = result.details as { finished: boolean; timedOut: boolean; joined: number };
    expect(details, JSON.stringify(details)).toMatchObject({ finished: false, timedOut: true });
    expect(details.joined).toBeLessThan(100_000);
    expect(result.note).toMatch(/^did not finish within 0.05 s/);
  });
});
