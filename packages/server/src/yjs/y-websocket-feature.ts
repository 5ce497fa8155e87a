import { CloseCode } from '@roomkit/protocol';
import type {
  Feature,
  FeatureContext,
  MemberPayload,
  RoomTarget,
  RoomUnloadedPayload,
} from '../features/feature.js';
import { LaterReply, ProtocolError } from '../features/feature.js';
import type { PresenceFeature } from '../features/presence.js';
import { guarded } from '../observability/guard.js';
import type { ClientSession, Membership } from '../rooms/connection.js';
import type { Room } from '../rooms/room.js';
import type { RoomDocument } from '../storage/room-document.js';
import type { StorageFeature } from '../storage/storage-feature.js';
import { RoomAwareness } from './room-awareness.js';
import {
  type AwarenessEntry,
  type AwarenessStateLimits,
  decodeAwarenessUpdate,
  decodeYjsMessage,
  encodeAwarenessMessage,
  encodeAwarenessUpdate,
  encodeSyncStep1,
  encodeSyncStep2,
  type RefusedAwarenessEntry,
  readAwarenessClients,
  YSyncStep,
} from './y-websocket-protocol.js';

/** Awareness clients send their state every 15 s and drop others' after 30 s without renewal. */
const MIRROR_RENEW_MS = 15_000;
/** Client entries one awareness message may carry. */
const MAX_AWARENESS_ENTRIES = 64;
/** Awareness client ids one peer may announce (a provider uses one). */
const MAX_CLIENTS_PER_PEER = 8;
/** Bytes `{"awareness":` and `}` add around a state's JSON in presence metadata. */
const AWARENESS_WRAPPER_BYTES = '{"awareness":}'.length;
/** Frames a y-websocket peer may send while its room's document loads. */
const MAX_HELD_FRAMES = 1000;

/**
 * y-websocket compatibility: a stock `y-websocket` provider connects at `{yjsPath}/{roomId}` and
 * syncs with the room's document; it is a room member like any other (presence, capacity, auth).
 * Its awareness state shows in its presence (`metadata.awareness`), and each Roomkit member shows
 * in the peers' awareness (`{user: {name, color, id}, presence}`). A peer's awareness state gets
 * the checks a `presence:update`'s metadata gets (size, depth, forbidden keys). The protocol has
 * no error channel: a frame or state it cannot use is logged and dropped, like the reference
 * server does.
 *
 * In a cluster each node holds its connections' part of the room's awareness (its peers' states,
 * its mirrored members) and sends changes to the other nodes, whose peers get them too; a peer
 * arriving gets every node's part (the `awareness` query). A node mirrors its members while the
 * room has peers on it, and once it heard of peers on other nodes, until the room unloads there.
 */
export class YWebsocketFeature implements Feature {
  readonly name = 'y-websocket';
  readonly wire = 'y-websocket';
  private readonly awareness = new Map<Room, RoomAwareness>();
  private readonly renewTimer: NodeJS.Timeout;
  /**
   * Bytes a peer may send while its room's document loads: room for its sync step 1 and a step 2
   * carrying the largest update allowed, not for an unbounded pile.
   */
  private readonly maxHeldBytes: number;
  /** Awareness clock of mirrored Roomkit members: one counter, so it never goes back. */
  private mirrorClock = 0;
  /**
   * What a peer's awareness state must respect to be used: what its presence `metadata`, which
   * it becomes as `{awareness: state}`, would need in a `presence:update`. The JSON codec counts
   * the message as depth 1, so `metadata` is depth 2 and the state depth 3; the wrapper
   * `{"awareness":…}` adds 14 bytes to the state's JSON.
   */
  private readonly stateLimits: AwarenessStateLimits;
  /** Peers whose refused awareness state was logged: one line per connection, not per frame. */
  private readonly warned = new WeakSet<ClientSession>();

