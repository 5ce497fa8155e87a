import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloseCode, encodeServerMessage } from '@roomkit/protocol';
import { WebSocket } from 'ws';
import { AuthenticateFeature } from './auth/authenticate-feature.js';
import { JwtAuth } from './auth/jwt.js';
import type { Bus } from './bus/bus.js';
import { LocalBus } from './bus/in-process-cluster.js';
import { type ResolvedConfig, resolveConfig, type ServerConfig } from './config.js';
import { Dispatcher } from './dispatch.js';
import { ExtensionFeature } from './extensions/extension-feature.js';
import {
  BroadcastFeature,
  checkChannel,
  encodeBroadcast,
  SERVER_SENDER,
} from './features/broadcast.js';
import { CursorsFeature } from './features/cursors.js';
import type { Feature, FeatureContext } from './features/feature.js';
import { HeartbeatFeature } from './features/heartbeat.js';
import { LiveStateFeature } from './features/live-state.js';
import { PresenceFeature } from './features/presence.js';
import { Relay } from './features/relay.js';
import { RoomInfoFeature } from './features/room-info.js';
import { RoomsFeature } from './features/rooms.js';
import { HybridLogicalClock } from './hlc.js';
import { HttpApi } from './http/api/app.js';
import { ConnectionAcceptor } from './http/connection-acceptor.js';
import { createRequestHandler } from './http/requests.js';
import { UpgradeChecks } from './http/upgrade-checks.js';
import type { LiveComponentClass } from './live/component-registry.js';
import { ComponentRegistry, type RegisterComponentOptions } from './live/component-registry.js';
import { LiveFeature } from './live/live-feature.js';
import { LiveRoomManager } from './live/live-room-manager.js';
import { RoomEventBus } from './live/room-event-bus.js';
import { createLogger, type Logger } from './observability/logger.js';
import type { ClientSession, SessionLimits } from './rooms/connection.js';
import { JoinPath } from './rooms/join-path.js';
import { RoomManager } from './rooms/room-manager.js';
import { createSpaces, type SpacesParts } from './spaces/create-spaces.js';
import type { SpacesHub } from './spaces/spaces-hub.js';
import { StorageFeature } from './storage/storage-feature.js';
import { YWebsocketFeature } from './yjs/y-websocket-feature.js';

/** How long `stop()` waits for clients to answer the close frame before cutting them off. */
const STOP_GRACE_MS = 5_000;

/**
 * The room server: one HTTP server whose upgrades become room connections. This class wires the
 * parts together; what each message does lives in `features/`.
 */
export class RoomServer {
  private readonly config: ResolvedConfig;
  private readonly logger: Logger;
  private readonly rooms: RoomManager;
  private readonly bus: Bus;
  private readonly sessions = new Set<ClientSession>();
  private readonly features: Feature[];
  private readonly heartbeat: HeartbeatFeature;
  private readonly membership: JoinPath;
  private readonly dispatcher: Dispatcher;
  private readonly storage: StorageFeature | null;
  private readonly yjs: YWebsocketFeature | null;
  /** Live components: the registry, their rooms, the room event bus, and the feature. */
  private readonly components = new ComponentRegistry();
  private readonly roomEventBus: RoomEventBus;
  private readonly liveRoomManager: LiveRoomManager;
  private readonly live: LiveFeature;
  /** JWT sign-in (upgrade, `room:authenticate`, Spaces REST), or null without `jwt`. */
  private readonly jwt: JwtAuth | null;
  /** Spaces (rooms with codes, seats and history in the store), or null when off. */
  private readonly spaces: SpacesParts | null;
  /** Upgrades: checks, handshake, sessions. */
  private readonly acceptor: ConnectionAcceptor;
  private readonly http: Server;
  /** The HTTP API under `/api` (Fastify), or null when `api: false`. */
  private readonly api: HttpApi | null;
  private stopping: Promise<void> | null = null;
  /** Ends a session: out of the server's set, out of every room. Shared by all sessions. */
  private readonly endSession = (ended: ClientSession): void => {
    this.sessions.delete(ended);
    this.membership.leaveAll(ended);
    this.live.closeSession(ended);
    for (const feature of this.features) feature.onDisconnect?.({ session: ended });
  };
  private listening = false;

