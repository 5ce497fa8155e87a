/** The `roomkit serve` options: flag, environment variable, kind, help and default. */

/** A command line that cannot be served: its message names the option (exit 2). */
export class CliError extends Error {}

/** One CLI option: its flag, its environment variable, what it sets, its default for the help text. */
export interface OptionSpec {
  flag: string;
  env: string;
  /** `flag`: a boolean switch (`--guest-auth`); its env var reads on/off. */
  kind: 'number' | 'string' | 'list' | 'flag';
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
    flag: 'presence-flush',
    env: 'ROOMKIT_PRESENCE_FLUSH_MS',
    kind: 'number',
    help: 'presence coalescing interval (ms); 0 = every event-loop turn',
    defaultText: '50',
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
