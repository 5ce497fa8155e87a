import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StepResult } from './load.js';
import type { ScenarioResult, Summary } from './scenarios.js';
import { latencyPlot } from './svg.js';
import { isYjsScenario, yjsTable, yjsTargetRows } from './yjs-report.js';

type Results = Record<string, Record<string, ScenarioResult | { error: string }>>;

function isResult(value: ScenarioResult | { error: string } | undefined): value is ScenarioResult {
  return value !== undefined && 'summary' in value;
}

const LABEL: Record<string, string> = {
  fanout:
    'Fan-out: 1 room × 1000 members, one publisher, 100-byte payloads (figures at the saturation point)',
  rooms:
    'Many rooms: 100 rooms × 10 members, every member publishing (figures at the saturation point; rates per member)',
  cursors: 'Cursors: 100 members moving at 30 Hz',
  idle: 'Idle connections: server memory per connection',
  joins: 'Join storm: connect + join rate (msgs/s column = joins/s)',
};

function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(2)}×` : '—';
}

/** Server CPU, event-loop lag and RSS during the reported step, when the scenario has steps. */
function serverCell(result: ScenarioResult): string {
  const details = result.details as { steps?: StepResult[]; step?: StepResult };
  const step =
    details.step ?? details.steps?.find((s) => s.msgsPerSec === result.summary.msgsPerSec);
  if (!step || step.serverLoopLagP99Ms === undefined) return '—';
  return `${Math.round(step.serverCpu * 100)} % / ${step.serverLoopLagP99Ms} ms / ${Math.round(step.serverRssBytes / 2 ** 20)} MiB`;
}

function table(
  scenario: string,
  results: Record<string, ScenarioResult | { error: string }>,
  source?: string,
): string {
  if (isYjsScenario(scenario)) return yjsTable(scenario, results, source);
  const roomkit = results.roomkit;
  const rows = Object.entries(results).map(([system, result]) => {
    if (!isResult(result)) return `| ${system} | failed: ${result.error} | | | | | | | |`;
    const s = result.summary;
    const base = isResult(roomkit) ? roomkit.summary : undefined;
    const versus =
      scenario === 'idle'
        ? base && s.bytesPerConn
          ? ratio(base.bytesPerConn ?? 0, s.bytesPerConn)
          : '—'
        : base
          ? ratio(base.msgsPerSec, s.msgsPerSec)
          : '—';
    const flag = result.valid ? '' : ' (invalid: generator saturated)';
    return `| ${system}${flag} | ${s.msgsPerSec} | ${s.p50Ms} | ${s.p99Ms} | ${s.p999Ms} | ${s.loss} | ${s.bytesPerConn ?? '—'} | ${serverCell(result)} | ${system === 'roomkit' ? '—' : versus} |`;
  });
  const notes = Object.entries(results)
    .filter(([, r]) => isResult(r))
    .map(([system, r]) => `- ${system}: ${(r as ScenarioResult).note}`);
  return [
    `### ${scenario}`,
    '',
    LABEL[scenario] ?? '',
    ...(source ? ['', `(run: ${source})`] : []),
    '',
    `| system | msgs/s | p50 ms | p99 ms | p99.9 ms | loss | bytes/conn | server CPU / loop lag p99 / RSS | Roomkit ÷ this (${scenario === 'idle' ? 'memory' : 'throughput'}) |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    ...notes,
    '',
  ].join('\n');
}

function summaries(results: Results): {
  scenarios: Record<string, Record<string, Summary>>;
  invalid: string[];
} {
  const scenarios: Record<string, Record<string, Summary>> = {};
  const invalid: string[] = [];
  for (const [scenario, bySystem] of Object.entries(results)) {
    scenarios[scenario] = {};
    for (const [system, result] of Object.entries(bySystem)) {
      if (isResult(result) && result.valid) scenarios[scenario]![system] = result.summary;
      else invalid.push(`${scenario}/${system}`);
    }
  }
  return { scenarios, invalid };
}

interface Step {
  offeredPerSec: number;
  p99Ms: number;
}

function stepsOf(result: ScenarioResult | { error: string } | undefined): Step[] {
  return isResult(result) ? ((result.details as { steps?: Step[] }).steps ?? []) : [];
}

/** The targets, evaluated on this run's figures. */
function targets(results: Results): string {
  const fan = results.fanout ?? {};
  const get = (scenario: string, system: string): Summary | undefined => {
    const r = results[scenario]?.[system];
    return isResult(r) && r.valid ? r.summary : undefined;
  };
  const mark = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'met' : 'missed');
  const rk = get('fanout', 'roomkit');
  const sio = get('fanout', 'socketio');
  const pre = get('fanout', 'ws-preframed');
  const lines: string[] = [
    '## Targets',
    '',
    '| target | this run | status |',
    '| --- | --- | --- |',
  ];
  if (rk && sio && pre) {
    lines.push(
      `| fan-out saturation ≥ 3× Socket.IO | ${rk.msgsPerSec} vs ${sio.msgsPerSec} (${ratio(rk.msgsPerSec, sio.msgsPerSec)}) | ${mark(rk.msgsPerSec >= 3 * sio.msgsPerSec)} |`,
      `| fan-out saturation ≥ 0.9× pre-framed ws | ${rk.msgsPerSec} vs ${pre.msgsPerSec} (${ratio(rk.msgsPerSec, pre.msgsPerSec)}) | ${mark(rk.msgsPerSec >= 0.9 * pre.msgsPerSec)} |`,
    );
    // p99 at half of Socket.IO's saturation rate: the highest step at or below that rate.
    const sioSat =
      stepsOf(fan.socketio)
        .filter((s) => s.p99Ms <= 100)
        .at(-1)?.offeredPerSec ?? 0;
    const half = sioSat / 2;
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
  if (mr?.bytesPerConn && mw?.bytesPerConn && ms?.bytesPerConn) {
    lines.push(
      `| idle memory ≤ 1.3× bare ws | ${mr.bytesPerConn} vs ${mw.bytesPerConn} B (${ratio(mr.bytesPerConn, mw.bytesPerConn)}) | ${mark(mr.bytesPerConn <= 1.3 * mw.bytesPerConn)} |`,
      `| idle memory ≤ 0.5× Socket.IO | ${mr.bytesPerConn} vs ${ms.bytesPerConn} B (${ratio(mr.bytesPerConn, ms.bytesPerConn)}) | ${mark(mr.bytesPerConn <= 0.5 * ms.bytesPerConn)} |`,
    );
  }
  lines.push(...yjsTargetRows(results));
  return `${lines.join('\n')}\n`;
}

/**
 * Which machine each scenario's saved run was taken on: one line per distinct machine (a VM can
 * move hosts between runs, and figures from different machines do not compare).
 */
function machineLines(
  sources: Record<string, string[]>,
  machines: Record<string, Record<string, unknown>>,
): string[] {
  const byMachine = new Map<string, string[]>();
  for (const [scenario, files] of Object.entries(sources)) {
    for (const file of files) {
      const { quick: _quick, ...rest } = machines[file] ?? {};
      const key = Object.entries(rest)
        .map(([k, v]) => `${k}: ${String(v)}`)
        .join(', ');
      const list = byMachine.get(key) ?? [];
      if (!list.includes(scenario)) list.push(scenario);
      byMachine.set(key, list);
    }
  }
  const lines = [...byMachine].map(([key, list]) => `- ${key} — ${list.join(', ')}`);
  return byMachine.size > 1
    ? [
        "Each scenario's figures come from its own saved run; those runs were on different machines, so compare systems within a scenario, not scenarios with each other:",
        '',
        ...lines,
      ]
    : lines;
}

export function writeReport(options: {
  benchRoot: string;
  machine: Record<string, unknown>;
  results: Results;
  quick: boolean;
  date: string;
  /** Saved result files each scenario's figures came from (`--report`), and their machines. */
  sources?: Record<string, string[]>;
  machines?: Record<string, Record<string, unknown>>;
}): void {
  const { benchRoot, machine, results, quick, date, sources, machines } = options;
  const { scenarios, invalid } = summaries(results);
  const summary = {
    machine,
    date,
    scenarios,
    invalid,
    ...(sources ? { sources, machines } : {}),
  };
  const resultsDir = join(benchRoot, 'results');
  if (quick) {
    writeFileSync(join(resultsDir, 'quick-latest.json'), `${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(summary, null, 2)}\n`);
  const fanout = results.fanout ?? {};
  const curves = Object.entries(fanout)
    .filter((entry): entry is [string, ScenarioResult] => isResult(entry[1]))
    .map(([system, result]) => ({
      system,
      points: ((result.details as { steps: StepResult[] }).steps ?? []).map((step) => ({
        x: step.offeredPerSec,
        y: step.p99Ms,
      })),
    }));
  if (curves.length) writeFileSync(join(resultsDir, 'fanout-latency.svg'), latencyPlot(curves));
  const notesFile = join(benchRoot, 'NOTES.md');
  const notes = existsSync(notesFile) ? readFileSync(notesFile, 'utf8') : '';
  const body = [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench\` on ${date}; do not edit by hand (notes come from \`bench/NOTES.md\`).`,
    '',
    '## Machine',
    '',
    ...(sources && machines
      ? machineLines(sources, machines)
      : Object.entries(machine).map(([key, value]) => `- ${key}: ${String(value)}`)),
    '',
    targets(results),
    '## Results',
    '',
    ...Object.entries(results).map(([scenario, bySystem]) =>
      table(scenario, bySystem, sources?.[scenario]?.map((f) => `bench/results/${f}`).join(', ')),
    ),
    curves.length
      ? '![p99 latency against offered load, fan-out](bench/results/fanout-latency.svg)\n'
      : '',
    invalid.length ? `Not reported (invalid or failed): ${invalid.join(', ')}\n` : '',
    notes,
  ].join('\n');
  writeFileSync(join(benchRoot, '..', 'BENCHMARKS.md'), body);
}
