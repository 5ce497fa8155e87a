import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs, usage } from './cli-args.js';
import { machineBusySeconds, processCpuSeconds } from './measure.js';
import { ALL_SCENARIOS, type AnyScenario, type PeerName, systemsFor } from './registry.js';
import { writeReport } from './report.js';
import type { ScenarioInput, ScenarioResult } from './scenarios.js';

// `npm run bench -- --help` for the options. Each scenario × system gets a fresh server pinned
// to core 0 and a generator pinned to core 1; each scenario runs against its own set of servers
// (registry.ts), which `--systems` narrows.

const here = dirname(fileURLToPath(import.meta.url));
const benchRoot = join(here, '..');
const parsed = parseArgs(process.argv.slice(2));
if (parsed.kind === 'help') {
  process.stdout.write(usage());
  process.exit(0);
}
if (parsed.kind === 'error') {
  process.stderr.write(`bench: ${parsed.message}\n\n${usage()}`);
  process.exit(2);
}
const options = parsed.options;
const resultsDir = options.out ? resolve(options.out) : join(benchRoot, 'results');
const quick = options.quick;
const scenarios = (options.only ?? [...ALL_SCENARIOS]) as AnyScenario[];
const onlySystems = options.systems;
const canPin = existsSync('/usr/bin/taskset') && cpus().length >= 2;
/**
 * The big room holds 10,000 sockets in each process: servers and generators get the hard limit
 * of open files as their soft limit (through prlimit) when it is higher.
 */
const raiseFiles = existsSync('/usr/bin/prlimit') ? openFilesRaise() : [];

function openFilesRaise(): string[] {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const [soft, hard] = (line?.match(/\d+|unlimited/g) ?? []).map((v) =>
    v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v),
  );
  if (soft === undefined || hard === undefined || soft >= hard || !Number.isFinite(hard)) return [];
  return ['prlimit', `--nofile=${hard}:${hard}`];
}

function pinned(
  core: number,
  script: string,
  scriptArgs: string[],
  nodeFlags: string[] = [],
): ChildProcess {
  const node = [process.execPath, ...nodeFlags, script, ...scriptArgs];
  const [cmd, ...rest] = [
    ...raiseFiles,
    ...(canPin ? ['taskset', '-c', String(core)] : []),
    ...node,
  ];
  return spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'inherit'] });
}

function peerFlags(): string[] {
  return (process.env.BENCH_PEER_FLAGS ?? '').split(' ').filter((flag) => flag !== '');
}

async function startPeer(
  system: PeerName,
): Promise<{ child: ChildProcess; port: number; statsPort: number }> {
  const child = pinned(
    0,
    join(here, 'peers', `${system}.js`),
    [],
    // BENCH_PEER_FLAGS adds node flags to the server (e.g. `--cpu-prof` to profile it).
    ['--expose-gc', '--max-old-space-size=8192', ...peerFlags()],
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

async function runGenerator(
  scenario: AnyScenario,
  input: ScenarioInput<PeerName>,
): Promise<ScenarioResult> {
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
  const busy0 = machineBusySeconds();
  const server0 = processCpuSeconds(input.serverPid);
  const wall0 = performance.now();
  await new Promise((resolve) => child.once('exit', resolve));
  const busy = machineBusySeconds() - busy0;
  const server = processCpuSeconds(input.serverPid) - server0;
  const wall = (performance.now() - wall0) / 1000;
  const last = output.trim().split('\n').at(-1) ?? '';
  const parsed = JSON.parse(last) as
    | { ok: true; result: ScenarioResult; cpuSeconds: number }
    | { ok: false; error: string };
  if (!parsed.ok) throw new Error(parsed.error);
  const other = Math.max(0, busy - server - parsed.cpuSeconds) / wall;
  return { ...parsed.result, otherCpu: Math.round(other * 100) / 100 };
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

// `--report`: rebuild latest.json and BENCHMARKS.md from the saved full-run scenario files
// (after re-running some scenarios with `--only`), without measuring anything. Each system's
// figures come from the newest file of that scenario that has them.
if (options.report) {
  const sources: Record<string, string[]> = {};
  const machines: Record<string, Record<string, unknown>> = {};
  for (const scenario of ALL_SCENARIOS) {
    // `<date>-<scenario>.json`, or `<date>T<time>-<scenario>.json` for a later run the same day
    // (which sorts after it).
    const pattern = new RegExp(`^\\d{4}-\\d{2}-\\d{2}(T\\d{6})?-${scenario}\\.json$`);
    const files = readdirSync(resultsDir)
      .filter((name) => pattern.test(name))
      .sort()
      .reverse();
    for (const name of files) {
      const saved = JSON.parse(readFileSync(join(resultsDir, name), 'utf8')) as {
        machine: Record<string, unknown>;
        results: (typeof all)[string];
      };
      for (const [system, result] of Object.entries(saved.results)) {
        all[scenario] ??= {};
        if (all[scenario][system] !== undefined) continue;
        all[scenario][system] = result;
        sources[scenario] = [...new Set([...(sources[scenario] ?? []), name])];
        machines[name] = saved.machine;
      }
    }
  }
  writeReport({
    benchRoot,
    resultsDir,
    machine,
    results: all,
    quick: false,
    date,
    sources,
    machines,
  });
  process.stderr.write('bench: report rebuilt from saved results\n');
  process.exit(0);
}

for (const scenario of scenarios) {
  all[scenario] = {};
  const systems = systemsFor(scenario).filter((s) => !onlySystems || onlySystems.includes(s));
  for (const system of systems) {
    process.stderr.write(`bench: ${scenario} / ${system} ... `);
    const began = performance.now();
    const peer = await startPeer(system);
    try {
      const result = await runGenerator(scenario, {
        system,
        port: peer.port,
        statsPort: peer.statsPort,
        serverPid: peer.child.pid!,
        quick,
        ...(options.capSeconds !== null ? { capSeconds: options.capSeconds } : {}),
      });
      all[scenario][system] = result;
      const s = result.summary;
      process.stderr.write(
        `${result.valid ? '' : '[INVALID] '}${s.msgsPerSec} msg/s p50 ${s.p50Ms} ms p99 ${s.p99Ms} ms loss ${s.loss}${s.bytesPerConn !== null ? ` ${s.bytesPerConn} B/conn` : ''} (other processes: ${result.otherCpu} cores; ${((performance.now() - began) / 1000).toFixed(1)} s)\n`,
      );
    } catch (error) {
      all[scenario][system] = { error: String(error) };
      process.stderr.write(`failed: ${String(error)}\n`);
    } finally {
      await stop(peer.child);
    }
  }
  // Never overwrites a saved run: a second run of the day gets the time in its name.
  const name = (stamp: string) =>
    join(resultsDir, `${stamp}${quick ? '-quick' : ''}-${scenario}.json`);
  const file = existsSync(name(date))
    ? name(`${date}T${new Date().toISOString().slice(11, 19).replaceAll(':', '')}`)
    : name(date);
  writeFileSync(
    file,
    `${JSON.stringify({ machine, scenario, results: all[scenario] }, null, 2)}\n`,
  );
}

// Only a full run (every scenario, every system, not --quick) replaces latest.json and BENCHMARKS.md.
const partial = quick || options.only !== null || onlySystems !== null;
writeReport({ benchRoot, resultsDir, machine, results: all, quick: partial, date });
process.stderr.write(
  `bench: done${partial ? ` (partial run: latest.json and BENCHMARKS.md untouched${quick ? '' : '; `npm run bench -- --report` merges the newest saved run of each scenario'})` : ''}\n`,
);
