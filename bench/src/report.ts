import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bigRoomTable, isBigRoomScenario } from './big-room-report.js';
import type { StepResult } from './load.js';
import type { ScenarioResult, Summary } from './scenarios.js';
import { latencyPlot } from './svg.js';
import { isResult, type Results, ratio, targets } from './targets.js';
import { isYjsScenario, yjsTable } from './yjs-report.js';

const LABEL: Record<string, string> = {
  fanout:
    'Fan-out: 1 room × 1000 members, one publisher, 100-byte payloads (figures at the saturation point)',
  rooms:
    'Many rooms: 100 rooms × 10 members, every member publishing (figures at the saturation point; rates per member)',
  cursors: 'Cursors: 100 members moving at 30 Hz',
  idle: 'Idle connections: server memory per connection (JS heap after a forced GC, and RSS)',
  joins:
    'Join storm: connect + join rate (msgs/s column = joins/s; server CPU per join; storms where the generator passed 90 % of its core are not reported)',
};

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
  if (isBigRoomScenario(scenario)) return bigRoomTable(scenario, results, source);
  const roomkit = results.roomkit;
  const rows = Object.entries(results).map(([system, result]) => {
    if (!isResult(result)) return `| ${system} | failed: ${result.error} | | | | | | | | | |`;
    const s = result.summary;
    const base = isResult(roomkit) ? roomkit.summary : undefined;
    // Memory: JS heap where measured (steadier than RSS), RSS otherwise.
    const memory = (x: typeof s) => x.heapPerConn ?? x.bytesPerConn ?? 0;
    const versus =
      scenario === 'idle'
        ? base && memory(s)
          ? ratio(memory(base), memory(s))
          : '—'
        : base
          ? ratio(base.msgsPerSec, s.msgsPerSec)
          : '—';
    const flag = result.valid ? '' : ' (invalid: generator saturated)';
    return `| ${system}${flag} | ${s.msgsPerSec} | ${s.serverCpuUsPerOp ?? '—'} | ${s.heapPerConn ?? '—'} | ${s.p50Ms} | ${s.p99Ms} | ${s.p999Ms} | ${s.loss} | ${s.bytesPerConn ?? '—'} | ${serverCell(result)} | ${system === 'roomkit' ? '—' : versus} |`;
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
    `| system | msgs/s | server CPU µs / ${scenario === 'joins' ? 'join' : 'delivery'} | heap B/conn | p50 ms | p99 ms | p99.9 ms | loss | RSS B/conn | server CPU / loop lag p99 / RSS | Roomkit ÷ this (${scenario === 'idle' ? 'memory' : 'throughput'}) |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
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
  /** Where result files go: bench/results, or `--out`. */
  resultsDir: string;
  machine: Record<string, unknown>;
  results: Results;
  quick: boolean;
  date: string;
  /** Saved result files each scenario's figures came from (`--report`), and their machines. */
  sources?: Record<string, string[]>;
  machines?: Record<string, Record<string, unknown>>;
}): void {
  const { benchRoot, resultsDir, machine, results, quick, date, sources, machines } = options;
  const { scenarios, invalid } = summaries(results);
  const summary = {
    machine,
    date,
    scenarios,
    invalid,
    ...(sources ? { sources, machines } : {}),
  };
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
  // A full run into `--out` keeps its BENCHMARKS.md there too.
  const official = resultsDir === join(benchRoot, 'results');
  writeFileSync(
    official ? join(benchRoot, '..', 'BENCHMARKS.md') : join(resultsDir, 'BENCHMARKS.md'),
    body,
  );
}
