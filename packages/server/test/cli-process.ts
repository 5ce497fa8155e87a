import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterThisTest } from './test-databases.js';

/**
 * The `roomkit` CLI as a child process: run to completion, or `serve` until the test is done.
 * Tracked processes are SIGKILLed after the test, through the cleanup stack of test-databases.ts,
 * so a process dies before the scratch directory or schema it was started on is removed.
 */

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

export type LogLine = Record<string, unknown>;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Output extends Exit {
  stdout: string;
  stderr: string;
}

export interface Served {
  child: ChildProcess;
  port: number;
  logs: LogLine[];
  exited: Promise<Exit>;
}

export interface CliOptions {
  /** The script `node` runs: the package's bin/roomkit.js or the compiled dist/cli.js. */
  script: string;
  /** The process's working directory. */
  cwd: string;
  /** Added to the environment, which has none of the test machine's Roomkit settings. */
  env?: NodeJS.ProcessEnv;
}

/** `tsc -b [projects]` in the repository root: the CLI runs compiled code, so build it first. */
export async function buildCompiled(...projects: string[]): Promise<void> {
  await promisify(execFile)(process.execPath, [tsc, '-b', ...projects], { cwd: repoRoot });
}

/** The environment without any Roomkit or database settings of the machine running the tests. */
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('ROOMKIT_') && key !== 'PORT' && key !== 'DATABASE_URL') env[key] = value;
  }
  return { ...env, ...extra };
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Spawns the CLI; `track`: SIGKILLed (if still running) after the test. */
function launch(argv: string[], { script, cwd, env = {} }: CliOptions, track: boolean) {
  const child = spawn(process.execPath, [script, ...argv], {
    cwd,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (track) afterThisTest(() => killed(child));
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, exited };
}

/**
 * Runs the CLI to completion (SIGKILLed after `timeoutMs`) and collects its output. Untracked
 * (`track: false`), it is not killed after the test, so concurrent tests cannot cut each other's
 * processes short.
 */
export async function runCli(
  argv: string[],
  options: CliOptions & { timeoutMs: number; track: boolean },
): Promise<Output> {
  const { child, exited } = launch(argv, options, options.track);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
  const exit = await exited;
  clearTimeout(timer);
  return { ...exit, stdout, stderr };
}

/**
 * Starts `roomkit serve --port 0 --host 127.0.0.1 --log-level info ...args` (killed after the
 * test) and waits up to `timeoutMs` for the JSON log line that carries its port.
 */
export async function serveCli(
  args: string[],
  options: CliOptions & { timeoutMs: number },
): Promise<Served> {
  const argv = ['serve', '--port', '0', '--host', '127.0.0.1', '--log-level', 'info', ...args];
  const { child, exited } = launch(argv, options, true);
  const logs: LogLine[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no port log line; stderr: ${stderr}`)),
      options.timeoutMs,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let parsed: LogLine;
      try {
        parsed = JSON.parse(line) as LogLine;
      } catch {
        return; // not a log line
      }
      logs.push(parsed);
      if (typeof parsed.port === 'number') {
        clearTimeout(timer);
        resolve(parsed.port);
      }
    });
    void exited.then((exit) => {
      clearTimeout(timer);
      reject(new Error(`roomkit exited early (${JSON.stringify(exit)}); stderr: ${stderr}`));
    });
  });
  return { child, port, logs, exited };
}