  constructor(
    private readonly ctx: FeatureContext,
    private readonly storage: StorageFeature,
    private readonly presence: PresenceFeature,
  ) {
    this.maxHeldBytes = 1024 * 1024 + 2 * (ctx.config.storage?.maxUpdateBytes ?? 0);
    const { limits } = ctx.config;
    this.stateLimits = {
      maxStateBytes: limits.maxPresenceMetadataBytes - AWARENESS_WRAPPER_BYTES,
      maxDepth: limits.maxDepth - 2,
    };
    presence.onFlush((room) => this.mirrorPresence(room));
    ctx.rooms.onDelivery('awareness', (room, message) => this.fromOtherNode(room, message.message));
    ctx.rooms.answerQueries('awareness', (roomId) => this.answerAwareness(roomId));
    this.renewTimer = setInterval(
      () => guarded(ctx.logger, 'awareness renewal', () => this.renewMirrors()),
      MIRROR_RENEW_MS,
    );
    this.renewTimer.unref();
  }

  /** Every frame of a y-websocket socket comes here, once the dispatcher admitted it. */
  handleWireFrame(session: ClientSession, data: Buffer, isBinary: boolean): void {
    if (session.backlog !== null) {
      session.backlogBytes += data.length;
      if (session.backlog.length >= MAX_HELD_FRAMES || session.backlogBytes > this.maxHeldBytes) {
        session.close(CloseCode.RateLimited, 'too many messages while the document was loading');
      } else {
        session.backlog.push({ data, isBinary, size: data.length });
      }
      return;
    }
    guarded(this.ctx.logger, 'y-websocket frame', () => this.process(session, data, isBinary));
  }

  onJoin({ room, connection }: MemberPayload): void {
    const { session } = connection;
    if (session.wire !== 'y-websocket') {
      // The room's first connection here: other nodes' peers may want this node's members.
      if (room.localSize === 1 && !this.awareness.has(room)) this.askOtherNodes(room);
      return;
    }
    connection.storage = 'y-websocket';
    const awareness = this.awarenessOf(room);
    awareness.peerCount++;
    // New clocks for the mirrored members, for the snapshot this peer gets: a provider that
    // reconnects remembers their old clocks and would ignore states that are not newer.
    awareness.syncMirror(room, true);
    const loaded = this.storage.document(room);
    if (!(loaded instanceof Promise)) {
      this.greet(connection, loaded);
      return;
    }
    session.backlog = [];
    session.backlogBytes = 0;
    loaded.then(
      (doc) => {
        if (session.memberships.get(room.id) !== connection) return;
        this.greet(connection, doc);
        const held = session.backlog ?? [];
        session.backlog = null;
        for (const frame of held) {
          if (session.isClosing) break;
          guarded(this.ctx.logger, 'y-websocket frame', () =>
            this.process(session, frame.data, frame.isBinary),
          );
        }
      },
      (error: unknown) => {
        this.ctx.logger.error({ err: error, roomId: room.id }, 'y-websocket: document load failed');
        session.close(CloseCode.InternalError, 'the room document could not be loaded');
      },
    );
  }

  onLeave({ room, connection }: MemberPayload): void {
    if (connection.session.wire !== 'y-websocket') {
      // The presence flush skips a room without connections here: its last member's mirrored
      // entry is removed now (for other nodes' peers).
      if (room.localSize === 0) this.mirrorPresence(room);
      return;
    }
    const awareness = this.awareness.get(room);
    if (!awareness) return;
    const removed = awareness.removePeer(connection.session);
    if (--awareness.peerCount === 0 && !awareness.shared) this.awareness.delete(room);
    // Also when no peer is left here: other nodes' peers drop the states too.
    if (removed.length > 0) this.sendAwareness(room, removed);
  }

  onRoomUnload({ room }: RoomUnloadedPayload): void {
    this.awareness.delete(room);
  }

  close(): void {
    clearInterval(this.renewTimer);
    this.awareness.clear();
  }

  /** First messages to a peer: the server's state vector, and every awareness state. */
  private greet(connection: Membership, doc: RoomDocument): void {
    connection.session.sendBinary(encodeSyncStep1(doc.stateVector()));
    this.sendStates(connection, false);
  }

