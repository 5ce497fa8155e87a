import { parseArgs } from 'node:util';
import { readSpacesOptions, SPACES_OPTIONS, SpacesCliError } from './cli-spaces.js';
import { API_KEY_PATTERN, type ServerConfig } from './config.js';
import type { LogLevel } from './observability/logger.js';

/** One CLI option: its flag, its environment variable, what it sets, its default for the help text. */
interface OptionSpec {
  flag: string;
  env: string;
  kind: 'number' | 'string' | 'list';
  help: string;
  defaultText: string;
  /** The flag may be given more than once (its env var is then a comma-separated list). */
  multiple?: boolean;
}

export const OPTIONS: readonly OptionSpec[] = [
  {
    flag: 'port',
    env: 'ROOMKIT_PORT',
    kind: 'number',
    help: 'port to listen on (PORT also works)',
    defaultText: '1234',
  },
  {
    flag: 'host',
    env: 'ROOMKIT_HOST',
    kind: 'string',
    help: 'address to bind',
    defaultText: '127.0.0.1',
  },
  {
    flag: 'path',
    env: 'ROOMKIT_PATH',
    kind: 'string',
    help: 'WebSocket path prefix',
    defaultText: '/rooms',
  },
  {
    flag: 'allowed-origins',
    env: 'ROOMKIT_ALLOWED_ORIGINS',
    kind: 'list',
    help: 'comma-separated browser origins allowed to connect',
    defaultText: 'any',
  },
  {
    flag: 'max-connections',
    env: 'ROOMKIT_MAX_CONNECTIONS',
    kind: 'number',
    help: 'max connections per room (503 past it)',
    defaultText: 'unlimited',
  },
  {
    flag: 'cleanup-timeout',
    env: 'ROOMKIT_CLEANUP_TIMEOUT_MS',
    kind: 'number',
    help: 'ms an empty room is kept before it is destroyed',
    defaultText: '30000',
  },
  {
    flag: 'max-message-bytes',
    env: 'ROOMKIT_MAX_MESSAGE_BYTES',
    kind: 'number',
    help: 'largest accepted message',
    defaultText: '65536',
  },
  {
    flag: 'max-payload-bytes',
    env: 'ROOMKIT_MAX_PAYLOAD_BYTES',
    kind: 'number',
    help: 'hard frame cap; larger frames close the socket (1009)',
    defaultText: '1048576',
  },
  {
    flag: 'max-depth',
    env: 'ROOMKIT_MAX_DEPTH',
    kind: 'number',
    help: 'deepest nesting of a message',
    defaultText: '32',
  },
  {
    flag: 'max-rooms-per-connection',
    env: 'ROOMKIT_MAX_ROOMS_PER_CONNECTION',
    kind: 'number',
    help: 'rooms one socket may join',
    defaultText: '100',
  },
  {
    flag: 'max-state-keys',
    env: 'ROOMKIT_MAX_STATE_KEYS',
    kind: 'number',
    help: 'live-state keys per room',
    defaultText: '1000',
  },
  {
    flag: 'max-state-bytes',
    env: 'ROOMKIT_MAX_STATE_BYTES',
    kind: 'number',
    help: 'live-state size per room',
    defaultText: '1048576',
  },
  {
    flag: 'max-rooms',
    env: 'ROOMKIT_MAX_ROOMS',
    kind: 'number',
    help: 'rooms the server holds at once',
    defaultText: '100000',
  },
  {
    flag: 'max-metadata-bytes',
    env: 'ROOMKIT_MAX_METADATA_BYTES',
    kind: 'number',
    help: "size of one user's presence metadata",
    defaultText: '4096',
  },
  {
    flag: 'max-room-metadata-bytes',
    env: 'ROOMKIT_MAX_ROOM_METADATA_BYTES',
    kind: 'number',
    help: 'size of the room metadata a creating room:join may set',
    defaultText: '4096',
  },
  {
    flag: 'rate-limit',
    env: 'ROOMKIT_RATE_LIMIT',
    kind: 'number',
    help: 'messages per second per connection',
    defaultText: '200',
  },
  {
    flag: 'rate-burst',
    env: 'ROOMKIT_RATE_BURST',
    kind: 'number',
    help: 'rate-limit bucket size',
    defaultText: '400',
  },
  {
    flag: 'max-violations',
    env: 'ROOMKIT_MAX_VIOLATIONS',
    kind: 'number',
    help: 'dropped messages within 10 s before the socket is closed (4008)',
    defaultText: '200',
  },
  {
    flag: 'lossy-buffered-bytes',
    env: 'ROOMKIT_LOSSY_BUFFERED_BYTES',
    kind: 'number',
    help: 'send buffer past which cursors/presence are skipped',
    defaultText: '524288',
  },
  {
    flag: 'max-buffered-bytes',
    env: 'ROOMKIT_MAX_BUFFERED_BYTES',
    kind: 'number',
    help: 'send buffer past which the socket is closed (4009)',
    defaultText: '8388608',
  },
  {
    flag: 'max-components',
    env: 'ROOMKIT_MAX_COMPONENTS',
    kind: 'number',
    help: 'live components one socket may mount',
    defaultText: '50',
  },
  {
    flag: 'action-timeout',
    env: 'ROOMKIT_ACTION_TIMEOUT_MS',
    kind: 'number',
    help: "ms a live component's action has to settle",
    defaultText: '30000',
  },
  {
    flag: 'cursor-flush',
    env: 'ROOMKIT_CURSOR_FLUSH_MS',
    kind: 'number',
    help: 'cursor coalescing interval (ms)',
    defaultText: '25',
  },
  {
    flag: 'heartbeat-interval',
    env: 'ROOMKIT_HEARTBEAT_INTERVAL_MS',
    kind: 'number',
    help: 'client heartbeat interval (ms) told to clients',
    defaultText: '30000',
  },
  {
    flag: 'heartbeat-check',
    env: 'ROOMKIT_HEARTBEAT_CHECK_MS',
    kind: 'number',
    help: 'server heartbeat check interval (ms)',
    defaultText: '15000',
  },
  {
    flag: 'heartbeat-timeout',
    env: 'ROOMKIT_HEARTBEAT_TIMEOUT_MS',
    kind: 'number',
    help: 'silence (ms) before a user shows offline',
    defaultText: '45000',
  },
  {
    flag: 'db',
    env: 'ROOMKIT_DB',
    kind: 'string',
    help: 'store: a SQLite file, :memory:, a postgres:// URL (DATABASE_URL also works), or none',
    defaultText: './data/roomkit.db',
  },
  {
    flag: 'yjs-path',
    env: 'ROOMKIT_YJS_PATH',
    kind: 'string',
    help: 'y-websocket endpoint prefix, or off',
    defaultText: '/yjs',
  },
  {
    flag: 'max-update-bytes',
    env: 'ROOMKIT_MAX_UPDATE_BYTES',
    kind: 'number',
    help: 'largest Yjs update a client may send',
    defaultText: '1047552',
  },
  {
    flag: 'max-document-bytes',
    env: 'ROOMKIT_MAX_DOCUMENT_BYTES',
    kind: 'number',
    help: "largest a room's document may grow",
    defaultText: '33554432',
  },
  {
    flag: 'flush-debounce',
    env: 'ROOMKIT_FLUSH_DEBOUNCE_MS',
    kind: 'number',
    help: 'ms store writes wait for more updates to batch',
    defaultText: '20',
  },
  {
    flag: 'flush-max-wait',
    env: 'ROOMKIT_FLUSH_MAX_WAIT_MS',
    kind: 'number',
    help: 'longest ms an update waits for its store write',
    defaultText: '200',
  },
  {
    flag: 'api-key',
    env: 'ROOMKIT_API_KEYS',
    kind: 'list',
    help: 'API key for the HTTP API (/api); repeat for more (env: comma-separated)',
    defaultText: 'none: /api answers 401',
    multiple: true,
  },
  {
    flag: 'log-level',
    env: 'ROOMKIT_LOG_LEVEL',
    kind: 'string',
    help: 'debug | info | warn | error | silent',
    defaultText: 'info',
  },
];

