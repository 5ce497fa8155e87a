import type { IncomingMessage } from 'node:http';
import {
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_ROOM_METADATA_BYTES,
  type PresenceUser,
} from '@roomkit/protocol';
import type { JwtConfig } from './auth/jwt.js';
import type { Bus } from './bus/bus.js';
import { count, nonNegative, positive } from './config-values.js';
import type { Extension } from './extensions/extension.js';
import { type ApiConfig, type ResolvedApiConfig, resolveApi } from './http/api/api-config.js';
import type { LiveComponentClass } from './live/component-registry.js';
import type { Logger } from './observability/logger.js';
import {
  type ResolvedSpacesConfig,
  resolveSpaces,
  type SpacesConfig,
} from './spaces/spaces-config.js';
import type { Store } from './store/store.js';

/** What an `AuthHandler` returns for an accepted connection. */
export interface AuthResult {
  userId: string;
  displayName: string;
  avatarUrl?: string;
  metadata?: Record<string, unknown>;
  /** The user may read every room's document but not change it (`read_only` on updates). */
  readOnly?: boolean;
}

/** `authorizeRoom`'s answer: allowed, refused, or allowed to read the room's document only. */
export type RoomAccess = boolean | 'read-only';

export interface AuthHandler {
  /** Return the user for this upgrade request, or `null` (or throw) to reject it with 401. */
  authenticate(req: IncomingMessage): Promise<AuthResult | null> | AuthResult | null;
  /**
   * Optional per-room check, run for the path room at upgrade (false → 403) and for every
   * `room:join` (false → `forbidden`). `'read-only'` admits the user but refuses its document
   * updates in that room. Without it, an authenticated user may join any room.
   */
  authorizeRoom?(roomId: string, user: AuthResult): RoomAccess | Promise<RoomAccess>;
}

export interface RoomConfig {
  /** Delay before an empty room is destroyed. A rejoin within it keeps the room's state. Default 30000. */
  cleanupTimeoutMs?: number;
  /** Max connections per room: upgrades past it get 503, `room:join` gets `room_full`. Default unlimited. */
  maxConnections?: number;
}

/** A CRDT update as it travels between client, server and store (a Yjs update). */
export type StorageOp = Uint8Array;
/** A serialized CRDT document snapshot (a Yjs state update). */
export type SerializedCrdt = Uint8Array;

export type OnJoinHandler = (roomId: string, user: PresenceUser) => void | Promise<void>;
export type OnLeaveHandler = (roomId: string, user: PresenceUser) => void | Promise<void>;
/**
 * Called for every application message and every client `broadcast` before it is relayed, with
 * the message minus `ref`. Fields it adds to an application message are relayed; of a `broadcast`,
 * only a changed `payload` is.
 */
export type OnMessageHandler = (
  roomId: string,
  senderId: string,
  message: Record<string, unknown>,
) => void | Promise<void>;
export type OnStorageChangeHandler = (roomId: string, ops: StorageOp[]) => void | Promise<void>;
export type InitialStorageHandler = (roomId: string) => Promise<SerializedCrdt | null>;

export interface HeartbeatConfig {
  /** How often clients should send `heartbeat` (told to them in `welcome`). Default 30000. */
  intervalMs?: number;
  /** How often the server checks for silent connections. Default 15000. */
  checkIntervalMs?: number;
  /** Silence after which a connection is shown offline (and, if it also stops answering pings, closed). Default 45000. */
  timeoutMs?: number;
}

export interface RateLimitConfig {
  /** Sustained messages per second per connection. Default 200. */
  messagesPerSecond?: number;
  /** Bucket size: how many messages may arrive at once. Default 400. */
  burst?: number;
  /** Dropped messages within 10 s after which the connection is closed with 4008. Default 200. */
  maxViolations?: number;
}

