import type * as hdr from 'hdr-histogram-js';
import { type Member, received } from './clients.js';
import {
  CpuMeter,
  delay,
  fetchStats,
  ownCpuSeconds,
  ownCpuSplit,
  percentiles,
  processCpuSeconds,
} from './measure.js';
import type { PeerStats } from './peers/peer-stats.js';
import { ADAPTERS, type Channel, type SystemName } from './systems.js';

export interface StepResult {
  /** Messages per second the publishers were asked to send. */
  offeredPerSec: number;
  sent: number;
  expected: number;
  delivered: number;
  /** Deliveries per second, over the time from first send to last delivery. */
  msgsPerSec: number;
  loss: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  samples: number;
  /** Server's share of a core over the step (send window plus drain). */
  serverCpu: number;
  /** Server CPU time over the step divided by the deliveries it made, in µs. */
  serverCpuUsPerDelivery?: number;
  /** Server's event-loop delay p99 during the step, and its RSS at the end. */
  serverLoopLagP99Ms: number;
  serverRssBytes: number;
  generatorCpu: number;
  /** True when the generator, not the server, was the bottleneck: the step is not valid. */
  generatorSaturated: boolean;
}

const TICK_MS = 5;
/** A generator over this share of its core may be what limits the run. */
export const GENERATOR_LIMIT = 0.9;

/**
 * When message `seq` (0-based) of publisher `slot` (of `publishers`) is due under the offered
 * rate: publishers are spread evenly over each period, and a message is due once
 * `rate × elapsed + slot / publishers ≥ seq + 1`. Messages carry this time, not the time they
 * actually went out, so a generator that falls behind shows up in latency instead of hiding it
 * (no coordinated omission).
 */
export function intendedSendTime(
  start: number,
  seq: number,
  slot: number,
  publishers: number,
  ratePerSecond: number,
): number {
  return start + ((seq + 1 - slot / publishers) * 1000) / ratePerSecond;
}

/**
 * One load step: every publisher sends `ratePerPublisher` messages/s for `durationMs`, each
 * stamped with the time it was scheduled to be sent (`intendedSendTime`); then waits until every
 * expected delivery arrived or delivery stalls.
 */
export async function runStep(options: {
  system: SystemName;
  serverPid: number;
  statsPort: number;
  members: readonly Member[];
  publishers: readonly Member[];
  ratePerPublisher: number;
  durationMs: number;
  /** Deliveries each message should cause (members of its room minus the sender). */
  fanout: (publisher: Member) => number;
  histogram: hdr.Histogram;
  channel: Channel;
  body?: (publisher: Member, seq: number, now: number) => string;
  stallMs?: number;
  /** Decode every payload at the sampled receivers (cursors need each one), not a budgeted share. */
  decodeAll?: boolean;
}): Promise<StepResult> {
  const { members, publishers, ratePerPublisher, durationMs, histogram } = options;
  const adapter = ADAPTERS[options.system];
  const pad = 'x'.repeat(60);
  const body =
    options.body ??
    ((_p: Member, _seq: number, now: number) => `"t":${now.toFixed(3)},"p":"${pad}"`);
  histogram.reset();
  // Decode at most ~20k payloads/s in all: enough for stable percentiles, cheap for the generator.
  const sampled = members.filter((m) => m.client.isSampled);
  let perSecond = 0;
  for (const publisher of publishers) perSecond += ratePerPublisher * options.fanout(publisher);
  const every = options.decodeAll
    ? 1
    : Math.max(1, Math.ceil(((perSecond / members.length) * sampled.length) / 20_000));
  for (const member of sampled) member.client.sampleEvery = every;
  const before = received(members);
  const serverCpu = new CpuMeter(() => processCpuSeconds(options.serverPid));
  const ownCpu = new CpuMeter(ownCpuSeconds);
  // Resets the server's loop-delay histogram; its CPU clock counts the step's server work.
  const server0 = await fetchStats(options.statsPort);
  serverCpu.start();
  ownCpu.start();
  const start = performance.now();
  const split0 = ownCpuSplit();
  const sentBy = new Array<number>(publishers.length).fill(0);
  let sent = 0;
  let expected = 0;
  while (performance.now() - start < durationMs) {
    const elapsed = performance.now() - start;
    const ticks = (ratePerPublisher * elapsed) / 1000;
    for (let i = 0; i < publishers.length; i++) {
      const publisher = publishers[i]!;
      // Publishers are spread evenly over each period instead of all firing in the same tick.
      const due = Math.floor(ticks + i / publishers.length);
      while (sentBy[i]! < due) {
        const seq = sentBy[i]!;
        const at = intendedSendTime(start, seq, i, publishers.length, ratePerPublisher);
        publisher.client.send(adapter.frame(options.channel, body(publisher, seq, at)));
        sentBy[i]!++;
        sent++;
        expected += options.fanout(publisher);
      }
    }
    await delay(TICK_MS);
  }
  // Drain: until all expected deliveries arrived, or nothing new arrived for `stallMs`.
  let last = received(members) - before;
  let lastChange = performance.now();
  const stallMs = options.stallMs ?? 1500;
  while (last < expected && performance.now() - lastChange < stallMs) {
    await delay(10);
    const now = received(members) - before;
    if (now !== last) {
      last = now;
      lastChange = performance.now();
    }
  }
  const end = Math.max(lastChange, start + durationMs);
  const seconds = (end - start) / 1000;
  const generatorCpu = ownCpu.stop();
  const server = await fetchStats(options.statsPort);
  const split1 = ownCpuSplit();
  if (process.env.BENCH_DEBUG) {
    process.stderr.write(
      `generator user ${(split1.user - split0.user).toFixed(2)}s system ${(split1.system - split0.system).toFixed(2)}s over ${seconds.toFixed(2)}s\n`,
    );
  }
  return {
    offeredPerSec: ratePerPublisher * publishers.length,
    sent,
    expected,
    delivered: last,
    msgsPerSec: Math.round(last / seconds),
    loss: Math.max(0, expected - last),
    ...stepMeasures(histogram, serverCpu.stop(), server, generatorCpu),
    serverCpuUsPerDelivery: perOperation(server.cpuMicros - server0.cpuMicros, last),
  };
}

/** CPU µs per operation, to 0.01 µs (0 when nothing was done). */
export function perOperation(cpuMicros: number, operations: number): number {
  return operations > 0 ? Math.round((cpuMicros / operations) * 100) / 100 : 0;
}

/** What every step records besides its counts: latency, server and generator load. */
export function stepMeasures(
  histogram: hdr.Histogram,
  serverCpu: number,
  server: PeerStats,
  generatorCpu: number,
): Omit<
  StepResult,
  | 'offeredPerSec'
  | 'sent'
  | 'expected'
  | 'delivered'
  | 'msgsPerSec'
  | 'loss'
  | 'serverCpuUsPerDelivery'
> {
  return {
    ...percentiles(histogram),
    serverCpu: round(serverCpu),
    serverLoopLagP99Ms: round(server.loopLagP99Ms),
    serverRssBytes: server.rssBytes,
    generatorCpu: round(generatorCpu),
    generatorSaturated: generatorCpu > GENERATOR_LIMIT,
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
