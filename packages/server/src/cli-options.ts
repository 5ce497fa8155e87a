import { parseArgs } from 'node:util';
import { CliError, OPTIONS, type OptionSpec } from './cli-option-table.js';
import { readSpacesOptions, SPACES_OPTIONS } from './cli-spaces.js';
import type { ServerConfig } from './config.js';
import { API_KEY_PATTERN } from './http/api/api-config.js';
import type { LogLevel } from './observability/logger.js';

export { CliError, OPTIONS };

export interface CliSettings {
  command: 'serve' | 'migrate' | 'help';
  /** Where documents are stored: a SQLite path, `:memory:`, a PostgreSQL URL, or null (none). */
  db: string | null;
  config: ServerConfig;
  port: number;
  host: string;
  logLevel: LogLevel;
}

const LOG_LEVELS = new Set(['debug', 'info', 'warn', 'error', 'silent']);

/** Options where 0 means something (port 0: any free port; cleanup 0: destroy empty rooms at once; presence flush 0: every turn). */
const ZERO_ALLOWED = new Set(['port', 'cleanup-timeout', 'flush-debounce', 'presence-flush']);

function toNumber(name: string, raw: string): number {
  const value = Number(raw);
  const zeroAllowed = ZERO_ALLOWED.has(name);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || (value === 0 && !zeroAllowed)) {
    const wanted = zeroAllowed ? 'a non-negative number' : 'a positive number';
    throw new CliError(`--${name} must be ${wanted}, got "${raw}"`);
  }
  if (name === 'port' && (!Number.isInteger(value) || value > 65535)) {
    throw new CliError(`--port must be an integer from 0 to 65535, got "${raw}"`);
  }
  return value;
}

export function helpText(): string {
  const rows = [...OPTIONS, ...SPACES_OPTIONS].map(
    (o) => `  --${o.flag.padEnd(26)} ${o.help} [${o.defaultText}]\n  ${''.padEnd(28)} env ${o.env}`,
  );
  return [
    'Usage: roomkit serve [options]',
    '       roomkit migrate [--db <file|postgres-url>]',
    '',
    'serve runs the Roomkit room server (migrating the store first); migrate only migrates.',
    'Every option can also be set by its environment variable; a flag wins over the environment.',
    '',
    'Options:',
    ...rows,
    `  --${'help'.padEnd(26)} show this help`,
    '',
  ].join('\n');
}

/**
 * The HTTP API keys: every `--api-key` flag, else the comma-separated `ROOMKIT_API_KEYS`. Error
 * messages never include a key.
 */
function readApiKeys(fromFlags: unknown, fromEnv: string | undefined): string[] {
  const flags = Array.isArray(fromFlags) ? (fromFlags as string[]) : [];
  const keys =
    flags.length > 0
      ? flags.map((key) => key.trim())
      : (fromEnv ?? '')
          .split(',')
          .map((key) => key.trim())
          .filter((key) => key !== '');
  keys.forEach((key, index) => {
    if (!API_KEY_PATTERN.test(key)) {
      const which = flags.length > 0 ? '--api-key' : 'ROOMKIT_API_KEYS entry';
      throw new CliError(
        `${which} #${index + 1} must be 1-4096 visible ASCII characters (no spaces)`,
      );
    }
  });
  return keys;
}