export interface LimitsConfig {
  /** Largest accepted text frame; larger ones get `message_too_large`. Default 65536. */
  maxMessageBytes?: number;
  /** Hard frame cap enforced by the WebSocket layer; past it the socket closes with 1009. Default 1 MiB. */
  maxPayloadBytes?: number;
  /** Deepest nesting of objects/arrays in a message. Default 32. */
  maxDepth?: number;
  /** Rooms one connection may be in at once. Default 100. */
  maxRoomsPerConnection?: number;
  /** Live-state keys per room. Default 1000. */
  maxStateKeys?: number;
  /** Live-state size per room (encoded bytes of its entries); past it writes get `state_limit`. Default 1 MiB. */
  maxStateBytes?: number;
  /** Rooms the server holds at once (empty rooms in their grace period count); past it a join that would create one gets `room_limit` (503 on upgrade). Default 100000. */
  maxRooms?: number;
  /** Size of one user's presence `metadata` (JSON bytes); larger gets `metadata_too_large`. Default 4096. */
  maxPresenceMetadataBytes?: number;
  /**
   * Size of the room `metadata` a `room:join` that creates the room may set (JSON bytes); larger
   * gets `metadata_too_large`. The server API (`createRoom`, `Room.setMetadata`) is not limited.
   * Default 4096.
   */
  maxRoomMetadataBytes?: number;
  /** Send buffer past which a connection stops getting cursor and presence traffic. Default 512 KiB. */
  lossyBufferedBytes?: number;
  /** Send buffer past which a connection is closed with 4009. Default 8 MiB. */
  maxBufferedBytes?: number;
  /** Time allowed for `auth.authenticate` (401 past it) and `auth.authorizeRoom` (refusal past it). Default 10000. */
  authTimeoutMs?: number;
  /** Live components one connection may have mounted at once; past it `live:mount` gets `too_many_components`. Default 50. */
  maxComponentsPerConnection?: number;
  /** Time a live component's action (or async `onMount`) has to settle; past it the caller gets `action_timeout`. Default 30000. */
  actionTimeoutMs?: number;
}

export interface StorageConfig {
  /**
   * Largest Yjs update a client may send (decoded bytes); larger gets `update_too_large`.
   * Default 1023 KiB (a binary frame of it and its header fits the default 1 MiB frame cap).
   */
  maxUpdateBytes?: number;
  /** Largest a room's document may grow (stored bytes); past it updates get `document_too_large`. Default 32 MiB. */
  maxDocumentBytes?: number;
  /** Store writes wait this long for more updates to batch with. Default 20. */
  flushDebounceMs?: number;
  /** ...but an update never waits longer than this for its write. Default 200. */
  flushMaxWaitMs?: number;
  /** Updates appended after a room's snapshot before it is compacted into a new one. Default 500. */
  compactAfterUpdates?: number;
  /** First retry delay after a failed store write (doubles per failure). Default 100. */
  retryInitialDelayMs?: number;
  /** Longest retry delay. Default 10000. */
  retryMaxDelayMs?: number;
  /** How long `stop()` keeps retrying a failing store before giving up (logged). Default 10000. */
  stopTimeoutMs?: number;
}

export interface ServerConfig {
  port?: number;
  /** Bind address used by `start()`. Default: all interfaces (Node's default). */
  host?: string;
  /** URL path prefix; clients connect to `{path}/{roomId}`, or to `{path}` to join rooms by message. Default `/rooms`. */
  path?: string;
  auth?: AuthHandler;
  roomConfig?: RoomConfig;
  onMessage?: OnMessageHandler;
  onJoin?: OnJoinHandler;
  onLeave?: OnLeaveHandler;
  onStorageChange?: OnStorageChangeHandler;
  initialStorage?: InitialStorageHandler;
  /** Browser origins allowed to connect (exact match, e.g. `https://app.example.com`). Unset: any. */
  allowedOrigins?: string[];
  heartbeat?: HeartbeatConfig;
  rateLimit?: RateLimitConfig;
  limits?: LimitsConfig;
  /** Cursor updates are coalesced per user and flushed at this interval. Default 25. */
  cursorFlushMs?: number;
  /**
   * Presence changes (joins, leaves, updates) are told to members at most this often per room,
   * each flush carrying every change since the last: a join storm costs one message per member
   * per flush, not per join. Default 50 (a presence tick, 20 per second); 0 flushes at the end
   * of each event-loop turn.
   */
  presenceFlushMs?: number;
  /** Where logs go. Default: pino at `warn` on stdout. */
  logger?: Logger;
  /** The room message bus. Default: the in-process `LocalBus`; a cluster bus plugs in here. */
  bus?: Bus;
  /**
   * The built-in durable store (`openStore`): room documents are loaded from it and every update
   * is written to it before it is acknowledged. Omit it to keep documents in memory only. The
   * caller owns it: `stop()` flushes to it but does not close it.
   */
  store?: Store;
  /** CRDT (Yjs) storage options, or `false` to turn storage off. */
  storage?: StorageConfig | false;
  /** Path of the y-websocket endpoint (`{yjsPath}/{roomId}`), or `false` to turn it off. Default `/yjs`. */
  yjsPath?: string | false;
  /** Live component classes clients may mount, by name (`{ LiveRoomChat }`); see `registerComponent`. */
  components?: Record<string, LiveComponentClass>;
  /**
   * Extensions: message types of the application's own, each with a payload schema and a
   * handler, and lifecycle hooks (see `Extension`). Run in this order, after the built-in parts.
   */
  extensions?: readonly Extension[];
  /** The HTTP API under `/api` (API keys, rate limit), or `false` to turn it off (404). */
  api?: ApiConfig | false;
  /**
   * Users signed in with JWTs (a secret or a JWKS URL): on the WebSocket upgrade
   * (`Authorization: Bearer` or `?token=`), in `room:authenticate`, and on the Spaces REST API.
   * Ignored for upgrades when `auth` is set (the handler decides who connects).
   */
  jwt?: JwtConfig;
  /** Spaces: persistent rooms with codes, hosts and history in `store` (docs/spaces.md). Off unless given. */
  spaces?: SpacesConfig | false;
}