  constructor(config: ServerConfig = {}) {
    this.config = resolveConfig(config);
    this.logger = config.logger ?? createLogger();
    this.bus = config.bus ?? new LocalBus();
    const { limits, rateLimit } = this.config;
    const sessionLimits: SessionLimits = {
      lossyBufferedBytes: limits.lossyBufferedBytes,
      maxBufferedBytes: limits.maxBufferedBytes,
      messagesPerSecond: rateLimit.messagesPerSecond,
      burst: rateLimit.burst,
    };
    const clock = new HybridLogicalClock();
    this.rooms = new RoomManager(this.bus, this.logger, clock, {
      maxKeys: this.config.limits.maxStateKeys,
      maxBytes: this.config.limits.maxStateBytes,
    });
    const ctx: FeatureContext = {
      config: this.config,
      rooms: this.rooms,
      clock,
      logger: this.logger,
    };
    this.roomEventBus = new RoomEventBus(this.bus, this.logger);
    this.liveRoomManager = new LiveRoomManager(this.roomEventBus, {
      bus: this.bus,
      rooms: this.rooms,
      clock,
      logger: this.logger,
    });
    for (const [name, Class] of Object.entries(config.components ?? {})) {
      this.components.register(Class, { name });
    }
    this.live = new LiveFeature(ctx, this.components, this.liveRoomManager);
    this.jwt = config.jwt ? new JwtAuth(config.jwt) : null;
    this.spaces = createSpaces(
      ctx,
      config.store,
      () => this.membership,
      this.bus,
      (roomId) => this.forgetDocument(roomId),
    );
    const presence = new PresenceFeature(ctx);
    this.heartbeat = new HeartbeatFeature(ctx, presence, () => this.sessions);
    this.storage = this.config.storage ? new StorageFeature(ctx, this.config.storage) : null;
    this.yjs =
      this.storage && this.config.yjsPath !== null
        ? new YWebsocketFeature(ctx, this.storage, presence)
        : null;
    this.features = [
      presence,
      new LiveStateFeature(ctx),
      // After live state: a joiner's `room:info` follows its `state:init`.
      new RoomInfoFeature(),
      new CursorsFeature(ctx),
      new BroadcastFeature(ctx),
      this.heartbeat,
      new RoomsFeature(() => this.membership, this.spaces?.feature ?? null),
      this.live,
    ];
    if (this.jwt) this.features.push(new AuthenticateFeature(this.jwt));
    if (this.spaces) this.features.push(this.spaces.feature);
    if (this.storage) this.features.push(this.storage);
    if (this.yjs) this.features.push(this.yjs);
    const extensions = (config.extensions ?? []).map(
      (extension) => new ExtensionFeature(extension, ctx),
    );
    this.features.push(...extensions, new Relay(ctx, extensions));
    this.membership = new JoinPath(ctx, this.features);
    this.dispatcher = new Dispatcher(ctx, this.features);
    this.rooms.onUnload((room, reason) => {
      // A room removed while members remain (RoomManager.remove, on any node): they leave it
      // properly, so none keeps talking into a later room of the same id.
      for (const connection of [...room.connections.values()]) {
        this.membership.leave(connection.session, room.id);
        connection.session.send(
          encodeServerMessage({
            type: 'room:left',
            room: room.id,
            reason: reason ?? 'room removed',
          }),
        );
        // A y-websocket peer has no other room and no way to hear `room:left`: close it, so the
        // provider reconnects (to a new room of that id) instead of talking into nothing.
        if (connection.session.wire === 'y-websocket') {
          connection.session.close(CloseCode.RoomRemoved, 'room removed');
        }
      }
      const unloaded = { room, reason };
      for (const feature of this.features) feature.onRoomUnload?.(unloaded);
    });

    this.acceptor = new ConnectionAcceptor({
      config: this.config,
      logger: this.logger,
      checks: new UpgradeChecks({
        ctx,
        membership: () => this.membership,
        jwt: this.jwt,
        authenticators: this.features.filter(
          (feature): feature is Feature & Required<Pick<Feature, 'onAuthenticate'>> =>
            feature.onAuthenticate !== undefined,
        ),
        spaces: this.spaces?.feature ?? null,
      }),
      membership: () => this.membership,
      sessions: this.sessions,
      sessionLimits,
      onFrame: (session, data, isBinary) => this.dispatcher.handleFrame(session, data, isBinary),
      onEnd: this.endSession,
      onConnect: (session) => {
        const connected = { session };
        for (const feature of this.features) feature.onConnect?.(connected);
      },
      isStopping: () => this.stopping !== null,
    });
    this.api = this.config.api
      ? new HttpApi({
          api: this.config.api,
          liveRooms: this.liveRoomManager,
          logger: this.logger,
          authTimeoutMs: this.config.limits.authTimeoutMs,
          maxDepth: this.config.limits.maxDepth,
          spaces: this.spaces?.hub ?? null,
          jwt: this.jwt,
          spacesRateLimit: this.config.spaces?.rateLimit ?? null,
        })
      : null;
    this.http = createServer(
      createRequestHandler(this.rooms, () => this.sessions.size, this.api?.handle),
    );
    this.http.on('upgrade', this.acceptor.handleUpgrade);
  }

  /** The port the server listens on, or -1 when not listening. */
  get port(): number {
    const address = this.http.address() as AddressInfo | null;
    return this.listening && address ? address.port : -1;
  }

