import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  CAPABILITIES,
  type Capability,
  CloseCode,
  ErrorCode,
  encodeServerMessage,
  PROTOCOL_VERSION,
  UpgradeErrorCode,
} from '@roomkit/protocol';
import { type WebSocket, WebSocketServer } from 'ws';
import type { RoomDescription } from '../bus/messages.js';
import type { ResolvedConfig } from '../config.js';
import { ProtocolError } from '../features/feature.js';
import type { Logger } from '../observability/logger.js';
import {
  ClientSession,
  type Identity,
  type SessionLimits,
  type Wire,
} from '../rooms/connection.js';
import { socketOf } from '../rooms/frame.js';
import type { JoinOptions, JoinPath } from '../rooms/join-path.js';
import { rejectUpgrade } from './reject.js';
import type { UpgradeChecks } from './upgrade-checks.js';

const SESSION = Symbol('roomkit.session');
type SessionSocket = WebSocket & { [SESSION]?: ClientSession };

export type FrameHandler = (session: ClientSession, data: Buffer, isBinary: boolean) => void;

function createSocketListeners(
  onFrame: FrameHandler,
  onError: (session: ClientSession, error: Error) => void,
) {
  return {
    message(this: SessionSocket, data: Buffer, isBinary: boolean): void {
      const session = this[SESSION];
      if (session) onFrame(session, data, isBinary);
    },
    pong(this: SessionSocket): void {
      const session = this[SESSION];
      if (session) session.lastSeen = Date.now();
    },
    error(this: SessionSocket, error: Error): void {
      const session = this[SESSION];
      if (session) onError(session, error);
    },
    close(this: SessionSocket): void {
      this[SESSION]?.end();
    },
  };
}

export interface ConnectionAcceptorDeps {
  config: ResolvedConfig;
  logger: Logger;
  checks: UpgradeChecks;
  membership: () => JoinPath;
  /** The server's live sessions: accepted ones are added (the session removes itself via `onEnd`). */
  sessions: Set<ClientSession>;
  sessionLimits: SessionLimits;
  /** A frame from an accepted socket. */
  onFrame: FrameHandler;
  /** A session ended (its socket closed). */
  onEnd: (session: ClientSession) => void;
  /** A session was accepted: its `welcome` and path room's join are sent. */
  onConnect: (session: ClientSession) => void;
  isStopping: () => boolean;
}

/**
 * Turns upgrade requests into sessions: the checks (`UpgradeChecks`), the path room's seat held
 * across the handshake, the WebSocket handshake, the `welcome`, and the path room's join.
 */
export class ConnectionAcceptor {
  private readonly wss: WebSocketServer;
  /** Upgrades still being checked (auth is async); `refusePending()` refuses them at once. */
  private readonly upgrading = new Set<Duplex>();
  /**
   * Socket event listeners, created once per server rather than once per connection (idle
   * connections are mostly this kind of bookkeeping). `this` is the socket; its session hangs
   * off it.
   */
  private readonly socketListeners: ReturnType<typeof createSocketListeners>;

