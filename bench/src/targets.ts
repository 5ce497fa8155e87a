import type { StepResult } from './load.js';
import type { ScenarioResult, Summary } from './scenarios.js';
import { yjsTargetRows } from './yjs-report.js';

/** The targets, evaluated on a run's figures (the Targets table of BENCHMARKS.md). */

export type Results = Record<string, Record<string, ScenarioResult | { error: string }>>;

export function isResult(
  value: ScenarioResult | { error: string } | undefined,
): value is ScenarioResult {
  return value !== undefined && 'summary' in value;
}

export function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(2)}×` : '—';
}

const mark = (ok: boolean) => (ok ? 'met' : 'missed');

function stepsOf(result: ScenarioResult | { error: string } | undefined): StepResult[] {
  return isResult(result) ? ((result.details as { steps?: StepResult[] }).steps ?? []) : [];
}

const passed = (s: StepResult) => s.loss === 0 && s.p99Ms <= 100 && !s.generatorSaturated;

/** Server CPU per delivery of Roomkit and ws-corked at the highest offered rate both passed. */
function cpuPerDeliveryRow(results: Results): string | null {
  const fan = results.fanout ?? {};
  const corked = stepsOf(fan['ws-corked']).filter(passed);
  const common = stepsOf(fan.roomkit)
    .filter(passed)
    .map((r) => ({ r, c: corked.find((c) => c.offeredPerSec === r.offeredPerSec) }))
    .filter((pair): pair is { r: StepResult; c: StepResult } => pair.c !== undefined)
    .filter((pair) => pair.r.serverCpuUsPerDelivery && pair.c.serverCpuUsPerDelivery)
    .at(-1);
  if (!common) return null;
  const [a, b] = [common.r.serverCpuUsPerDelivery ?? 0, common.c.serverCpuUsPerDelivery ?? 0];
  return `| fan-out server CPU per delivery ≤ 1.1× ws-corked at the same offered rate | ${a} vs ${b} µs at ${common.r.offeredPerSec}/s (${ratio(a, b)}) | ${mark(a <= 1.1 * b)} |`;
}

function bigRoomRows(results: Results): string[] {
  const rows: string[] = [];
  const details = (scenario: string) => {
    const r = results[scenario]?.roomkit;
    return isResult(r)
      ? (r.details as {
          members: number;
          finished: boolean;
          capSeconds: number;
          joined: number;
          totalBytes: number;
          serverCpuSeconds: number;
          counts: { reached: number };
        })
      : undefined;
  };
  const small = details('bigroom-1k');
  if (small) {
    const mb = small.totalBytes / 1e6;
    const shown = small.finished
      ? `${mb.toFixed(1)} MB, ${small.serverCpuSeconds} s server CPU (${small.members} members)`
      : `did not finish within ${small.capSeconds} s (${small.joined} of ${small.members} joined; ${mb.toFixed(1)} MB, ${small.serverCpuSeconds} s CPU so far)`;
    rows.push(
      `| 1,000 members joining one room one at a time: ≤ 300 MB delivered in all, ≤ 3 s server CPU | ${shown} | ${mark(small.finished && small.members >= 1000 && mb <= 300 && small.serverCpuSeconds <= 3)} |`,
    );
  }
  const big = details('bigroom-10k');
  if (big) {
    const shown = big.finished
      ? `filled; ${big.counts.reached} of ${big.members} members' counts reached ${big.members}`
      : `did not finish within ${big.capSeconds} s (${big.joined} of ${big.members} joined)`;
    rows.push(
      `| a 10,000-member room fills and every member's count reaches 10,000 | ${shown} | ${mark(big.finished && big.members >= 10_000 && big.counts.reached === big.members)} |`,
    );
  }
  return rows;
}