export interface CliSettings {
  command: 'serve' | 'migrate' | 'help';
  /** Where documents are stored: a SQLite path, `:memory:`, a PostgreSQL URL, or null (none). */
  db: string | null;
  config: ServerConfig;
  port: number;
  host: string;
  logLevel: LogLevel;
}

export class CliError extends Error {}

const LOG_LEVELS = new Set(['debug', 'info', 'warn', 'error', 'silent']);

/** Options where 0 means something (port 0: any free port; cleanup 0: destroy empty rooms at once). */
const ZERO_ALLOWED = new Set(['port', 'cleanup-timeout', 'flush-debounce']);

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
  const options = Object.fromEntries([
    ...OPTIONS.map((o) => [o.flag, { type: 'string' as const, multiple: o.multiple === true }]),
    ...SPACES_OPTIONS.map((o) => [
      o.flag,
      { type: o.kind === 'flag' ? ('boolean' as const) : ('string' as const), multiple: false },
    ]),
  ]) as Record<string, { type: 'string' | 'boolean'; multiple: boolean }>;
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

  const value = (o: OptionSpec): string | undefined => {
    const fromFlag = parsed.values[o.flag];
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
  try {
    const spacesValue = (flag: string): string | undefined => {
      const fromFlag = parsed.values[flag];
      if (fromFlag === true) return 'on';
      if (typeof fromFlag === 'string') return fromFlag;
      return env[SPACES_OPTIONS.find((o) => o.flag === flag)!.env];
    };
    Object.assign(config, readSpacesOptions(spacesValue, db !== 'none'));
  } catch (error) {
    if (error instanceof SpacesCliError) throw new CliError(error.message);
    throw error;
  }
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