/** Turns argv and the environment into server settings. Throws `CliError` on bad input. */
export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv): CliSettings {
  const options = Object.fromEntries(
    [...OPTIONS, ...SPACES_OPTIONS].map((o) => [
      o.flag,
      {
        type: o.kind === 'flag' ? ('boolean' as const) : ('string' as const),
        multiple: o.multiple === true,
      },
    ]),
  ) as Record<string, { type: 'string' | 'boolean'; multiple: boolean }>;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  const command = parsed.positionals[0] ?? 'serve';
  if (parsed.values.help || command === 'help') {
    return { command: 'help', config: {}, db: null, port: 0, host: '', logLevel: 'info' };
  }
  if (command !== 'serve' && command !== 'migrate')
    throw new CliError(`unknown command "${command}"; try: roomkit serve --help`);

  // A flag wins over its environment variable; a switch given on the command line reads "on".
  const value = (o: OptionSpec): string | undefined => {
    const fromFlag = parsed.values[o.flag];
    if (fromFlag === true) return 'on';
    if (typeof fromFlag === 'string') return fromFlag;
    return (
      env[o.env] ?? (o.flag === 'port' ? env.PORT : o.flag === 'db' ? env.DATABASE_URL : undefined)
    );
  };
  const num = (flag: string): number | undefined => {
    const spec = OPTIONS.find((o) => o.flag === flag)!;
    const raw = value(spec);
    return raw === undefined ? undefined : toNumber(flag, raw);
  };
  const str = (flag: string): string | undefined => value(OPTIONS.find((o) => o.flag === flag)!);

  const logLevel = str('log-level') ?? 'info';
  if (!LOG_LEVELS.has(logLevel))
    throw new CliError(`--log-level must be one of ${[...LOG_LEVELS].join(', ')}`);
  const origins = str('allowed-origins');
  const path = str('path') ?? '/rooms';
  if (!path.startsWith('/')) throw new CliError(`--path must start with "/", got "${path}"`);
  const yjsPath = str('yjs-path') ?? '/yjs';
  if (yjsPath !== 'off' && !yjsPath.startsWith('/')) {
    throw new CliError(`--yjs-path must start with "/" or be "off", got "${yjsPath}"`);
  }
  const db = str('db') ?? './data/roomkit.db';
  if (db.trim() === '')
    throw new CliError('--db must name a file, :memory:, a postgres:// URL or none');
  const config: ServerConfig = {
    path,
    roomConfig: {
      cleanupTimeoutMs: num('cleanup-timeout'),
      maxConnections: num('max-connections'),
    },
    limits: {
      maxMessageBytes: num('max-message-bytes'),
      maxPayloadBytes: num('max-payload-bytes'),
      maxDepth: num('max-depth'),
      maxRoomsPerConnection: num('max-rooms-per-connection'),
      maxStateKeys: num('max-state-keys'),
      maxStateBytes: num('max-state-bytes'),
      maxRooms: num('max-rooms'),
      maxPresenceMetadataBytes: num('max-metadata-bytes'),
      maxRoomMetadataBytes: num('max-room-metadata-bytes'),
      lossyBufferedBytes: num('lossy-buffered-bytes'),
      maxBufferedBytes: num('max-buffered-bytes'),
      maxComponentsPerConnection: num('max-components'),
      actionTimeoutMs: num('action-timeout'),
    },
    rateLimit: {
      messagesPerSecond: num('rate-limit'),
      burst: num('rate-burst'),
      maxViolations: num('max-violations'),
    },
    cursorFlushMs: num('cursor-flush'),
    presenceFlushMs: num('presence-flush'),
    yjsPath: yjsPath === 'off' ? false : yjsPath,
    storage: {
      maxUpdateBytes: num('max-update-bytes'),
      maxDocumentBytes: num('max-document-bytes'),
      flushDebounceMs: num('flush-debounce'),
      flushMaxWaitMs: num('flush-max-wait'),
    },
    heartbeat: {
      intervalMs: num('heartbeat-interval'),
      checkIntervalMs: num('heartbeat-check'),
      timeoutMs: num('heartbeat-timeout'),
    },
  };
  const spacesValue = (flag: string) => value(SPACES_OPTIONS.find((o) => o.flag === flag)!);
  Object.assign(config, readSpacesOptions(spacesValue, db !== 'none'));
  const apiKeys = readApiKeys(parsed.values['api-key'], env.ROOMKIT_API_KEYS);
  if (apiKeys.length > 0) config.api = { keys: apiKeys };
  if (origins !== undefined) {
    config.allowedOrigins = origins
      .split(',')
      .map((o) => o.trim())
      .filter((o) => o !== '');
  }
  return {
    command,
    db: db === 'none' ? null : db,
    config,
    port: num('port') ?? 1234,
    host: str('host') ?? '127.0.0.1',
    logLevel: logLevel as LogLevel,
  };
}
