import { bigRoom } from './big-room.js';
import { type Member, openMembers } from './clients.js';
import { idle, joins } from './connection-scenarios.js';
import { runStep, type StepResult } from './load.js';
import { delay, latencyHistogram } from './measure.js';
import { ReadBatcher } from './read-batcher.js';
import { type SystemName, sendTimeOf } from './systems.js';

export const SCENARIOS = [
  'fanout',
  'rooms',
  'cursors',
  'idle',
  'joins',
  'bigroom-1k',
  'bigroom-10k',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface Summary {
  msgsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  loss: number;
  bytesPerConn: number | null;
  /**
   * Server CPU per delivery at the reported step (fan-out, rooms, cursors, Yjs editors) or per
   * join (joins), in µs. Absent in results saved before it was measured.
   */
  serverCpuUsPerOp?: number | null;
  /** JS heap growth per connection after a forced GC (idle). */
  heapPerConn?: number | null;
}

export interface ScenarioResult {
  summary: Summary;
  /** False when the generator saturated before the server: figures are not reported. */
  valid: boolean;
  note: string;
  details: unknown;
  /**
   * Cores' worth of CPU that processes other than this server and generator used meanwhile
   * (set by the orchestrator): a busy machine makes the figures unreliable.
   */
  otherCpu?: number;
}

export interface ScenarioInput<S extends string = SystemName> {
  system: S;
  port: number;
  statsPort: number;
  serverPid: number;
  quick: boolean;
  /** Time cap for the big-room fill, in seconds (`--cap`); each scenario has its default. */
  capSeconds?: number;
}

/** Setting up the rooms is not measured: a join may take this long on a busy machine. */
const SETUP_TIMEOUT_MS = 60_000;

/** p99 past this means the server is saturated. */
const SATURATION_P99_MS = 100;

function sampler(histogram: ReturnType<typeof latencyHistogram>) {
  return (payload: Buffer) => {
    const sentAt = sendTimeOf(payload);
    if (Number.isFinite(sentAt))
      histogram.recordValue(Math.max(1, Math.round((performance.now() - sentAt) * 1000)));
  };
}

export function passes(step: StepResult): boolean {
  return step.loss === 0 && step.p99Ms <= SATURATION_P99_MS && !step.generatorSaturated;
}

function summaryOf(step: StepResult | undefined, bytesPerConn: number | null = null): Summary {
  return {
    msgsPerSec: step?.msgsPerSec ?? 0,
    p50Ms: step?.p50Ms ?? 0,
    p99Ms: step?.p99Ms ?? 0,
    p999Ms: step?.p999Ms ?? 0,
    loss: step?.loss ?? 0,
    bytesPerConn,
    serverCpuUsPerOp: step?.serverCpuUsPerDelivery ?? null,
    heapPerConn: null,
  };
}

export function close(members: readonly Member[], batcher?: ReadBatcher): void {
  batcher?.close();
  for (const member of members) member.client.destroy();
}

/** Counting-only receivers read in bursts (see ReadBatcher); sampled ones keep flowing. */
function batch(members: readonly Member[]): ReadBatcher {
  const batcher = new ReadBatcher();
  for (const member of members) batcher.add(member.client);
  return batcher;
}

/** Raises the rate step by step until p99 passes 100 ms, anything is lost, or the generator saturates. */
async function rampUp(
  input: ScenarioInput,
  members: Member[],
  publishers: Member[],
  rates: number[],
  durationMs: number,
  fanout: (m: Member) => number,
  histogram: ReturnType<typeof latencyHistogram>,
): Promise<{
  steps: StepResult[];
  saturation: StepResult | undefined;
  valid: boolean;
  note: string;
}> {
  // Warm-up at the lowest rate (JIT, socket buffers), not reported.
  await runStep({
    system: input.system,
    serverPid: input.serverPid,
    statsPort: input.statsPort,
    members,
    publishers,
    ratePerPublisher: rates[0]!,
    durationMs: input.quick ? 300 : 1000,
    fanout,
    histogram,
    channel: 'data',
  });
  const steps: StepResult[] = [];
  let saturation: StepResult | undefined;
  let note = 'did not saturate within the rate steps';
  for (const [index, rate] of rates.entries()) {
    const measure = () =>
      runStep({
        system: input.system,
        serverPid: input.serverPid,
        statsPort: input.statsPort,
        members,
        publishers,
        ratePerPublisher: rate,
        durationMs,
        fanout,
        histogram,
        channel: 'data',
      });
    let step = await measure();
    // This VM has bursts of noise: a failure at the very first (lowest) rate is measured again once.
    if (index === 0 && !passes(step) && !step.generatorSaturated) step = await measure();
    steps.push(step);
    if (step.generatorSaturated) {
      note = `generator saturated at ${step.offeredPerSec}/s offered; the server was not the limit`;
      return { steps, saturation, valid: saturation !== undefined, note };
    }
    if (!passes(step)) {
      note = `saturated at ${step.offeredPerSec}/s offered (p99 ${step.p99Ms} ms, loss ${step.loss})`;
      break;
    }
    saturation = step;
    await delay(300);
  }
  return { steps, saturation, valid: true, note };
}

async function fanout(input: ScenarioInput): Promise<ScenarioResult> {
  const histogram = latencyHistogram();
  const size = 1000;
  const { members, errors } = await openMembers({
    system: input.system,
    port: input.port,
    count: size,
    room: () => 'fan',
    channel: 'data',
    timeoutMs: SETUP_TIMEOUT_MS,
    sample: (i) => (i % 50 === 1 ? sampler(histogram) : undefined),
  });
  if (errors > 0) throw new Error(`fanout: ${errors} connections failed`);
  const batcher = batch(members);
  await delay(500);
  const rates = input.quick
    ? [10, 80, 320]
    : [10, 20, 40, 60, 80, 120, 160, 240, 320, 480, 640, 960, 1280, 1920];
  const ramp = await rampUp(
    input,
    members,
    [members[0]!],
    rates,
    input.quick ? 1000 : 2500,
    () => size - 1,
    histogram,
  );
  if (process.env.BENCH_DEBUG) process.stderr.write(`${JSON.stringify(ramp.steps)}\n`);
  close(members, batcher);
  return {
    summary: summaryOf(ramp.saturation),
    valid: ramp.valid,
    note: ramp.note,
    details: { members: size, steps: ramp.steps },
  };
}

async function rooms(input: ScenarioInput): Promise<ScenarioResult> {
  const histogram = latencyHistogram();
  const roomCount = 100;
  const perRoom = 10;
  const { members, errors } = await openMembers({
    system: input.system,
    port: input.port,
    count: roomCount * perRoom,
    room: (i) => `room-${i % roomCount}`,
    channel: 'data',
    timeoutMs: SETUP_TIMEOUT_MS,
    sample: (i) => (i < roomCount ? sampler(histogram) : undefined),
  });
  if (errors > 0) throw new Error(`rooms: ${errors} connections failed`);
  const batcher = batch(members);
  await delay(500);
  const rates = input.quick ? [2, 10] : [1, 2, 5, 10, 20, 40, 60];
  const ramp = await rampUp(
    input,
    members,
    members,
    rates,
    input.quick ? 1000 : 2500,
    () => perRoom - 1,
    histogram,
  );
  if (process.env.BENCH_DEBUG) process.stderr.write(`${JSON.stringify(ramp.steps)}\n`);
  close(members, batcher);
  return {
    summary: summaryOf(ramp.saturation),
    valid: ramp.valid,
    note: `${ramp.note}; rates are per member`,
    details: { rooms: roomCount, perRoom, steps: ramp.steps },
  };
}

/** 100 members moving at 30 Hz; sampled receivers track each mover's latest position. */
async function cursors(input: ScenarioInput): Promise<ScenarioResult> {
  const histogram = latencyHistogram();
  const size = 100;
  const sampled = new Map<number, Map<number, number>>();
  const lastSent = new Map<number, number>();
  const { members, errors } = await openMembers({
    system: input.system,
    port: input.port,
    count: size,
    room: () => 'cursors',
    channel: 'cursor',
    timeoutMs: SETUP_TIMEOUT_MS,
    sample: (i) => {
      if (i % 10 !== 0) return undefined;
      const latest = new Map<number, number>();
      sampled.set(i, latest);
      const record = sampler(histogram);
      return (payload) => {
        record(payload);
        const text = payload.toString('latin1');
        const x = Number.parseInt(text.slice(text.indexOf('"x":') + 4), 10);
        const y = Number.parseInt(text.slice(text.indexOf('"y":') + 4), 10);
        if (x > (latest.get(y) ?? -1)) latest.set(y, x);
      };
    },
  });
  if (errors > 0) throw new Error(`cursors: ${errors} connections failed`);
  const batcher = batch(members);
  await delay(500);
  const hz = 30;
  const durationMs = input.quick ? 1500 : 5000;
  const step = await runStep({
    system: input.system,
    serverPid: input.serverPid,
    statsPort: input.statsPort,
    members,
    publishers: members,
    ratePerPublisher: hz,
    durationMs,
    fanout: () => size - 1,
    histogram,
    channel: 'cursor',
    decodeAll: true,
    body: (mover, seq, now) => {
      lastSent.set(mover.index, seq);
      return `"x":${seq},"y":${mover.index},"t":${now.toFixed(3)}`;
    },
    stallMs: 800,
  });
  // Coalescing may drop intermediate positions, never a user's latest one.
  let missingFinal = 0;
  for (const [receiver, latest] of sampled) {
    for (const [mover, finalSeq] of lastSent) {
      if (mover !== receiver && latest.get(mover) !== finalSeq) missingFinal++;
    }
  }
  close(members, batcher);
  const summary = summaryOf(step);
  summary.loss = missingFinal;
  return {
    summary,
    valid: !step.generatorSaturated,
    note: `loss = (sampled receiver, mover) pairs whose final position never arrived; ${step.delivered} of ${step.expected} positions delivered (coalescing may skip intermediate ones)`,
    details: { members: size, hz, step, missingFinal },
  };
}

export const RUNNERS: Record<ScenarioName, (input: ScenarioInput) => Promise<ScenarioResult>> = {
  fanout,
  rooms,
  cursors,
  idle,
  joins,
  'bigroom-1k': (input) => bigRoom(input, 1000),
  'bigroom-10k': (input) => bigRoom(input, 10_000),
};