export function targets(results: Results): string {
  const fan = results.fanout ?? {};
  const get = (scenario: string, system: string): Summary | undefined => {
    const r = results[scenario]?.[system];
    return isResult(r) && r.valid ? r.summary : undefined;
  };
  const rk = get('fanout', 'roomkit');
  const sio = get('fanout', 'socketio');
  const corked = get('fanout', 'ws-corked');
  const lines = ['## Targets', '', '| target | this run | status |', '| --- | --- | --- |'];
  const cpuRow = cpuPerDeliveryRow(results);
  if (cpuRow) lines.push(cpuRow);
  if (rk && sio && corked) {
    lines.push(
      `| fan-out saturation throughput ≥ 0.9× ws-corked and ≥ 10× stock Socket.IO | ${rk.msgsPerSec} vs ${corked.msgsPerSec} (${ratio(rk.msgsPerSec, corked.msgsPerSec)}) and vs ${sio.msgsPerSec} (${ratio(rk.msgsPerSec, sio.msgsPerSec)}) | ${mark(rk.msgsPerSec >= 0.9 * corked.msgsPerSec && rk.msgsPerSec >= 10 * sio.msgsPerSec)} |`,
    );
  }
  if (rk && sio) {
    // p99 at half of Socket.IO's saturation rate: the highest step at or below that rate.
    const half = (stepsOf(fan.socketio).filter(passed).at(-1)?.offeredPerSec ?? 0) / 2;
    const at = (system: string) =>
      stepsOf(fan[system])
        .filter((s) => s.offeredPerSec <= half)
        .at(-1);
    const [a, b, c] = [at('roomkit'), at('socketio'), at('ws-plain')];
    if (a && b && c) {
      lines.push(
        `| p99 at half Socket.IO's saturation rate (${a.offeredPerSec}/s) ≤ Socket.IO and ≤ 1.2× bare ws | Roomkit ${a.p99Ms} ms, Socket.IO ${b.p99Ms} ms, ws ${c.p99Ms} ms | ${mark(a.p99Ms <= b.p99Ms && a.p99Ms <= 1.2 * c.p99Ms)} |`,
      );
    }
  }
  const cur = get('cursors', 'roomkit');
  if (cur)
    lines.push(
      `| cursors p99 < 50 ms, no user's cursor dropped | p99 ${cur.p99Ms} ms, final positions missed ${cur.loss} | ${mark(cur.p99Ms < 50 && cur.loss === 0)} |`,
    );
  const [mr, mw, ms] = [get('idle', 'roomkit'), get('idle', 'ws-plain'), get('idle', 'socketio')];
  // Heap after a forced GC where the run measured it (steadier than RSS), RSS otherwise.
  const memory = (s: Summary) => s.heapPerConn ?? s.bytesPerConn ?? 0;
  const kind = mr?.heapPerConn ? 'JS heap' : 'RSS';
  if (mr && mw && ms && memory(mr) && memory(mw) && memory(ms)) {
    lines.push(
      `| idle memory ≤ 1.15× bare ws (${kind}) | ${memory(mr)} vs ${memory(mw)} B (${ratio(memory(mr), memory(mw))}) | ${mark(memory(mr) <= 1.15 * memory(mw))} |`,
      `| idle memory ≤ 0.5× Socket.IO (${kind}) | ${memory(mr)} vs ${memory(ms)} B (${ratio(memory(mr), memory(ms))}) | ${mark(memory(mr) <= 0.5 * memory(ms))} |`,
    );
  }
  const [jr, jw] = [get('joins', 'roomkit'), get('joins', 'ws-plain')];
  if (jr?.serverCpuUsPerOp && jw?.serverCpuUsPerOp) {
    lines.push(
      `| server CPU per join (rooms of 50) ≤ 2× bare ws | ${jr.serverCpuUsPerOp} vs ${jw.serverCpuUsPerOp} µs (${ratio(jr.serverCpuUsPerOp, jw.serverCpuUsPerOp)}) | ${mark(jr.serverCpuUsPerOp <= 2 * jw.serverCpuUsPerOp)} |`,
    );
  }
  lines.push(...bigRoomRows(results), ...yjsTargetRows(results));
  return `${lines.join('\n')}\n`;
}
