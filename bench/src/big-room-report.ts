import type { ScenarioResult } from './scenarios.js';
import { isResult } from './targets.js';

/** BENCHMARKS.md table for the big-room scenarios. */

export function isBigRoomScenario(scenario: string): boolean {
  return scenario.startsWith('bigroom-');
}

interface BigRoomDetails {
  members: number;
  joined: number;
  finished: boolean;
  capSeconds: number;
  error: string | null;
  totalBytes: number;
  serverCpuSeconds: number;
  wallSeconds: number;
  generatorCpu: number;
  counts: { reached: number; exactMembers: number; reachedByBytes: number };
}

export function bigRoomTable(
  scenario: string,
  results: Record<string, ScenarioResult | { error: string }>,
  source?: string,
): string {
  const rows = Object.entries(results).map(([system, result]) => {
    if (!isResult(result)) return `| ${system} | failed: ${result.error} | | | | | | | |`;
    const d = result.details as BigRoomDetails;
    const status = d.finished
      ? 'filled'
      : d.error
        ? `failed: ${d.error}`
        : `did not finish within ${d.capSeconds} s`;
    const flag = result.valid ? '' : ' (invalid: generator saturated)';
    const counts = d.finished ? `${d.counts.reached} of ${d.members}` : '—';
    return `| ${system}${flag} | ${d.members} | ${d.joined} | ${d.wallSeconds} | ${d.serverCpuSeconds} | ${(d.totalBytes / 1e6).toFixed(1)} | ${counts} | ${Math.round(d.generatorCpu * 100)} % | ${status} |`;
  });
  const notes = Object.entries(results)
    .filter((entry): entry is [string, ScenarioResult] => isResult(entry[1]))
    .map(([system, r]) => `- ${system}: ${r.note}`);
  return [
    `### ${scenario}`,
    '',
    'Big room: members join one room one at a time (each waits for its own join to be acknowledged); figures over the whole fill, first join → last byte delivered',
    ...(source ? ['', `(run: ${source})`] : []),
    '',
    '| system | members | joined | wall s | server CPU s | delivered MB (all clients) | members whose count reached N | generator CPU | status |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows,
    '',
    ...notes,
    '',
  ].join('\n');
}
