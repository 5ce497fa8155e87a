import type { Socket } from 'node:net';
import type { OnlineStatus, PresenceUser } from '@roomkit/protocol';
import { CloseCode } from '@roomkit/protocol';
import type WebSocket from 'ws';
import { socketOf } from './frame.js';
import { Memberships } from './memberships.js';
import type { Room } from './room.js';
import { TokenBucket } from './token-bucket.js';

const OPEN = 1;

/**
 * Write coalescing: a socket written to by a broadcast stays corked until the end of the current
 * event-loop turn, so every message fanned out to it in that turn leaves in one syscall. Idle, a
 * turn carries one message and nothing waits; under load, many messages share a write, which is
 * what lifts the fan-out ceiling (one syscall per recipient per message is the cost that bounds a
 * plain relay). Anything else written meanwhile (acks, ws's own frames) joins the same queue in
 * order.
 */
/** Sockets corked during this turn, with the bytes broadcasts queued on each meanwhile. */
const corked = new Map<Socket, number>();
let uncorkScheduled = false;

function corkForThisTurn(socket: Socket, bytes: number): void {
  const queued = corked.get(socket);
  if (queued !== undefined) {
    corked.set(socket, queued + bytes);
    return;
  }
  socket.cork();
  corked.set(socket, bytes);
  if (!uncorkScheduled) {
    uncorkScheduled = true;
    setImmediate(uncorkAll);
  }
}

/** Bytes queued on the socket in this turn: not a sign of a slow reader, just not sent yet. */
function queuedThisTurn(socket: Socket): number {
  return corked.get(socket) ?? 0;
}

function uncorkAll(): void {
  uncorkScheduled = false;
  for (const socket of corked.keys()) {
    if (!socket.destroyed) socket.uncork();
  }
  corked.clear();
}

/** How long a closing client has to answer the close frame before its socket is destroyed. */
const CLOSE_HANDSHAKE_MS = 5_000;
/** Send options for a pre-encoded Buffer that must go out as a text frame. */
const TEXT_FRAME = { binary: false } as const;
const BINARY_FRAME = { binary: true } as const;

/** Who a connection belongs to, as established at upgrade time. */
export interface Identity {
  userId: string;
  displayName: string;
  color: string;
  avatarUrl?: string;
  metadata?: Record<string, unknown>;
  /** From `AuthResult.readOnly`: document updates are refused in every room. */
  readOnly?: boolean;
  /**
   * Signed in: the identity came from `auth.authenticate` or a verified JWT, not from the query
   * string. Spaces rooms admit signed-in users only.
   */
  verified?: boolean;
  /** Signed in through the dev guest endpoint (`POST /api/auth/guest`). */
  guest?: boolean;
}

/** Which protocol a socket speaks: Roomkit's (JSON + binary storage frames) or y-websocket's. */
export type Wire = 'roomkit' | 'y-websocket';

/** How a membership receives the room's document updates (null: it has not asked for them). */
export type StorageSubscription = 'binary' | 'base64' | 'y-websocket' | null;

export interface SessionLimits {
  lossyBufferedBytes: number;
  maxBufferedBytes: number;
  messagesPerSecond: number;
  burst: number;
}

/**
 * One WebSocket: identity, the rooms it is in, its rate limit and its send buffer policy.
 * Every send goes through here so backpressure is decided in one place.
 */
export class ClientSession {
  readonly memberships = new Memberships();
  readonly bucket: TokenBucket;
  /** Room named in the connection path; messages without `room` go there. */
  defaultRoom: string | null;
  lastHeartbeat: number;
  /** Last time anything (message or pong) arrived; decides liveness. */
  lastSeen: number;
  /** Set when the heartbeat check marked this connection offline. */
  offline = false;
  /** Status the client chose, restored when it comes back from offline. */
  chosenStatus: OnlineStatus = 'online';
  /** Asked for presence changes as `presence:delta` (the `presence-delta` capability). */
  presenceDeltas = false;
  violations = 0;
  violationWindowStart = 0;
  /** True between a dropped message and the next accepted one: one error per episode. */
  inViolation = false;
  /** Frames held while an async handler runs (null when none is running). */
  backlog: Array<{ data: Buffer; isBinary: boolean; size: number }> | null = null;
  /** Bytes held in `backlog`. */
  backlogBytes = 0;
  private closing = false;
  private ended = false;
  /** Bytes of bulk sends (document snapshots) still allowed over the buffer limit. */
  private bulkAllowance = 0;

