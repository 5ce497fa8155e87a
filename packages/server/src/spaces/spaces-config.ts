import type { RateLimitSettings } from '../http/api/api-config.js';
import type { SpacesResponder } from './responder.js';

/**
 * Spaces: persistent rooms with join codes, hosts, seats and message history in the server's
 * store (docs/spaces.md). On when `spaces` is given and the server has a `store`; users sign in
 * with JWTs (`jwt`).
 */
export interface SpacesConfig {
  /** Active rooms one user may host at once; the next `create` gets `room_limit`. Default 5. */
  maxActiveRoomsPerUser?: number;
  /** Seats of a room created without `maxParticipants` (1-50). Default 10. */
  defaultMaxParticipants?: number;
  /** `currentMode` of a new room. Default `'default'`. */
  defaultMode?: string;
  /** Messages sent in `room:joined` (1-100). Default 50. */
  historyLimit?: number;
  /**
   * Where a room's `joinLink` points: `{joinLinkBase}/{roomCode}`, e.g.
   * `https://app.example.com/spaces`. Default `/spaces` (a path on this server).
   */
  joinLinkBase?: string;
  /** REST requests per user per window; past it 429. `false` turns it off. Default 100 per 15 minutes. */
  rateLimit?: { max?: number; timeWindowMs?: number } | false;
  /**
   * Deletes rooms without activity (messages, joins, heartbeats of online participants) for
   * `inactiveAfterMs`, every `intervalMs`. `false` turns it off. Default hourly, 24 hours.
   */
  cleanup?: { intervalMs?: number; inactiveAfterMs?: number } | false;
  /** Answers participants' messages with `ai_response` messages (see `createExampleResponder`). */
  responder?: SpacesResponder;
  /** Time the responder has for one message before it is abandoned (logged). Default 30000. */
  responderTimeoutMs?: number;
  /**
   * Spaces operations (joins, messages, state, voice, history, kicks, heartbeats) one connection
   * may make: `perSecond` sustained, `burst` at once; past it `room:error` `rate_limited`. Each is
   * a store write or read, so this is far below the connection's message rate. Default 10, 20.
   */
  writeRate?: { perSecond?: number; burst?: number };
}

export interface ResolvedSpacesConfig {
  maxActiveRoomsPerUser: number;
  defaultMaxParticipants: number;
  defaultMode: string;
  historyLimit: number;
  joinLinkBase: string;
  rateLimit: RateLimitSettings | null;
  cleanup: { intervalMs: number; inactiveAfterMs: number } | null;
  responder: SpacesResponder | null;
  responderTimeoutMs: number;
  writeRate: { perSecond: number; burst: number };
}

/** Node's timers take at most this many ms (a larger delay silently becomes 1 ms). */
const MAX_TIMER_MS = 2_147_483_647;

function whole(name: string, value: number | undefined, fallback: number, max = Infinity): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) {
    const range = max === Infinity ? 'a positive whole number' : `a whole number from 1 to ${max}`;
    throw new TypeError(`RoomServer: spaces.${name} must be ${range}, got ${String(value)}`);
  }
  return value;
}

/** Applies the defaults; throws a `TypeError` naming the option for a nonsensical value. */
export function resolveSpaces(config: SpacesConfig): ResolvedSpacesConfig {
  const mode = config.defaultMode ?? 'default';
  if (typeof mode !== 'string' || mode.trim() === '' || mode.length > 100) {
    throw new TypeError('RoomServer: spaces.defaultMode must be 1-100 characters');
  }
  if (config.responder !== undefined && typeof config.responder !== 'function') {
    throw new TypeError('RoomServer: spaces.responder must be a function');
  }
  const base = (config.joinLinkBase ?? '/spaces').replace(/\/+$/, '');
  if (!/^(https?:\/\/[^\s]+|\/[^\s]*)$/.test(base) && base !== '') {
    throw new TypeError(
      'RoomServer: spaces.joinLinkBase must be an http(s) URL or a path starting with "/"',
    );
  }
  const { rateLimit, cleanup } = config;
  return {
    maxActiveRoomsPerUser: whole('maxActiveRoomsPerUser', config.maxActiveRoomsPerUser, 5),
    defaultMaxParticipants: whole('defaultMaxParticipants', config.defaultMaxParticipants, 10, 50),
    defaultMode: mode.trim(),
    historyLimit: whole('historyLimit', config.historyLimit, 50, 100),
    joinLinkBase: base,
    rateLimit:
      rateLimit === false
        ? null
        : {
            max: whole('rateLimit.max', rateLimit?.max, 100),
            timeWindowMs: whole('rateLimit.timeWindowMs', rateLimit?.timeWindowMs, 15 * 60_000),
          },
    cleanup:
      cleanup === false
        ? null
        : {
            intervalMs: whole('cleanup.intervalMs', cleanup?.intervalMs, 60 * 60_000, MAX_TIMER_MS),
            inactiveAfterMs: whole(
              'cleanup.inactiveAfterMs',
              cleanup?.inactiveAfterMs,
              24 * 60 * 60_000,
              Number.MAX_SAFE_INTEGER,
            ),
          },
    responder: config.responder ?? null,
    responderTimeoutMs: whole(
      'responderTimeoutMs',
      config.responderTimeoutMs,
      30_000,
      MAX_TIMER_MS,
    ),
    writeRate: {
      perSecond: whole('writeRate.perSecond', config.writeRate?.perSecond, 10),
      burst: whole('writeRate.burst', config.writeRate?.burst, 20),
    },
  };
}
