import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { CliError, OPTIONS, parseCli } from '../src/cli-options.js';
import { SPACES_OPTIONS } from '../src/cli-spaces.js';
import { buildCompiled, repoRoot, runCli, type Served, serveCli } from './cli-process.js';
import { openUrl, upgradeStatus, waitUntil } from './helpers.js';

const bin = fileURLToPath(new URL('../bin/roomkit.js', import.meta.url));

beforeAll(async () => {
  // The bin runs the compiled dist/cli.js: build it so it is the code these tests are about.
  await buildCompiled();
}, 120_000);

/**
 * Runs the bin in the repository root to completion (killed after `timeoutMs`). Not tracked for
 * the after-test kill, so concurrent tests cannot cut each other's processes short.
 */
function run(argv: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 5000) {
  return runCli(argv, { script: bin, cwd: repoRoot, env, timeoutMs, track: false });
}

/** Starts `roomkit serve` on port 0 and waits for the log line that says which port it got. */
function serve(extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  // An in-memory store unless the test names one: no data files left in the repository.
  const db = extraArgs.includes('--db') ? [] : ['--db', ':memory:'];
  return serveCli([...db, ...extraArgs], { script: bin, cwd: repoRoot, env, timeoutMs: 5000 });
}

describe('roomkit serve', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'logs its port as JSON, and on %s closes clients with 1001 and exits 0',
    async (signal) => {
      const server = await serve();
      expect(server.port).toBeGreaterThan(0);
      const listening = server.logs.find((l) => typeof l.port === 'number')!;
      expect(listening).toMatchObject({ host: '127.0.0.1', level: 30 });
      expect(String(listening.msg)).toContain(`ws://127.0.0.1:${server.port}/rooms/`);

      const base = `ws://127.0.0.1:${server.port}/rooms`;
      const alice = await openUrl(`${base}/cli-room?userId=alice`);
      const bob = await openUrl(`${base}/other-room?userId=bob`);
      await alice.next('state:init');

      server.child.kill(signal);
      const [aliceClose, bobClose, exit] = await Promise.all([
        alice.closed,
        bob.closed,
        server.exited,
      ]);
      expect(aliceClose.code).toBe(1001);
      expect(bobClose.code).toBe(1001);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(server.logs.some((l) => l.signal === signal)).toBe(true);
    },
  );

  it('takes its settings from ROOMKIT_* environment variables', async () => {
    const server = await serve([], {
      ROOMKIT_MAX_CONNECTIONS: '1',
      ROOMKIT_PATH: '/ws',
      ROOMKIT_ALLOWED_ORIGINS: 'https://a.example.com, https://b.example.com',
    });
    const base = `ws://127.0.0.1:${server.port}`;
    await openUrl(`${base}/ws/full?userId=alice`);
    expect((await upgradeStatus(`${base}/ws/full?userId=bob`)).status).toBe(503);
    expect((await upgradeStatus(`${base}/rooms/full`)).status).toBe(404);
    expect((await upgradeStatus(`${base}/ws/o1`, { origin: 'https://evil.example' })).status).toBe(
      403,
    );
    expect((await upgradeStatus(`${base}/ws/o2`, { origin: 'https://b.example.com' })).status).toBe(
      101,
    );
  });

  it('serves the HTTP API with --api-key (or ROOMKIT_API_KEYS) and never logs a key', async () => {
    const key = 'cli-secret-0123456789abcdef';
    const server = await serve(['--api-key', key, '--log-level', 'debug'], {
      ROOMKIT_API_KEYS: 'ignored-env-key-0123456789',
    });
    const stats = `http://127.0.0.1:${server.port}/api/rooms/stats`;
    expect((await fetch(stats)).status).toBe(401);
    expect(
      (await fetch(stats, { headers: { 'x-api-key': 'ignored-env-key-0123456789' } })).status,
    ).toBe(403);
    expect((await fetch(stats, { headers: { authorization: `Bearer ${key}` } })).status).not.toBe(
      401,
    );
    await waitUntil(() => server.logs.some((l) => l.apiKeys === 1), 3000, 'the API log line');
    expect(server.logs.find((l) => l.apiKeys === 1)?.msg).toContain('/api');
    expect(JSON.stringify(server.logs)).not.toContain(key);

    const locked = await serve();
    await waitUntil(() => locked.logs.some((l) => l.apiKeys === 0), 3000, 'the API log line');
    expect(locked.logs.find((l) => l.apiKeys === 0)?.msg).toContain('answer 401');
    expect((await fetch(`http://127.0.0.1:${locked.port}/api/rooms/stats`)).status).toBe(401);
  });
});

