import { ADAPTERS, type Channel, type SystemName } from './systems.js';
import { WireClient } from './wire.js';

export interface Member {
  client: WireClient;
  room: string;
  index: number;
}

/** Loopback source addresses, so tens of thousands of sockets never run out of source ports. */
const SOURCES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];

/**
 * Opens and joins `count` members, `concurrency` at a time. Members of `room(i)` count frames
 * of `channel`; those for which `sample(i)` is set also hand over whole payloads.
 */
export async function openMembers(options: {
  system: SystemName;
  port: number;
  count: number;
  room: (index: number) => string;
  channel: Channel;
  concurrency?: number;
  sample?: (index: number) => ((payload: Buffer) => void) | undefined;
  firstIndex?: number;
  /**
   * How long a handshake, and then a join, may take before the member counts as failed. Join
   * storms keep the default (a slow join there is a result); scenarios that only set up their
   * rooms allow more, so a busy machine does not fail the setup.
   */
  timeoutMs?: number;
}): Promise<{ members: Member[]; errors: number }> {
  const adapter = ADAPTERS[options.system];
  const members: Member[] = [];
  let errors = 0;
  let next = 0;
  const first = options.firstIndex ?? 0;
  const worker = async () => {
    while (next < options.count) {
      const index = first + next++;
      const room = options.room(index);
      const client = new WireClient({
        port: options.port,
        path: adapter.path(room, index),
        localAddress: SOURCES[index % SOURCES.length],
        marker: adapter.marker(options.channel),
        sample: options.sample?.(index),
      });
      try {
        await client.open(options.timeoutMs);
        await adapter.join(client, room, options.timeoutMs);
        client.keepControls = false;
        client.controls.length = 0;
        members.push({ client, room, index });
      } catch {
        errors++;
        client.destroy();
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 100 }, worker));
  members.sort((a, b) => a.index - b.index);
  return { members, errors };
}

export function received(members: readonly Member[]): number {
  let total = 0;
  for (const member of members) total += member.client.count;
  return total;
}
