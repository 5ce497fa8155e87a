import type { WebSocketConstructor } from './platform.js';
import type { RealtimeMessage } from './types.js';

export interface CloseInfo {
  code: number;
  reason: string;
  wasClean: boolean;
}

/** The reconnect the client is waiting for: which attempt, and when it will be made. */
export interface RetryInfo {
  attempt: number;
  delayMs: number;
  /** ms since epoch */
  at: number;
}

export interface WebSocketClientOptions {
  /** The server's WebSocket endpoint, e.g. `ws://localhost:1234/rooms`. */
  url: string;
  protocols?: string | string[];
  /** Reconnect after the socket drops (default `true`). `disconnect()` always stops it. */
  reconnect?: boolean;
  /** First reconnect delay in ms (default 1000); doubles per failed attempt, with jitter. */
  reconnectDelay?: number;
  /** Longest reconnect delay in ms (default 30000). */
  maxReconnectDelay?: number;
  /** Consecutive reconnect attempts before giving up (default `Infinity`). */
  reconnectAttempts?: number;
  /**
   * How often to send `heartbeat` in ms (default 30000; the server's own interval wins when it is
   * shorter). A connection that hears nothing for two intervals (and at least a second) is treated
   * as dead and replaced.
   */
  heartbeatInterval?: number;
  /** The connection is ready: the server's `welcome` arrived (first connect and every reconnect). */
  onOpen?: () => void;
  onClose?: (event: CloseInfo) => void;
  onError?: (error: Error) => void;
  onMessage?: (message: RealtimeMessage) => void;
  /**
   * Query parameters added to `url` on every (re)connect: `userId`, `displayName`, or a token for
   * the server's `auth`. A function is called before each attempt, so a token can be refreshed.
   */
  params?:
    | Record<string, string>
    | (() => Record<string, string> | Promise<Record<string, string>>);
  /** A WebSocket implementation to use instead of the platform's (or `ws` in Node). */
  WebSocket?: WebSocketConstructor;
  /** Messages `send()` keeps while disconnected, sent after the next connect (default 1000). */
  maxQueuedMessages?: number;
  /** How long an attempt may take to get the server's `welcome`, in ms (default 10000). */
  connectTimeout?: number;
  /**
   * The most frames sent per second (default 100, in bursts of up to twice that). The server
   * drops frames past its rate limit (200/s by default) and closes a socket that keeps trying, so
   * a reconnect's rejoins, resyncs and queued messages go out paced instead of all at once. Set it
   * below the server's `rateLimit.messagesPerSecond`.
   */
  maxMessagesPerSecond?: number;
}

/** The options with their defaults filled in. */
export type ResolvedOptions = Required<
  Pick<
    WebSocketClientOptions,
    | 'reconnect'
    | 'reconnectDelay'
    | 'maxReconnectDelay'
    | 'reconnectAttempts'
    | 'heartbeatInterval'
    | 'maxQueuedMessages'
    | 'connectTimeout'
    | 'maxMessagesPerSecond'
  >
> &
  WebSocketClientOptions;

/** Defaults, and a `TypeError` for a value that cannot work (checked now, not as a reconnect loop). */
export function resolveOptions(options: WebSocketClientOptions): ResolvedOptions {
  if (typeof options?.url !== 'string') throw new TypeError('WebSocketClient: url is required');
  // Checked now, so a typo fails at once instead of as an endless reconnect loop.
  const protocol = parseUrl(options.url)?.protocol;
  if (protocol !== 'ws:' && protocol !== 'wss:' && protocol !== 'http:' && protocol !== 'https:') {
    throw new TypeError(`WebSocketClient: url must be a ws: or wss: URL, got ${options.url}`);
  }
  const resolved: ResolvedOptions = {
    reconnect: true,
    reconnectDelay: 1000,
    maxReconnectDelay: 30_000,
    reconnectAttempts: Number.POSITIVE_INFINITY,
    heartbeatInterval: 30_000,
    maxQueuedMessages: 1000,
    connectTimeout: 10_000,
    maxMessagesPerSecond: 100,
    ...withoutUndefined(options),
    url: options.url,
  };
  for (const key of [
    'reconnectDelay',
    'maxReconnectDelay',
    'heartbeatInterval',
    'connectTimeout',
  ] as const) {
    if (!(resolved[key] > 0)) {
      throw new TypeError(`WebSocketClient: ${key} must be a positive number`);
    }
  }
  for (const key of ['reconnectAttempts', 'maxQueuedMessages'] as const) {
    if (!(resolved[key] >= 0)) {
      throw new TypeError(`WebSocketClient: ${key} must be a number >= 0`);
    }
  }
  return resolved;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** `url` as a URL, resolved against the page in a browser (so `/rooms` works there), or null. */
export function parseUrl(url: string): URL | null {
  try {
    return new URL(url, (globalThis as { location?: { href?: string } }).location?.href);
  } catch {
    return null;
  }
}

/**
 * The absolute ws(s) URL for the next attempt, with the current `params`, asking for presence
 * deltas (`capabilities=presence-delta`, added to any capabilities the app asked for).
 */
export async function connectUrl(options: ResolvedOptions): Promise<string> {
  const { params } = options;
  const url = parseUrl(options.url)!;
  const query = url.searchParams;
  url.protocol = url.protocol.replace('http', 'ws');
  url.hash = ''; // a WebSocket URL must not carry a fragment (`ws` throws on one)
  const values = typeof params === 'function' ? await params() : params;
  for (const [key, value] of Object.entries(values ?? {})) query.set(key, value);
  query.set('capabilities', [...query.getAll('capabilities'), 'presence-delta'].join(','));
  return url.toString();
}
