import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { writeReport } from './report.js';
import {
  SCENARIOS,
  type ScenarioInput,
  type ScenarioName,
  type ScenarioResult,
} from './scenarios.js';
import { SYSTEMS, type SystemName } from './systems.js';

// `npm run bench [-- --quick] [--only fanout,cursors] [--systems roomkit,ws-plain]`:
// each scenario × system gets a fresh server pinned to core 0 and a generator pinned to core 1.

const here = dirname(fileURLToPath(import.meta.url));
const benchRoot = join(here, '..');
const resultsDir = join(benchRoot, 'results');

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const listArg = (flag: string): string[] | null => {
  const at = args.indexOf(flag);
  return at >= 0 && args[at + 1] ? args[at + 1]!.split(',') : null;
};
const scenarios = (listArg('--only') ?? [...SCENARIOS]) as ScenarioName[];
const systems = (listArg('--systems') ?? [...SYSTEMS]) as SystemName[];
const canPin = existsSync('/usr/bin/taskset') && cpus().length >= 2;

function pinned(
  core: number,
  script: string,
  scriptArgs: string[],
  nodeFlags: string[] = [],
): ChildProcess {
  const node = [process.execPath, ...nodeFlags, script, ...scriptArgs];
  const [cmd, ...rest] = canPin ? ['taskset', '-c', String(core), ...node] : node;
  return spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'inherit'] });
}

async function startPeer(
  system: SystemName,
): Promise<{ child: ChildProcess; port: number; statsPort: number }> {
  const child = pinned(
    0,
    join(here, 'peers', `${system}.js`),
    [],
    ['--expose-gc', '--max-old-space-size=8192'],
  );
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${system} did not start`)), 15_000);
    lines.on('line', (line) => {
      if (line.startsWith('READY ')) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.once('exit', (code) => reject(new Error(`${system} exited with ${code}`)));
  });
  const [, port, statsPort] = ready.split(' ');
  return { child, port: Number(port), statsPort: Number(statsPort) };
}

async function runGenerator(scenario: ScenarioName, input: ScenarioInput): Promise<ScenarioResult> {
  const child = pinned(
    1,
    join(here, 'generator.js'),
    [scenario, JSON.stringify(input)],
    ['--max-old-space-size=8192'],
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await new Promise((resolve) => child.once('exit', resolve));
  const last = output.trim().split('\n').at(-1) ?? '';
  const parsed = JSON.parse(last) as
    | { ok: true; result: ScenarioResult }
    | { ok: false; error: string };
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.result;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

const machine = {
  cores: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  pinned: canPin ? 'server on core 0, generator on core 1 (taskset)' : 'not pinned',
  quick,
};
const date = new Date().toISOString().slice(0, 10);
mkdirSync(resultsDir, { recursive: true });
const all: Record<string, Record<string, ScenarioResult | { error: string }>> = {};

// `--report`: rebuild latest.json and BENCHMARKS.md from today's saved full-run scenario files
// (after re-running one scenario with `--only`), without measuring anything.
if (args.includes('--report')) {
  for (const scenario of SCENARIOS) {
    const file = join(resultsDir, `${date}-${scenario}.json`);
    if (existsSync(file)) {
      all[scenario] = (
        JSON.parse(readFileSync(file, 'utf8')) as { results: (typeof all)[string] }
      ).results;
    }
  }
  writeReport({ benchRoot, machine, results: all, quick: false, date });
  process.stderr.write('bench: report rebuilt from saved results\n');
  process.exit(0);
}

for (const scenario of scenarios) {
  all[scenario] = {};
  for (const system of systems) {
    process.stderr.write(`bench: ${scenario} / ${system} ... `);
    const peer = await startPeer(system);
    try {
      const result = await runGenerator(scenario, {
        system,
        port: peer.port,
        statsPort: peer.statsPort,
        serverPid: peer.child.pid!,
        quick,
      });
      all[scenario][system] = result;
      const s = result.summary;
      process.stderr.write(
        `${result.valid ? '' : '[INVALID] '}${s.msgsPerSec} msg/s p99 ${s.p99Ms} ms loss ${s.loss}${s.bytesPerConn !== null ? ` ${s.bytesPerConn} B/conn` : ''}\n`,
      );
    } catch (error) {
      all[scenario][system] = { error: String(error) };
      process.stderr.write(`failed: ${String(error)}\n`);
    } finally {
      await stop(peer.child);
    }
  }
  const file = join(resultsDir, `${date}${quick ? '-quick' : ''}-${scenario}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ machine, scenario, results: all[scenario] }, null, 2)}\n`,
  );
}

// Only a full run (every scenario, every system, not --quick) replaces latest.json and BENCHMARKS.md.
const partial = quick || listArg('--only') !== null || listArg('--systems') !== null;
writeReport({ benchRoot, machine, results: all, quick: partial, date });
process.stderr.write(
  `bench: done${partial ? ' (partial run: latest.json and BENCHMARKS.md untouched)' : ''}\n`,
);
