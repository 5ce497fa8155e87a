import { ALL_PEERS, ALL_SCENARIOS } from './registry.js';

/** `npm run bench` options, parsed without side effects (run.ts acts on them). */
export interface RunOptions {
  quick: boolean;
  report: boolean;
  only: string[] | null;
  systems: string[] | null;
  /** Directory for result files instead of bench/results (trial runs). */
  out: string | null;
  /** Big-room time cap in seconds. */
  capSeconds: number | null;
}

export type Parsed =
  | { kind: 'run'; options: RunOptions }
  | { kind: 'help' }
  | { kind: 'error'; message: string };

const FLAGS: ReadonlyArray<{ flag: string; value?: string; help: string }> = [
  { flag: '--help', help: 'print this help and exit (also -h); nothing is run or written' },
  { flag: '--quick', help: 'short steps and fewer connections: a smoke run, not figures to quote' },
  {
    flag: '--only',
    value: '<scenarios>',
    help: 'comma-separated scenarios to run (default: all; see below)',
  },
  {
    flag: '--systems',
    value: '<systems>',
    help: 'comma-separated servers to run each scenario against (default: all it supports)',
  },
  {
    flag: '--out',
    value: '<dir>',
    help: 'write result files there instead of bench/results (BENCHMARKS.md too, for a full run)',
  },
  {
    flag: '--cap',
    value: '<seconds>',
    help: 'time cap of a big-room fill (default 300 s for 1k, 600 s for 10k, 60 s quick)',
  },
  {
    flag: '--report',
    help: 'rebuild latest.json and BENCHMARKS.md from the saved runs; measures nothing',
  },
];

export function usage(): string {
  const width = Math.max(...FLAGS.map((f) => `${f.flag} ${f.value ?? ''}`.length));
  return [
    'usage: npm run bench -- [options]   (or: node bench/dist/run.js [options])',
    '',
    'Each scenario × system gets a fresh server pinned to core 0 and a load generator pinned to',
    'core 1. A partial run (--quick, --only or --systems) leaves latest.json and BENCHMARKS.md alone.',
    '',
    'options:',
    ...FLAGS.map((f) => `  ${`${f.flag} ${f.value ?? ''}`.padEnd(width)}  ${f.help}`),
    '',
    `scenarios: ${ALL_SCENARIOS.join(', ')}`,
    `systems: ${ALL_PEERS.join(', ')}`,
    '',
  ].join('\n');
}

function list(value: string, known: readonly string[], what: string): string[] | string {
  const items = value.split(',').filter((item) => item.length > 0);
  const unknown = items.filter((item) => !known.includes(item));
  if (items.length === 0) return `${what}: empty list`;
  return unknown.length ? `unknown ${what} ${unknown.join(', ')} (${known.join(', ')})` : items;
}

export function parseArgs(args: readonly string[]): Parsed {
  const options: RunOptions = {
    quick: false,
    report: false,
    only: null,
    systems: null,
    out: null,
    capSeconds: null,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    const spec = FLAGS.find((f) => f.flag === arg);
    if (!spec) return { kind: 'error', message: `unknown option ${arg}` };
    if (!spec.value) {
      if (arg === '--quick') options.quick = true;
      else options.report = true;
      continue;
    }
    const value = args[++i];
    if (value === undefined || value.startsWith('--'))
      return { kind: 'error', message: `${arg} needs a value ${spec.value}` };
    if (arg === '--only' || arg === '--systems') {
      const parsed =
        arg === '--only'
          ? list(value, ALL_SCENARIOS, 'scenario')
          : list(value, ALL_PEERS, 'system');
      if (typeof parsed === 'string') return { kind: 'error', message: parsed };
      if (arg === '--only') options.only = parsed;
      else options.systems = parsed;
    } else if (arg === '--out') options.out = value;
    else {
      const seconds = Number(value);
      if (!Number.isFinite(seconds) || seconds <= 0)
        return { kind: 'error', message: `--cap needs a positive number of seconds, not ${value}` };
      options.capSeconds = seconds;
    }
  }
  return { kind: 'run', options };
}