export type ResolvedStorage = Required<StorageConfig>;

export interface ResolvedConfig {
  port: number;
  host: string | undefined;
  path: string;
  auth: AuthHandler | undefined;
  cleanupTimeoutMs: number;
  maxConnectionsPerRoom: number;
  allowedOrigins: ReadonlySet<string> | null;
  heartbeat: Required<HeartbeatConfig>;
  rateLimit: Required<RateLimitConfig>;
  limits: Required<LimitsConfig>;
  cursorFlushMs: number;
  presenceFlushMs: number;
  /** Null when storage is off. */
  storage: ResolvedStorage | null;
  store: Store | null;
  yjsPath: string | null;
  /** Null when the HTTP API is off. */
  api: ResolvedApiConfig | null;
  /** Null when Spaces is off. */
  spaces: ResolvedSpacesConfig | null;
  hooks: Pick<
    ServerConfig,
    'onMessage' | 'onJoin' | 'onLeave' | 'onStorageChange' | 'initialStorage'
  >;
}

/** Normalizes origins the way browsers send them (`scheme://host[:port]`, lower case). */
function normalizeOrigins(origins: string[] | undefined): ReadonlySet<string> | null {
  if (origins === undefined) return null;
  return new Set(
    origins.map((origin) => {
      if (origin === '*') return origin;
      try {
        const parsed = new URL(origin);
        if (parsed.origin === 'null') throw new Error('opaque origin');
        return parsed.origin;
      } catch {
        throw new TypeError(
          `RoomServer: allowedOrigins entry "${origin}" is not an origin like https://app.example.com`,
        );
      }
    }),
  );
}