  constructor(
    readonly id: string,
    readonly ws: WebSocket,
    /** Replaced only by `room:authenticate`, before the connection is in any room. */
    public identity: Identity,
    defaultRoom: string | null,
    private readonly limits: SessionLimits,
    now: number,
    private readonly onEnd: (session: ClientSession) => void,
    readonly wire: Wire = 'roomkit',
  ) {
    this.defaultRoom = defaultRoom;
    this.lastHeartbeat = now;
    this.lastSeen = now;
    this.bucket = new TokenBucket(limits.messagesPerSecond, limits.burst, now);
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /**
   * Reliable send of one message to this connection (replies, snapshots); never skipped. A client
   * too slow to drain its buffer is closed with 4009. A Buffer goes out as a text frame, uncopied.
   * JSON is for Roomkit sockets only: a y-websocket peer would take it for a broken binary frame.
   * `bulk`: a large answer (a document in base64), allowed over the limit while it drains.
   */
  send(data: string | Buffer, bulk = false): void {
    if (this.wire !== 'roomkit') return;
    if (this.closing || this.closedForFallingBehind(socketOf(this.ws))) return;
    if (bulk) this.bulkAllowance = Math.max(this.bulkAllowance, data.length);
    this.ws.send(data, TEXT_FRAME);
  }

  /**
   * Reliable send of one binary frame (storage sync, y-websocket messages). A `bulk` frame (a
   * document snapshot) may be larger than the send-buffer limit: its bytes are allowed on top of
   * the limit while they drain, so a big document does not get its reader cut off as slow.
   */
  sendBinary(data: Uint8Array, bulk = false): void {
    if (this.closing || this.closedForFallingBehind(socketOf(this.ws))) return;
    // The largest bulk send, not their sum: a client asking again and again while it does not
    // read must not raise its own limit.
    if (bulk) this.bulkAllowance = Math.max(this.bulkAllowance, data.length);
    this.ws.send(data, BINARY_FRAME);
  }

  /**
   * Writes a complete pre-built WebSocket frame (or two runs of frames, back to back): the
   * broadcast path. Reliable unless `lossy`; lossy traffic (cursors, presence) is skipped if it
   * would take a non-empty send buffer past the soft limit. An idle connection always gets it,
   * however large, so a big presence list still reaches members who keep up.
   */
  writeFrames(frames: Buffer, lossy: boolean, more?: Buffer): boolean {
    if (this.closing || this.ws.readyState !== OPEN) return false;
    const socket = socketOf(this.ws);
    const size = frames.length + (more?.length ?? 0);
    if (lossy) {
      const buffered = this.unsent(socket);
      if (buffered > 0 && buffered + size > this.limits.lossyBufferedBytes) return false;
    } else if (this.closedForFallingBehind(socket)) {
      return false;
    }
    corkForThisTurn(socket, size);
    socket.write(frames);
    if (more !== undefined) socket.write(more);
    return true;
  }

  /** Bytes still waiting for the client, not counting what this turn just queued (not sent yet). */
  private unsent(socket: Socket): number {
    return this.ws.bufferedAmount - queuedThisTurn(socket);
  }

  /**
   * The hard limit: past `maxBufferedBytes` unsent (plus what is left of bulk sends), the client
   * is closed with 4009. The bulk allowance shrinks as the buffer drains below it.
   */
  private closedForFallingBehind(socket: Socket): boolean {
    const unsent = this.unsent(socket);
    if (this.bulkAllowance > unsent) this.bulkAllowance = unsent;
    if (unsent <= this.limits.maxBufferedBytes + this.bulkAllowance) return false;
    this.close(CloseCode.SlowConsumer, 'slow consumer: send buffer limit exceeded');
    return true;
  }

  /**
   * Starts the close handshake and leaves every room at once: a client being closed (for abuse
   * or for not reading) must not linger in the others' presence while its buffer drains.
   */
  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.ws.close(code, reason);
    // A client that never answers the close frame (e.g. one that stopped reading) would hold its
    // socket and send buffer for ws's 30 s close timeout; cut it off sooner.
    const cutoff = setTimeout(() => this.ws.terminate(), CLOSE_HANDSHAKE_MS);
    cutoff.unref();
    this.ws.once('close', () => clearTimeout(cutoff));
    // Leave the rooms right after the current operation: a close triggered inside a join or a
    // broadcast must not run the leave path (and onLeave) in the middle of it.
    queueMicrotask(() => this.end());
  }

  /** Runs the end-of-connection path once, whether the server or the socket ended it. */
  end(): void {
    this.closing = true;
    if (this.ended) return;
    this.ended = true;
    this.onEnd(this);
  }
}

/**
 * A session's membership of one room: its presence record there and its document subscription.
 * The session (`ClientSession`) is the socket; it has one membership per room it is in (what
 * `Room.connections` holds for this node's sockets).
 */
export class Membership {
  readonly user: PresenceUser;
  /** Set once `onJoin` was told about this membership; only then does its end fire `onLeave`. */
  announced = false;
  /** Set once the connection asked for the room's document (and in which encoding). */
  storage: StorageSubscription = null;
  /** A presence delta was skipped (slow reader): the next change sends it the whole list. */
  presenceStale = false;

  constructor(
    readonly session: ClientSession,
    readonly room: Room,
    now: number,
    /** May read the room's document but not change it. */
    readonly readOnly = false,
  ) {
    const { identity } = session;
    this.user = {
      userId: identity.userId,
      displayName: identity.displayName,
      color: identity.color,
      connectedAt: now,
      onlineStatus: session.offline ? 'offline' : session.chosenStatus,
      lastActiveAt: now,
      isIdle: false,
      connections: 1,
    };
    if (identity.avatarUrl !== undefined) this.user.avatarUrl = identity.avatarUrl;
    if (identity.metadata !== undefined) this.user.metadata = identity.metadata;
  }

  get id(): string {
    return this.session.id;
  }
}