  constructor(private readonly deps: ConnectionAcceptorDeps) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: deps.config.limits.maxPayloadBytes,
      perMessageDeflate: false,
    });
    this.socketListeners = createSocketListeners(deps.onFrame, (session, error) =>
      deps.logger.debug({ err: error, connectionId: session.id }, 'socket error'),
    );
  }

  /** The `upgrade` event of the HTTP server. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', (error) => this.deps.logger.debug({ err: error }, 'upgrade socket error'));
    this.upgrading.add(socket);
    this.checkAndUpgrade(req, socket, head)
      .catch((error: unknown) => {
        this.deps.logger.error({ err: error }, 'upgrade failed');
        rejectUpgrade(socket, 500, UpgradeErrorCode.InternalError, 'upgrade failed');
      })
      .finally(() => this.upgrading.delete(socket));
  };

  /** Stopping: upgrades still being checked get 503. */
  refusePending(): void {
    for (const socket of this.upgrading) {
      rejectUpgrade(socket, 503, UpgradeErrorCode.ShuttingDown, 'server is shutting down');
    }
  }

  /** Every accepted socket, including ones already closing, cut off now. */
  terminateAll(): void {
    for (const ws of this.wss.clients) ws.terminate();
  }

  /** The upgrade checks, then the handshake and the connection. */
  private async checkAndUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { checks, isStopping } = this.deps;
    const refuse = (status: number, code: UpgradeErrorCode, reason: string) =>
      rejectUpgrade(socket, status, code, reason);
    if (isStopping()) return refuse(503, UpgradeErrorCode.ShuttingDown, 'server is shutting down');
    const verdict = await checks.check(req);
    if (!verdict.ok) return refuse(verdict.status, verdict.code, verdict.reason);
    const { identity, roomId, wire, readOnly, password, capabilities } = verdict.admission;
    if (socket.destroyed) return;
    if (isStopping()) return refuse(503, UpgradeErrorCode.ShuttingDown, 'server is shutting down');
    const connectionId = randomUUID();
    let seat: RoomDescription | undefined;
    if (roomId !== null) {
      const claimed = checks.seat(connectionId, verdict.admission);
      const answer = claimed instanceof Promise ? await claimed : claimed;
      if (!answer.ok) return refuse(answer.status, answer.code, answer.reason);
      seat = answer.seat;
    }
    // The seat goes back if the socket goes before it is accepted (ws may refuse the handshake).
    let seated = roomId !== null;
    const releaseSeat = () => {
      if (seated && roomId !== null) this.deps.membership().releaseSeat(roomId, connectionId);
      seated = false;
    };
    if (socket.destroyed) return releaseSeat();
    socket.once('close', releaseSeat);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      seated = false;
      socket.off('close', releaseSeat);
      this.accept(ws, connectionId, identity, roomId, wire, capabilities, {
        readOnly,
        password,
        seat,
      });
    });
  }

  private accept(
    ws: WebSocket,
    connectionId: string,
    identity: Identity,
    roomId: string | null,
    wire: Wire,
    capabilities: Capability[],
    options: JoinOptions,
  ): void {
    const { sessions } = this.deps;
    const session = new ClientSession(
      connectionId,
      ws,
      identity,
      roomId,
      this.deps.sessionLimits,
      Date.now(),
      this.deps.onEnd,
      wire,
    );
    session.presenceDeltas = capabilities.includes('presence-delta');
    sessions.add(session);
    (ws as SessionSocket)[SESSION] = session;
    ws.on('message', this.socketListeners.message);
    ws.on('pong', this.socketListeners.pong);
    ws.on('error', this.socketListeners.error);
    ws.on('close', this.socketListeners.close);
    // The welcome and the path room's join answers leave in one write.
    const socket = socketOf(ws);
    socket.cork();
    try {
      this.welcome(session, roomId, options, capabilities);
    } finally {
      socket.uncork();
    }
    if (!session.isClosing) this.deps.onConnect(session);
  }

  /** The `welcome`, then the path room's join (its answers follow at once). */
  private welcome(
    session: ClientSession,
    roomId: string | null,
    options: JoinOptions,
    capabilities: Capability[],
  ): void {
    const { identity } = session;
    const { config, logger } = this.deps;
    const { limits, heartbeat } = config;
    session.send(
      encodeServerMessage({
        type: 'welcome',
        connectionId: session.id,
        userId: identity.userId,
        displayName: identity.displayName,
        color: identity.color,
        room: roomId,
        heartbeatIntervalMs: heartbeat.intervalMs,
        maxMessageBytes: limits.maxMessageBytes,
        protocol: PROTOCOL_VERSION,
        capabilities: { supported: [...CAPABILITIES], enabled: capabilities },
      }),
    );
    if (roomId === null) return;
    try {
      this.deps.membership().join(session, roomId, options);
    } catch (error) {
      // Capacity and room count were checked at upgrade, so this is a lost race (or a bug): say
      // why and close, since a path connection without its room has no purpose.
      const known = error instanceof ProtocolError;
      if (!known) logger.error({ err: error, roomId }, 'path room join failed');
      const code = known ? error.code : ErrorCode.InternalError;
      const message = known ? error.message : 'could not join the room';
      session.send(encodeServerMessage({ type: 'error', code, message, room: roomId }));
      session.close(CloseCode.JoinFailed, 'could not join the room');
    }
  }
}