  async start(port: number = this.config.port): Promise<void> {
    if (this.listening) throw new Error('RoomServer is already listening');
    if (this.stopping) throw new Error('RoomServer was stopped; create a new one');
    await this.api?.ready();
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.http.once('error', onError);
      this.http.listen(port, this.config.host, () => {
        this.http.off('error', onError);
        // After listening, a server error (e.g. out of file descriptors) is logged, not fatal.
        this.http.on('error', (error) => this.logger.error({ err: error }, 'http server error'));
        resolve();
      });
    });
    this.listening = true;
    this.spaces?.hub.startCleanup();
  }

  /** The Spaces operations (REST's and the WebSocket's), or null when Spaces is off. */
  get spacesHub(): SpacesHub | null {
    return this.spaces?.hub ?? null;
  }

  /**
   * Graceful stop: refuse new upgrades, close every socket with 1001 (running the normal leave
   * path, so `onLeave` fires), wait for the clients to answer (then cut off the rest), remove all
   * rooms and stop listening. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /** Sends `data` to every member of the room, on every node. False if no such room. */
  broadcastToRoom(roomId: string, data: string, excludeIds?: string[]): boolean {
    return this.rooms.broadcast(roomId, data, excludeIds);
  }

  /**
   * Publishes `payload` on `channel` of a room from server code: every member, on every node,
   * receives a `broadcast` with `"from":"server"`. Returns false if no such room. Throws a
   * `TypeError` for an invalid channel name (1-128 printable ASCII characters, no spaces).
   */
  broadcast(roomId: string, channel: string, payload: unknown): boolean {
    checkChannel('RoomServer.broadcast', channel);
    return this.rooms.broadcast(
      roomId,
      encodeBroadcast({ id: roomId }, channel, payload, SERVER_SENDER),
    );
  }

  /**
   * The rooms: `get`, `create` (a room with a password, `maxUsers` or metadata, ahead of its
   * members), `remove`, and membership queries.
   */
  getRoomManager(): RoomManager {
    return this.rooms;
  }

  /**
   * Registers a live component class that clients may mount by name (default: the class name),
   * with optional TypeBox schemas for its actions' payloads. Throws if the name is taken.
   */
  registerComponent(Class: LiveComponentClass, options: RegisterComponentOptions = {}): void {
    this.components.register(Class, options);
  }

  /** The live rooms of live components: membership, room state, `emitToRoom`, stats. */
  get liveRooms(): LiveRoomManager {
    return this.liveRoomManager;
  }

  /** The room event bus behind live rooms (on the server's Bus). */
  get roomEvents(): RoomEventBus {
    return this.roomEventBus;
  }

  /**
   * Unmounts a live component from server code: it leaves its rooms and its client gets
   * `live:unmounted` with `reason`. False if no such component is mounted.
   */
  unmountComponent(componentId: string, reason = 'unmounted by the server'): boolean {
    return this.live.unmount(componentId, reason);
  }

  /** How many room documents are in memory (a released room's is dropped once it is saved). */
  get loadedDocuments(): number {
    return this.storage?.registry.size ?? 0;
  }

  /** The WebSocket path prefix, normalized (no trailing slash). */
  get path(): string {
    return this.config.path;
  }

  /** The underlying Node HTTP server, for mounting further routes. */
  get httpServer(): Server {
    return this.http;
  }

  /** Runs the heartbeat check now (tests and embedders that drive time themselves). */
  checkHeartbeats(now?: number): void {
    this.heartbeat.check(now);
  }

  private async shutdown(): Promise<void> {
    for (const feature of this.features) feature.close?.();
    const apiClosed = this.api?.close();
    const closed = [...this.sessions].map(
      (session) =>
        new Promise<void>((resolve) => {
          if (session.ws.readyState === WebSocket.CLOSED) return resolve();
          session.ws.once('close', () => resolve());
          session.close(CloseCode.GoingAway, 'server shutting down');
        }),
    );
    const listening = this.listening;
    const httpClosed = listening
      ? new Promise<void>((resolve) => this.http.close(() => resolve()))
      : Promise.resolve();
    this.http.closeIdleConnections();
    this.acceptor.refusePending();
    let graceTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(closed),
      new Promise<void>((resolve) => {
        graceTimer = setTimeout(resolve, STOP_GRACE_MS);
      }),
    ]);
    clearTimeout(graceTimer);
    // Every socket, including ones already closing (e.g. a slow consumer cut off just before).
    this.acceptor.terminateAll();
    this.http.closeAllConnections();
    this.rooms.clear();
    // Leaves' store writes (offline seats, system messages) finish before the caller closes the store.
    await this.spaces?.hub.stop();
    // Documents are flushed to the store (the store itself belongs to the caller).
    await this.storage?.stop();
    await httpClosed;
    await apiClosed;
    this.listening = false;
    await this.bus.close();
  }

  /** A deleted Spaces room's document: released from memory (flushed), then deleted from the store. */
  private async forgetDocument(roomId: string): Promise<void> {
    await this.storage?.registry.release(roomId);
    await this.config.store?.deleteDocument(roomId);
  }
}