function normalizePath(path: string | undefined, name = 'path', fallback = '/rooms'): string {
  const raw = path ?? fallback;
  if (!raw.startsWith('/'))
    throw new TypeError(`RoomServer: ${name} must start with "/", got "${raw}"`);
  const trimmed = raw.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

/** Applies defaults and rejects nonsensical options at construction time, not on first use. */
export function resolveConfig(config: ServerConfig): ResolvedConfig {
  const limits = config.limits ?? {};
  const hb = config.heartbeat ?? {};
  const rl = config.rateLimit ?? {};
  const maxMessageBytes = positive(
    'limits.maxMessageBytes',
    limits.maxMessageBytes,
    DEFAULT_MAX_MESSAGE_BYTES,
  );
  const lossyBufferedBytes = positive(
    'limits.lossyBufferedBytes',
    limits.lossyBufferedBytes,
    512 * 1024,
  );
  const heartbeat = {
    intervalMs: positive('heartbeat.intervalMs', hb.intervalMs, 30_000),
    checkIntervalMs: positive('heartbeat.checkIntervalMs', hb.checkIntervalMs, 15_000),
    timeoutMs: positive('heartbeat.timeoutMs', hb.timeoutMs, 45_000),
  };
  // Liveness pings go out once per check; a check slower than the timeout would cut off live clients.
  if (heartbeat.checkIntervalMs >= heartbeat.timeoutMs) {
    throw new TypeError(
      `RoomServer: heartbeat.checkIntervalMs (${heartbeat.checkIntervalMs}) must be less than heartbeat.timeoutMs (${heartbeat.timeoutMs})`,
    );
  }
  const resolved: ResolvedConfig = {
    port: config.port ?? 0,
    host: config.host,
    path: normalizePath(config.path),
    auth: config.auth,
    cleanupTimeoutMs:
      config.roomConfig?.cleanupTimeoutMs === 0
        ? 0
        : positive('roomConfig.cleanupTimeoutMs', config.roomConfig?.cleanupTimeoutMs, 30_000),
    maxConnectionsPerRoom: count(
      'roomConfig.maxConnections',
      config.roomConfig?.maxConnections,
      Number.POSITIVE_INFINITY,
    ),
    allowedOrigins: normalizeOrigins(config.allowedOrigins),
    heartbeat,
    rateLimit: {
      messagesPerSecond: positive('rateLimit.messagesPerSecond', rl.messagesPerSecond, 200),
      burst: count('rateLimit.burst', rl.burst, 400),
      maxViolations: count('rateLimit.maxViolations', rl.maxViolations, 200),
    },
    limits: {
      maxMessageBytes,
      maxPayloadBytes: Math.max(
        maxMessageBytes,
        positive('limits.maxPayloadBytes', limits.maxPayloadBytes, 1024 * 1024),
      ),
      maxDepth: count('limits.maxDepth', limits.maxDepth, DEFAULT_MAX_DEPTH),
      maxRoomsPerConnection: count(
        'limits.maxRoomsPerConnection',
        limits.maxRoomsPerConnection,
        100,
      ),
      maxStateKeys: count('limits.maxStateKeys', limits.maxStateKeys, 1000),
      maxStateBytes: positive('limits.maxStateBytes', limits.maxStateBytes, 1024 * 1024),
      maxRooms: count('limits.maxRooms', limits.maxRooms, 100_000),
      maxPresenceMetadataBytes: positive(
        'limits.maxPresenceMetadataBytes',
        limits.maxPresenceMetadataBytes,
        4096,
      ),
      maxRoomMetadataBytes: positive(
        'limits.maxRoomMetadataBytes',
        limits.maxRoomMetadataBytes,
        DEFAULT_MAX_ROOM_METADATA_BYTES,
      ),
      lossyBufferedBytes,
      maxBufferedBytes: Math.max(
        lossyBufferedBytes,
        positive('limits.maxBufferedBytes', limits.maxBufferedBytes, 8 * 1024 * 1024),
      ),
      authTimeoutMs: positive('limits.authTimeoutMs', limits.authTimeoutMs, 10_000),
      maxComponentsPerConnection: count(
        'limits.maxComponentsPerConnection',
        limits.maxComponentsPerConnection,
        50,
      ),
      actionTimeoutMs: positive('limits.actionTimeoutMs', limits.actionTimeoutMs, 30_000),
    },
    cursorFlushMs: positive('cursorFlushMs', config.cursorFlushMs, 25),
    presenceFlushMs: nonNegative('presenceFlushMs', config.presenceFlushMs, 50),
    storage: config.storage === false ? null : resolveStorage(config.storage ?? {}),
    store: config.storage === false ? null : (config.store ?? null),
    yjsPath:
      config.yjsPath === false || config.storage === false
        ? null
        : normalizePath(config.yjsPath, 'yjsPath', '/yjs'),
    api: resolveApi(config.api),
    spaces: config.spaces ? resolveSpaces(config.spaces) : null,
    hooks: {
      onMessage: config.onMessage,
      onJoin: config.onJoin,
      onLeave: config.onLeave,
      onStorageChange: config.onStorageChange,
      initialStorage: config.initialStorage,
    },
  };
  if (resolved.spaces && !config.store) {
    throw new TypeError('RoomServer: spaces needs a store (the store option) for its tables');
  }
  if (resolved.yjsPath !== null && resolved.yjsPath === resolved.path) {
    throw new TypeError(`RoomServer: yjsPath and path must differ (both are "${resolved.path}")`);
  }
  if (resolved.storage && limits.maxPayloadBytes === undefined) {
    // A binary frame carries an update plus a small header: unless told otherwise, let the
    // WebSocket layer admit the largest update allowed.
    resolved.limits.maxPayloadBytes = Math.max(
      resolved.limits.maxPayloadBytes,
      resolved.storage.maxUpdateBytes + STORAGE_FRAME_HEADROOM,
    );
  }
  return resolved;
}

/** Room id, kind and ref of a binary storage frame fit well within this. */
export const STORAGE_FRAME_HEADROOM = 1024;

function resolveStorage(storage: StorageConfig): ResolvedStorage {
  const maxUpdateBytes = positive(
    'storage.maxUpdateBytes',
    storage.maxUpdateBytes,
    1024 * 1024 - STORAGE_FRAME_HEADROOM,
  );
  return {
    maxUpdateBytes,
    maxDocumentBytes: Math.max(
      maxUpdateBytes,
      positive('storage.maxDocumentBytes', storage.maxDocumentBytes, 32 * 1024 * 1024),
    ),
    flushDebounceMs: nonNegative('storage.flushDebounceMs', storage.flushDebounceMs, 20),
    flushMaxWaitMs: positive('storage.flushMaxWaitMs', storage.flushMaxWaitMs, 200),
    compactAfterUpdates: count('storage.compactAfterUpdates', storage.compactAfterUpdates, 500),
    retryInitialDelayMs: positive('storage.retryInitialDelayMs', storage.retryInitialDelayMs, 100),
    retryMaxDelayMs: positive('storage.retryMaxDelayMs', storage.retryMaxDelayMs, 10_000),
    stopTimeoutMs: positive('storage.stopTimeoutMs', storage.stopTimeoutMs, 10_000),
  };
}

export type { ApiConfig };