  /**
   * Every awareness state in the room, to one peer: this node's connections' (also when there
   * are none, if `always`), then each other node's that serves the room (asked for).
   */
  private sendStates(connection: Membership, always: boolean): void {
    const { session, room } = connection;
    const own = this.awarenessOf(room).snapshot();
    if (always || own.length > 0) {
      session.sendBinary(encodeAwarenessMessage(encodeAwarenessUpdate(own)));
    }
    this.askOtherNodes(room, (update) => {
      if (session.memberships.get(room.id) === connection) {
        session.sendBinary(encodeAwarenessMessage(update));
      }
    });
  }

  /**
   * Asks the other nodes for their connections' awareness states. Those serving the room answer
   * (see `answerAwareness`): then there are peers on other nodes, so this node serves it too.
   */
  private askOtherNodes(room: Room, each?: (update: Uint8Array) => void): void {
    // Awareness is best effort: a failure here is logged, never a failed join.
    const answered = (answers: Uint8Array[]): void =>
      guarded(this.ctx.logger, 'awareness answers', () => {
        if (answers.length === 0 || this.ctx.rooms.get(room.id) !== room) return;
        const awareness = this.serve(room);
        for (const update of answers) {
          const clients = readAwarenessClients(update);
          if (clients !== null) awareness.noteOtherNodes(clients, Date.now());
          each?.(update);
        }
      });
    const answers = this.ctx.rooms.query('awareness', room.id);
    if (!(answers instanceof Promise)) answered(answers);
    else {
      answers.then(answered, (error: unknown) => {
        this.ctx.logger.error({ err: error, roomId: room.id }, 'asking for awareness failed');
      });
    }
  }

  /**
   * This node's part of the room's awareness, for another node: its peers' states and its
   * mirrored members, or null if it does not serve the room (no peer here, none heard of).
   */
  private answerAwareness(roomId: string): Uint8Array | null {
    const room = this.ctx.rooms.get(roomId);
    const awareness = room && this.awareness.get(room);
    if (!room || !awareness) return null;
    // Asked by a node whose peer arrives, or that opens the room: wanted there from now on.
    awareness.shared = true;
    // New clocks for the mirrored members: the asking node's peer may be a provider that
    // reconnected, which remembers their old clocks and would ignore states that are not newer.
    awareness.syncMirror(room, true);
    const states = awareness.snapshot();
    return states.length === 0 ? null : encodeAwarenessUpdate(states);
  }

  /**
   * Another node's awareness message (from its peers, or its mirrored members): there are peers
   * somewhere, so this node serves the room; delivered to the peers here.
   */
  private fromOtherNode(room: Room, message: Uint8Array): void {
    const decoded = decodeYjsMessage(message);
    const clients = decoded?.type === 'awareness' ? readAwarenessClients(decoded.update) : null;
    const awareness = this.serve(room);
    if (clients !== null) awareness.noteOtherNodes(clients, Date.now());
    room.deliverToYjsPeers(message);
  }

  /**
   * From now on (until the room unloads here) this node mirrors its members into the room's
   * awareness for other nodes' peers too; a node that starts now sends them all at once.
   */
  private serve(room: Room): RoomAwareness {
    const serving = this.awareness.get(room);
    if (serving) {
      serving.shared = true;
      return serving;
    }
    const awareness = this.awarenessOf(room);
    awareness.shared = true;
    this.mirrorPresence(room);
    return awareness;
  }

  private process(session: ClientSession, data: Buffer, isBinary: boolean): void {
    const connection = session.defaultRoom
      ? session.memberships.get(session.defaultRoom)
      : undefined;
    const message = isBinary && connection ? decodeYjsMessage(data) : null;
    if (!connection || message === null) {
      this.ctx.logger.debug({ connectionId: session.id }, 'y-websocket: unusable frame dropped');
      return;
    }
    const { room } = connection;
    const doc = room.storageDocument as RoomDocument | null;
    switch (message.type) {
      case 'sync':
        if (doc === null) return;
        if (message.step === YSyncStep.Step1) {
          this.refusable(session, () =>
            // The whole document for a new peer: may exceed the send-buffer limit while it drains.
            session.sendBinary(encodeSyncStep2(doc.diff(message.payload)), true),
          );
        } else {
          this.refusable(session, () => {
            const outcome = this.storage.apply(
              { room, connection } satisfies RoomTarget,
              doc,
              message.payload,
            );
            // Nothing to acknowledge on this protocol; a failure at stop is logged by the writer.
            if (outcome instanceof LaterReply) outcome.reply.catch(() => {});
          });
        }
        return;
      case 'awareness':
        this.fromPeer(connection, message.update, data);
        return;
      case 'query-awareness':
        this.sendStates(connection, true);
        return;
      case 'auth':
        return;
    }
  }

