import { type Member, openMembers } from './clients.js';
import { GENERATOR_LIMIT, perOperation } from './load.js';
import { CpuMeter, delay, fetchStats, ownCpuSeconds } from './measure.js';
import type { ScenarioInput, ScenarioResult } from './scenarios.js';

/** Idle connections and join storms: what a connection costs the server, at rest and arriving. */

function closeAll(members: readonly Member[]): void {
  for (const member of members) member.client.destroy();
}

const round2 = (value: number) => Math.round(value * 100) / 100;

/**
 * Idle connections in rooms of 10: server memory per connection after a forced GC, as JS heap
 * (`heapUsed`: what the server's own objects cost) and as RSS (what the process costs; noisier).
 * The measured step is the settle-and-read window after each level is open; the generator's CPU
 * there decides validity (opening the connections is not what is measured).
 */
export async function idle(input: ScenarioInput): Promise<ScenarioResult> {
  const levels = input.quick ? [2000] : [1000, 5000, 10_000];
  const baseline = await fetchStats(input.statsPort, true);
  const all: Member[] = [];
  const points: Array<{
    connections: number;
    rssBytes: number;
    heapBytes: number;
    bytesPerConn: number;
    heapPerConn: number;
    errors: number;
    generatorCpu: number;
    generatorSaturated: boolean;
  }> = [];
  for (const level of levels) {
    const { members, errors } = await openMembers({
      system: input.system,
      port: input.port,
      count: level - all.length,
      firstIndex: all.length,
      room: (i) => `idle-${Math.floor(i / 10)}`,
      channel: 'data',
      concurrency: 200,
    });
    all.push(...members);
    const cpu = new CpuMeter(ownCpuSeconds);
    cpu.start();
    await delay(input.quick ? 500 : 1000);
    const stats = await fetchStats(input.statsPort, true);
    const generatorCpu = round2(cpu.stop());
    points.push({
      connections: all.length,
      rssBytes: stats.rssBytes,
      heapBytes: stats.heapUsedBytes,
      bytesPerConn: Math.round((stats.rssBytes - baseline.rssBytes) / all.length),
      heapPerConn: Math.round((stats.heapUsedBytes - baseline.heapUsedBytes) / all.length),
      errors,
      generatorCpu,
      generatorSaturated: generatorCpu > GENERATOR_LIMIT,
    });
  }
  closeAll(all);
  const last = points.at(-1)!;
  return {
    summary: {
      msgsPerSec: 0,
      p50Ms: 0,
      p99Ms: 0,
      p999Ms: 0,
      loss: points.reduce((n, p) => n + p.errors, 0),
      bytesPerConn: last.bytesPerConn,
      serverCpuUsPerOp: null,
      heapPerConn: last.heapPerConn,
    },
    valid: !last.generatorSaturated,
    note: `server JS heap (and RSS) growth per connection at ${last.connections} idle connections, after a forced GC`,
    details: { baselineRss: baseline.rssBytes, baselineHeap: baseline.heapUsedBytes, points },
  };
}

/**
 * Connect+join storms of growing concurrency, until connections fail. A storm in which the
 * generator used more than 90 % of its core is invalid (it may have been the limit) and is not
 * reported; server CPU per join is the server's CPU over the storm divided by the joins made.
 */
export async function joins(input: ScenarioInput): Promise<ScenarioResult> {
  const count = input.quick ? 500 : 3000;
  const levels = input.quick ? [100] : [50, 200, 800];
  const points: Array<{
    concurrency: number;
    joinsPerSec: number;
    errors: number;
    generatorCpu: number;
    generatorSaturated: boolean;
    serverCpuUsPerJoin: number;
  }> = [];
  let best: (typeof points)[number] | undefined;
  let offset = 0;
  for (const concurrency of levels) {
    const cpu = new CpuMeter(ownCpuSeconds);
    const server0 = await fetchStats(input.statsPort);
    cpu.start();
    const start = performance.now();
    const { members, errors } = await openMembers({
      system: input.system,
      port: input.port,
      count,
      firstIndex: offset,
      room: (i) => `join-${offset}-${Math.floor(i / 50)}`,
      channel: 'data',
      concurrency,
    });
    const joinsPerSec = Math.round(members.length / ((performance.now() - start) / 1000));
    const generatorCpu = round2(cpu.stop());
    const server = await fetchStats(input.statsPort);
    offset += count;
    const point = {
      concurrency,
      joinsPerSec,
      errors,
      generatorCpu,
      generatorSaturated: generatorCpu > GENERATOR_LIMIT,
      serverCpuUsPerJoin: perOperation(server.cpuMicros - server0.cpuMicros, members.length),
    };
    points.push(point);
    closeAll(members);
    await delay(input.quick ? 200 : 1000);
    if (errors > 0) break;
    if (!point.generatorSaturated && (!best || joinsPerSec > best.joinsPerSec)) best = point;
  }
  const errors = points.reduce((n, p) => n + p.errors, 0);
  const saturated = points.filter((p) => p.generatorSaturated).map((p) => p.concurrency);
  return {
    summary: {
      msgsPerSec: best?.joinsPerSec ?? 0,
      p50Ms: 0,
      p99Ms: 0,
      p999Ms: 0,
      loss: errors,
      bytesPerConn: null,
      serverCpuUsPerOp: best?.serverCpuUsPerJoin ?? null,
      heapPerConn: null,
    },
    valid: best !== undefined,
    note:
      `best connect+join rate (joins/s) without errors, ${count} joins per storm in rooms of 50` +
      (best ? ` (at concurrency ${best.concurrency})` : '') +
      (saturated.length
        ? `; storms at concurrency ${saturated.join(', ')} invalid (generator over 90 % of its core)`
        : ''),
    details: { points },
  };
}