// Each of these spawns a short-lived process; running them side by side keeps the file fast.
describe('roomkit --help', () => {
  it.concurrent('lists every option with its environment variable, and exits 0', async ({
    expect,
  }) => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    const expected = [
      ['port', 'ROOMKIT_PORT'],
      ['host', 'ROOMKIT_HOST'],
      ['path', 'ROOMKIT_PATH'],
      ['allowed-origins', 'ROOMKIT_ALLOWED_ORIGINS'],
      ['max-connections', 'ROOMKIT_MAX_CONNECTIONS'],
      ['cleanup-timeout', 'ROOMKIT_CLEANUP_TIMEOUT_MS'],
      ['log-level', 'ROOMKIT_LOG_LEVEL'],
      ...OPTIONS.map((o) => [o.flag, o.env]),
      ...SPACES_OPTIONS.map((o) => [o.flag, o.env]),
    ];
    for (const [flag, env] of expected) {
      expect(stdout).toMatch(new RegExp(`--${flag}\\s`));
      expect(stdout).toContain(env);
    }
    expect(stdout).toContain('--help');
  });
});

describe('bad command lines', () => {
  it.concurrent.for([
    { argv: ['serve', '--port', 'abc'], mentions: '--port' },
    { argv: ['serve', '--port', '0', '--bogus'], mentions: '--bogus' },
    { argv: ['frobnicate'], mentions: 'frobnicate' },
    { argv: ['serve', '--port', '0', '--max-connections', '0'], mentions: '--max-connections' },
    { argv: ['serve', '--port', '0', '--path', 'rooms'], mentions: '--path' },
    { argv: ['serve', '--port', '70000'], mentions: '--port' },
    { argv: ['serve', '--port', '0', '--api-key', 'has space'], mentions: '--api-key #1' },
  ])(
    '$argv exits 2 with a one-line message naming $mentions',
    async ({ argv, mentions }, { expect }) => {
      const { code, stdout, stderr } = await run(argv);
      expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
      expect(stderr).toMatch(/^roomkit: /);
      expect(stderr).toContain(mentions);
      expect(stderr.trim().split('\n')).toHaveLength(1);
    },
  );

  it.concurrent('a store that cannot be opened exits 1 without logging its password', async ({
    expect,
  }) => {
    const db = 'postgres://roomkit:hunter2@127.0.0.1:1/x?password=hunter3&sslmode=disable';
    const { code, stdout, stderr } = await run(['serve', '--port', '0', '--db', db], {}, 15_000);
    expect(code).toBe(1);
    expect(stdout + stderr).toContain('could not open the store');
    expect(stdout + stderr).not.toContain('hunter');
  });

  it.concurrent('a bad environment value exits 2 too', async ({ expect }) => {
    const { code, stderr } = await run(['serve', '--port', '0'], {
      ROOMKIT_MAX_CONNECTIONS: 'lots',
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/ROOMKIT_MAX_CONNECTIONS|--max-connections/);
  });
});

describe('parseCli', () => {
  it('defaults to serve on 127.0.0.1:1234, path /rooms, log level info', () => {
    for (const argv of [[], ['serve']]) {
      const settings = parseCli(argv, {});
      expect(settings).toMatchObject({
        command: 'serve',
        port: 1234,
        host: '127.0.0.1',
        logLevel: 'info',
        config: { path: '/rooms' },
      });
      expect(settings.config.allowedOrigins).toBeUndefined();
      expect(settings.config.roomConfig?.maxConnections).toBeUndefined();
    }
  });

  it.each([['--help'], ['-h'], ['help'], ['serve', '--help']])('%s asks for help', (...argv) => {
    expect(parseCli(argv, {}).command).toBe('help');
  });

  const settings = [
    { flag: 'port', raw: '4321', read: (s: ReturnType<typeof parseCli>) => s.port, want: 4321 },
    {
      flag: 'host',
      raw: '0.0.0.0',
      read: (s: ReturnType<typeof parseCli>) => s.host,
      want: '0.0.0.0',
    },
    {
      flag: 'path',
      raw: '/ws',
      read: (s: ReturnType<typeof parseCli>) => s.config.path,
      want: '/ws',
    },
    {
      flag: 'allowed-origins',
      raw: 'https://a.example, ,https://b.example ',
      read: (s: ReturnType<typeof parseCli>) => s.config.allowedOrigins,
      want: ['https://a.example', 'https://b.example'],
    },
    {
      flag: 'max-connections',
      raw: '5',
      read: (s: ReturnType<typeof parseCli>) => s.config.roomConfig?.maxConnections,
      want: 5,
    },
    {
      flag: 'cleanup-timeout',
      raw: '0',
      read: (s: ReturnType<typeof parseCli>) => s.config.roomConfig?.cleanupTimeoutMs,
      want: 0,
    },
    {
      flag: 'max-message-bytes',
      raw: '1000',
      read: (s: ReturnType<typeof parseCli>) => s.config.limits?.maxMessageBytes,
      want: 1000,
    },
    {
      flag: 'max-payload-bytes',
      raw: '2000',
      read: (s: ReturnType<typeof parseCli>) => s.config.limits?.maxPayloadBytes,
      want: 2000,
    },
    {
      flag: 'max-depth',
      raw: '8',
      read: (s: ReturnType<typeof parseCli>) => s.config.limits?.maxDepth,
      want: 8,
    },
    {
      flag: 'max-rooms-per-connection',
      raw: '3',
      read: (s: ReturnType<typeof parseCli>) => s.config.limits?.maxRoomsPerConnection,
      want: 3,
    },
    {
      flag: 'max-state-keys',
      raw: '9',
      read: (s: ReturnType<typeof parseCli>) => s.config.limits?.maxStateKeys,
      want: 9,
    },
    {
      flag: 'max-state-bytes',
      raw: '5000',
      read: (s: ReturnType<typeof parseCli>) => s.config.limits?.maxStateBytes,
      want: 5000,
    },
    {
      flag: 'max-rooms',
      raw: '12',
      read: (s: ReturnType<typeof parseCli>) => s.config.limits?.maxRooms,
      want: 12,
    },
    {
      flag: 'max-metadata-bytes',
      raw: '256',
      read: (s: ReturnType<typeof parseCli>) => s.config.limits?.maxPresenceMetadataBytes,
      want: 256,
    },
    {
      flag: 'max-room-metadata-bytes',
      raw: '512',
      read: (s: ReturnType<typeof parseCli>) => s.config.limits?.maxRoomMetadataBytes,
      want: 512,
    },
    {
      flag: 'rate-limit',
      raw: '50',
      read: (s: ReturnType<typeof parseCli>) => s.config.rateLimit?.messagesPerSecond,
      want: 50,
    },
    {
      flag: 'rate-burst',
      raw: '60',
      read: (s: ReturnType<typeof parseCli>) => s.config.rateLimit?.burst,
      want: 60,
    },
    {
      flag: 'max-violations',
      raw: '7',
      read: (s: ReturnType<typeof parseCli>) => s.config.rateLimit?.maxViolations,
      want: 7,
    },
    {
      flag: 'lossy-buffered-bytes',
      raw: '4096',
      read: (s: ReturnType<typeof parseCli>) => s.config.limits?.lossyBufferedBytes,
      want: 4096,
    },
    {
      flag: 'max-buffered-bytes',
      raw: '8192',
      read: (s: ReturnType<typeof parseCli>) => s.config.limits?.maxBufferedBytes,
      want: 8192,
    },
    {
      flag: 'cursor-flush',
      raw: '10',
      read: (s: ReturnType<typeof parseCli>) => s.config.cursorFlushMs,
      want: 10,
    },
    {
      flag: 'presence-flush',
      raw: '0',
      read: (s: ReturnType<typeof parseCli>) => s.config.presenceFlushMs,
      want: 0,
    },
    {
      flag: 'max-components',
      raw: '5',
      read: (s: ReturnType<typeof parseCli>) => s.config.limits?.maxComponentsPerConnection,
      want: 5,
    },
    {
      flag: 'action-timeout',
      raw: '1500',
      read: (s: ReturnType<typeof parseCli>) => s.config.limits?.actionTimeoutMs,
      want: 1500,
    },
    {
      flag: 'heartbeat-interval',
      raw: '1000',
      read: (s: ReturnType<typeof parseCli>) => s.config.heartbeat?.intervalMs,
      want: 1000,
    },
    {
      flag: 'heartbeat-check',
      raw: '500',
      read: (s: ReturnType<typeof parseCli>) => s.config.heartbeat?.checkIntervalMs,
      want: 500,
    },
    {
      flag: 'heartbeat-timeout',
      raw: '3000',
      read: (s: ReturnType<typeof parseCli>) => s.config.heartbeat?.timeoutMs,
      want: 3000,
    },
    {
      flag: 'log-level',
      raw: 'debug',
      read: (s: ReturnType<typeof parseCli>) => s.logLevel,
      want: 'debug',
    },
    {
      flag: 'db',
      raw: 'postgres://db.example/roomkit',
      read: (s: ReturnType<typeof parseCli>) => s.db,
      want: 'postgres://db.example/roomkit',
    },
    {
      flag: 'yjs-path',
      raw: '/collab',
      read: (s: ReturnType<typeof parseCli>) => s.config.yjsPath,
      want: '/collab',
    },
    {
      flag: 'max-update-bytes',
      raw: '2048',
      read: (s: ReturnType<typeof parseCli>) =>
        s.config.storage === false ? undefined : s.config.storage?.maxUpdateBytes,
      want: 2048,
    },
    {
      flag: 'max-document-bytes',
      raw: '4096',
      read: (s: ReturnType<typeof parseCli>) =>
        s.config.storage === false ? undefined : s.config.storage?.maxDocumentBytes,
      want: 4096,
    },
    {
      flag: 'flush-debounce',
      raw: '0',
      read: (s: ReturnType<typeof parseCli>) =>
        s.config.storage === false ? undefined : s.config.storage?.flushDebounceMs,
      want: 0,
    },
    {
      flag: 'flush-max-wait',
      raw: '50',
      read: (s: ReturnType<typeof parseCli>) =>
        s.config.storage === false ? undefined : s.config.storage?.flushMaxWaitMs,
      want: 50,
    },
    {
      flag: 'api-key',
      raw: 'key-0123456789abcdef',
      read: (s: ReturnType<typeof parseCli>) =>
        s.config.api === false ? undefined : s.config.api?.keys,
      want: ['key-0123456789abcdef'],
    },
  ];

  it('stores documents in ./data/roomkit.db by default; DATABASE_URL and --db none override it', () => {
    expect(parseCli(['serve'], {}).db).toBe('./data/roomkit.db');
    expect(parseCli(['serve'], { DATABASE_URL: 'postgres://h/db' }).db).toBe('postgres://h/db');
    expect(parseCli(['serve', '--db', 'x.db'], { DATABASE_URL: 'postgres://h/db' }).db).toBe(
      'x.db',
    );
    expect(parseCli(['serve', '--db', 'none'], {}).db).toBeNull();
    expect(parseCli(['migrate', '--db', 'x.db'], {}).command).toBe('migrate');
    expect(parseCli(['serve', '--yjs-path', 'off'], {}).config.yjsPath).toBe(false);
    expect(() => parseCli(['serve', '--yjs-path', 'yjs'], {})).toThrow(CliError);
  });

  it('--api-key repeats; ROOMKIT_API_KEYS is comma-separated; the flags win; none means no api config', () => {
    const keys = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
      const { api } = parseCli(['serve', ...argv], env).config;
      return api === false ? false : api?.keys;
    };
    expect(keys(['--api-key', 'k1', '--api-key', 'k2'])).toEqual(['k1', 'k2']);
    // A flag value is one key, commas and all.
    expect(keys(['--api-key', 'a,b'])).toEqual(['a,b']);
    expect(keys([], { ROOMKIT_API_KEYS: ' k1 , ,k2 ' })).toEqual(['k1', 'k2']);
    expect(keys(['--api-key', 'flag'], { ROOMKIT_API_KEYS: 'env' })).toEqual(['flag']);
    expect(keys([])).toBeUndefined();
    expect(keys([], { ROOMKIT_API_KEYS: ' , ' })).toBeUndefined();
    expect(() => parseCli(['serve', '--api-key', ' '], {})).toThrow(CliError);
    expect(() => parseCli(['serve', '--api-key'], {})).toThrow(CliError);
  });

  it('covers every option in these tests', () => {
    expect(settings.map((s) => s.flag).sort()).toEqual(OPTIONS.map((o) => o.flag).sort());
  });

  it.each(settings)('--$flag sets its setting, from the flag or its env var', (row) => {
    const option = OPTIONS.find((o) => o.flag === row.flag)!;
    expect(row.read(parseCli(['serve', `--${row.flag}`, row.raw], {}))).toEqual(row.want);
    expect(row.read(parseCli(['serve'], { [option.env]: row.raw }))).toEqual(row.want);
  });

  it('prefers a flag over its env var, and ROOMKIT_PORT over PORT', () => {
    expect(parseCli(['serve', '--port', '1'], { ROOMKIT_PORT: '2', PORT: '3' }).port).toBe(1);
    expect(parseCli(['serve'], { ROOMKIT_PORT: '2', PORT: '3' }).port).toBe(2);
    expect(parseCli(['serve'], { PORT: '3' }).port).toBe(3);
    expect(parseCli(['serve', '--host', 'h1'], { ROOMKIT_HOST: 'h2' }).host).toBe('h1');
    const both = parseCli(['serve', '--max-connections', '2'], { ROOMKIT_MAX_CONNECTIONS: '1' });
    expect(both.config.roomConfig?.maxConnections).toBe(2);
  });

  it.each([
    [['serve', '--port', 'abc']],
    [['serve', '--port', '']],
    [['serve', '--max-connections=-1']],
    [['serve', '--log-level', 'loud']],
    [['serve', '--unknown']],
    [['serve', '--port']],
    [['launch']],
  ])('%j throws CliError', (argv) => {
    expect(() => parseCli(argv, {})).toThrow(CliError);
  });

  it('rejects a bad value from the environment with CliError', () => {
    expect(() => parseCli(['serve'], { ROOMKIT_RATE_LIMIT: 'fast' })).toThrow(CliError);
    expect(() => parseCli(['serve'], { ROOMKIT_LOG_LEVEL: 'chatty' })).toThrow(CliError);
  });
});