  /** Runs a step that may refuse the input (bad update, read-only, limits): logged, dropped. */
  private refusable(session: ClientSession, step: () => void): void {
    try {
      step();
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.ctx.logger.debug(
        { connectionId: session.id, code: error.code, reason: error.message },
        'y-websocket: update refused',
      );
    }
  }

  /**
   * A peer's awareness update: recorded, forwarded as-is to every y-websocket peer (the sender
   * too, as the reference server does: it keeps the sender's connection alive), and its state
   * shown to Roomkit members as the connection's presence `metadata.awareness`.
   */
  private fromPeer(connection: Membership, update: Uint8Array, frame: Buffer): void {
    const decoded = decodeAwarenessUpdate(update, MAX_AWARENESS_ENTRIES, this.stateLimits);
    if (decoded === null) return;
    const { room, session } = connection;
    if (decoded.refused.length > 0) this.refusedStates(connection, decoded.refused);
    const { entries } = decoded;
    const awareness = this.awarenessOf(room);
    const accepted = awareness.applyFromPeer(session, entries, {
      maxClientsPerPeer: MAX_CLIENTS_PER_PEER,
    });
    if (accepted.length === 0) return;
    room.broadcastAwareness(
      accepted.length === entries.length && decoded.refused.length === 0
        ? new Uint8Array(frame)
        : encodeAwarenessMessage(encodeAwarenessUpdate(accepted)),
    );
    const state = awareness.stateOf(session);
    // What `auth` vouched for stays, on top, as for any presence metadata. The state fits
    // `maxPresenceMetadataBytes` as `{awareness: state}` (see `stateLimits`).
    const fromAuth = session.identity.metadata;
    this.presence.update(connection, {
      metadata: state === undefined ? fromAuth : { awareness: state, ...fromAuth },
      lastActiveAt: Date.now(),
    });
  }

  /**
   * Refused states are dropped: not held, relayed nor shown in presence. The connection goes on
   * (a provider resends its state every 15 s; a log line each time would flood), so only its
   * first refusal is logged.
   */
  private refusedStates(connection: Membership, refused: RefusedAwarenessEntry[]): void {
    const { session } = connection;
    if (this.warned.has(session)) return;
    this.warned.add(session);
    this.ctx.logger.warn(
      {
        connectionId: session.id,
        roomId: connection.room.id,
        userId: connection.user.userId,
        clientId: refused[0]!.clientId,
        reason: refused[0]!.reason,
      },
      'y-websocket: awareness state refused (later refusals on this connection are not logged)',
    );
  }

  /** After a presence broadcast: mirror the Roomkit members into the peers' awareness. */
  private mirrorPresence(room: Room): void {
    const awareness = this.awareness.get(room);
    if (!awareness) return;
    const changed = awareness.syncMirror(room);
    if (changed.length > 0) this.sendAwareness(room, changed);
  }

  private renewMirrors(): void {
    const now = Date.now();
    for (const [room, awareness] of this.awareness) {
      awareness.pruneOtherNodes(now);
      const entries = awareness.syncMirror(room, true);
      if (entries.length > 0) this.sendAwareness(room, entries);
    }
  }

  private sendAwareness(room: Room, entries: readonly AwarenessEntry[]): void {
    room.broadcastAwareness(encodeAwarenessMessage(encodeAwarenessUpdate(entries)));
  }

  private awarenessOf(room: Room): RoomAwareness {
    let awareness = this.awareness.get(room);
    if (!awareness) {
      awareness = new RoomAwareness(() => ++this.mirrorClock);
      this.awareness.set(room, awareness);
    }
    return awareness;
  }
}
