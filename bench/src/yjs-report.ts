import type { StepResult } from './load.js';
import type { ScenarioResult } from './scenarios.js';
import { YJS_SCENARIOS } from './yjs-scenarios.js';

/** BENCHMARKS.md tables and targets for the Yjs scenarios (issue 4). */

type BySystem = Record<string, ScenarioResult | { error: string }>;
type Results = Record<string, BySystem>;

export function isYjsScenario(scenario: string): boolean {
  return (YJS_SCENARIOS as readonly string[]).includes(scenario);
}

function isResult(value: ScenarioResult | { error: string } | undefined): value is ScenarioResult {
  return value !== undefined && 'summary' in value;
}

const LABEL: Record<string, string> = {
  'yjs-editors-10':
    'Yjs: 10 editors on one document, each typing one character per update (figures at the saturation point; updates/s = updates delivered to the other editors)',
  'yjs-editors-100':
    'Yjs: 100 editors on one document, each typing one character per update (figures at the saturation point; updates/s = updates delivered to the other editors)',
  'yjs-sync': 'Yjs: initial sync of a 1 MB document by a fresh client (connect → document applied)',
  'yjs-reconnect':
    'Yjs: reconnect of a client that missed 1,000 updates to the 1 MB document (connect → all applied)',
};

interface Details {
  steps?: StepResult[];
  arrivedP50Ms?: number;
  serverCpuMsPerRep?: number;
  generatorCpu?: number;
  reps?: number;
}

function details(result: ScenarioResult): Details {
  return result.details as Details;
}

function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(2)}×` : '—';
}

function reportedStep(result: ScenarioResult): StepResult | undefined {
  return details(result).steps?.find((s) => s.msgsPerSec === result.summary.msgsPerSec);
}

export function yjsTable(scenario: string, results: BySystem, source?: string): string {
  const roomkit = results.roomkit;
  const editing = scenario.startsWith('yjs-editors');
  const header = editing
    ? [
        '| system | updates/s | server CPU µs / delivery | p50 ms | p99 ms | p99.9 ms | loss | server CPU / loop lag p99 / RSS | generator CPU | Roomkit ÷ this (throughput) |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ]
    : [
        '| system | p50 ms | p99 ms | slowest ms | data arrived p50 ms | server CPU per client | generator CPU | this ÷ Roomkit (p50 time) |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ];
  const rows = Object.entries(results).map(([system, result]) => {
    if (!isResult(result)) return `| ${system} | failed: ${result.error} |`;
    const s = result.summary;
    const flag = result.valid ? '' : ' (invalid: generator saturated)';
    const base = isResult(roomkit) ? roomkit.summary : undefined;
    if (editing) {
      const step = reportedStep(result);
      const server = step
        ? `${Math.round(step.serverCpu * 100)} % / ${step.serverLoopLagP99Ms} ms / ${Math.round(step.serverRssBytes / 2 ** 20)} MiB`
        : '—';
      const generator = step ? `${Math.round(step.generatorCpu * 100)} %` : '—';
      const versus = system === 'roomkit' || !base ? '—' : ratio(base.msgsPerSec, s.msgsPerSec);
      return `| ${system}${flag} | ${s.msgsPerSec} | ${step?.serverCpuUsPerDelivery ?? '—'} | ${s.p50Ms} | ${s.p99Ms} | ${s.p999Ms} | ${s.loss} | ${server} | ${generator} | ${versus} |`;
    }
    const d = details(result);
    const versus = system === 'roomkit' || !base ? '—' : ratio(s.p50Ms, base.p50Ms);
    return `| ${system}${flag} | ${s.p50Ms} | ${s.p99Ms} | ${s.p999Ms} | ${d.arrivedP50Ms ?? '—'} | ${d.serverCpuMsPerRep ?? '—'} ms | ${Math.round((d.generatorCpu ?? 0) * 100)} % | ${versus} |`;
  });
  const notes = Object.entries(results)
    .filter((entry): entry is [string, ScenarioResult] => isResult(entry[1]))
    .map(
      ([system, r]) =>
        `- ${system}: ${r.note}${r.otherCpu !== undefined ? `; other processes on the machine used ${r.otherCpu} cores meanwhile` : ''}`,
    );
  return [
    `### ${scenario}`,
    '',
    LABEL[scenario] ?? '',
    ...(source ? ['', `(run: ${source})`] : []),
    '',
    ...header,
    ...rows,
    '',
    ...notes,
    '',
  ].join('\n');
}

const mark = (ok: boolean) => (ok ? 'met' : 'missed');

/**
 * "Delivered updates/s ≥ 1.5× Hocuspocus at equal or better p99": Hocuspocus's figures at its
 * saturation point against the most Roomkit delivered in a passing step whose p99 was no worse.
 */
function editingTarget(results: Results, scenario: string, editors: number): string | null {
  const rk = results[scenario]?.roomkit;
  const hp = results[scenario]?.hocuspocus;
  if (!isResult(rk) || !isResult(hp) || !rk.valid || !hp.valid) return null;
  const what = `${editors} editors: delivered updates/s ≥ 1.5× Hocuspocus at equal or better p99`;
  const h = hp.summary;
  if (h.msgsPerSec === 0) return `| ${what} | Hocuspocus did not pass its lowest rate step | n/a |`;
  const passing = (details(rk).steps ?? []).filter(
    (s) => s.loss === 0 && !s.generatorSaturated && s.p99Ms <= h.p99Ms,
  );
  const best = passing.reduce<StepResult | undefined>(
    (top, s) => (top && top.msgsPerSec >= s.msgsPerSec ? top : s),
    undefined,
  );
  const r = best?.msgsPerSec ?? 0;
  const shown = best
    ? `Roomkit ${r} at p99 ${best.p99Ms} ms vs Hocuspocus ${h.msgsPerSec} at p99 ${h.p99Ms} ms (${ratio(r, h.msgsPerSec)})`
    : `Roomkit had no step with p99 ≤ Hocuspocus's ${h.p99Ms} ms; Hocuspocus ${h.msgsPerSec}`;
  return `| ${what} | ${shown} | ${mark(r >= 1.5 * h.msgsPerSec)} |`;
}

function timeTarget(results: Results, scenario: string, what: string): string | null {
  const rk = results[scenario]?.roomkit;
  const hp = results[scenario]?.hocuspocus;
  if (!isResult(rk) || !isResult(hp)) return null;
  const [r, h] = [rk.summary, hp.summary];
  return `| ${what} no slower than Hocuspocus (p50 and p99) | Roomkit ${r.p50Ms} / ${r.p99Ms} ms, Hocuspocus ${h.p50Ms} / ${h.p99Ms} ms | ${mark(r.p50Ms <= h.p50Ms && r.p99Ms <= h.p99Ms)} |`;
}

/** Target rows for the Yjs scenarios present in `results`. */
export function yjsTargetRows(results: Results): string[] {
  return [
    editingTarget(results, 'yjs-editors-10', 10),
    editingTarget(results, 'yjs-editors-100', 100),
    timeTarget(results, 'yjs-sync', 'initial sync of 1 MB'),
    timeTarget(results, 'yjs-reconnect', 'reconnect after 1,000 missed updates'),
  ].filter((row): row is string => row !== null);
}
