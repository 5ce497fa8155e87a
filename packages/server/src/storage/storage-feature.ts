import {
  base64ToBytes,
  bytesToBase64,
  ErrorCode,
  encodeStorageFrame,
  type StorageFrame,
  StorageFrameKind,
} from '@roomkit/protocol';
import type { Delivery } from '../bus/messages.js';
import type { ResolvedStorage } from '../config.js';
import {
  type Feature,
  type FeatureContext,
  type HandlerOutcome,
  type HandlerReply,
  LaterReply,
  type MemberPayload,
  onRoomMessage,
  ProtocolError,
  type RoomTarget,
  type RoomUnloadedPayload,
} from '../features/feature.js';
import { runHook } from '../hooks.js';
import type { Room } from '../rooms/room.js';
import { DocumentRegistry } from './document-registry.js';
import { type Applied, PartlyAppliedError, RoomDocument } from './room-document.js';

type StorageDelivery = Extract<Delivery, { kind: 'storage' }>;

/**
 * CRDT storage: one Yjs document per room, loaded on first use. A client syncs with the
 * y-protocols two-step exchange (its state vector in, what it lacks out, the server's vector
 * back) as binary frames or base64 JSON, and from then on receives the others' updates in the
 * encoding it chose. An update is validated, applied, broadcast at once, and acknowledged once
 * it is durable in the store. In a cluster every node that has the document loaded applies every
 * update (the node that took it from its member stores it); a node loading it merges the copies
 * the other nodes have with the store's.
 */
export class StorageFeature implements Feature {
  readonly name = 'storage';
  readonly registry: DocumentRegistry;
  private readonly limits: ResolvedStorage;

  readonly handlers = [
    onRoomMessage('storage:init', (message, _session, target) => {
      const stateVector =
        message.stateVector === undefined
          ? new Uint8Array(0)
          : this.fromBase64(message.stateVector, 'stateVector');
      const update =
        message.update === undefined ? null : this.fromBase64(message.update, 'update');
      // Checked before the update is applied: an error means nothing happened.
      RoomDocument.checkStateVector(stateVector);
      return this.withDocument(target, (doc) => {
        const applied = update === null ? undefined : this.apply(target, doc, update);
        const reply = {
          type: 'storage:init',
          room: target.room.id,
          update: bytesToBase64(doc.diff(stateVector)),
          stateVector: bytesToBase64(doc.stateVector()),
        };
        target.connection.storage = 'base64';
        // Bringing an update makes the answer its acknowledgement: sent once it is durable.
        return applied instanceof LaterReply
          ? new LaterReply(applied.reply.then(() => reply))
          : reply;
      });
    }),
    onRoomMessage('storage:ops', (message, _session, target) => {
      const update = this.fromBase64(message.update, 'update');
      return this.withDocument(target, (doc) => this.apply(target, doc, update));
    }),
  ];

  constructor(
    private readonly ctx: FeatureContext,
    limits: ResolvedStorage,
  ) {
    this.limits = limits;
    this.registry = new DocumentRegistry({
      store: ctx.config.store,
      initialStorage: ctx.config.hooks.initialStorage,
      maxDocumentBytes: limits.maxDocumentBytes,
      writer: {
        debounceMs: limits.flushDebounceMs,
        maxWaitMs: limits.flushMaxWaitMs,
        compactAfterUpdates: limits.compactAfterUpdates,
        retryInitialDelayMs: limits.retryInitialDelayMs,
        retryMaxDelayMs: limits.retryMaxDelayMs,
      },
      logger: ctx.logger,
      isRoomLive: (roomId) => ctx.rooms.get(roomId) !== undefined,
      peerDocuments: (roomId) => ctx.rooms.query('document', roomId),
    });
    ctx.rooms.answerQueries('document', (roomId) => this.registry.get(roomId)?.serialize() ?? null);
    ctx.rooms.onDelivery('storage', (room, message) => this.fromOtherNode(room, message));
  }

  /**
   * Another node's change to the room's document (that node broadcast it and stores it): applied
   * to this node's copy, and what it changed there delivered to the members here (who are synced
   * with the copy; a node without the document loaded has none to tell). A change holding more
   * than the update (parts the copy held pending, Yjs's own cleanup) goes to every member on
   * every node, and what Yjs derived here is this node's to store.
   */
  private fromOtherNode(room: Room, message: StorageDelivery): void {
    const applied = this.registry.applyRemote(room.id, message.update);
    if (applied === null) return;
    if (applied.failed) {
      this.ctx.logger.error(
        { roomId: room.id },
        "another node's document update could not be applied in full here",
      );
    }
    const { changes } = applied;
    if (changes === null) return;
    if (applied.beyondSender) room.broadcastStorage(changes, this.ctx.clock.now(), message.from);
    else room.deliverStorage(changes, message.clock, message.from, message.exclude);
    if (applied.derived !== null) {
      this.registry.writer?.append(room.id, applied.derived).catch(() => {});
    }
  }

  /** A binary storage frame from a Roomkit connection (already decoded and room-resolved). */
  handleBinaryFrame(frame: StorageFrame, target: RoomTarget): HandlerOutcome {
    if (frame.kind === StorageFrameKind.SyncStep1) {
      return this.withDocument(target, (doc) => {
        const room = target.room.id;
        const { session } = target.connection;
        const diff = doc.diff(frame.payload);
        target.connection.storage = 'binary';
        session.sendBinary(
          encodeStorageFrame({ kind: StorageFrameKind.SyncStep2, room, tag: 0, payload: diff }),
          true,
        );
        session.sendBinary(
          encodeStorageFrame({
            kind: StorageFrameKind.SyncStep1,
            room,
            tag: 0,
            payload: doc.stateVector(),
          }),
        );
        return undefined;
      });
    }
    this.checkSize(frame.payload);
    return this.withDocument(target, (doc) => this.apply(target, doc, frame.payload));
  }

  /**
   * Runs `use` with the room's document: at once if it is loaded, else after loading it (the
   * connection's later messages wait, so they stay in order).
   */
  withDocument(target: RoomTarget, use: (doc: RoomDocument) => HandlerOutcome): HandlerOutcome {
    const loaded = this.document(target.room);
    if (!(loaded instanceof Promise)) return use(loaded);
    return loaded.then((doc) => {
      const { connection } = target;
      if (connection.session.memberships.get(target.room.id) !== connection) {
        throw new ProtocolError(ErrorCode.NotInRoom, `left room "${target.room.id}" meanwhile`);
      }
      return use(doc);
    });
  }

  /** The room's document, loading it on first use; the room keeps a reference once loaded. */
  document(room: Room): RoomDocument | Promise<RoomDocument> {
    const loaded = this.registry.load(room.id);
    if (!(loaded instanceof Promise)) {
      room.storageDocument = loaded;
      return loaded;
    }
    return loaded.then((doc) => {
      if (this.ctx.rooms.get(room.id) === room) room.storageDocument = doc;
      return doc;
    });
  }

  /**
   * Validates and applies a member's update, broadcasts what changed and fires
   * `onStorageChange`. The answer waits until the update is durable when a store is configured.
   */
  apply(target: RoomTarget, doc: RoomDocument, update: Uint8Array): HandlerOutcome {
    const { room, connection } = target;
    if (connection.readOnly) {
      throw new ProtocolError(
        ErrorCode.ReadOnly,
        `this connection may read but not change the document of room "${room.id}"`,
      );
    }
    this.checkSize(update);
    let applied: Applied;
    try {
      applied = doc.apply(update, connection.id);
    } catch (error) {
      if (error instanceof PartlyAppliedError) {
        // Refused, but what Yjs integrated before failing stays: share and store it (the
        // sender too: its copy of the update is not what the room now has).
        this.changed(target, error.integrated, false);
        this.registry.writer?.append(room.id, error.integrated).catch(() => {});
      }
      throw error;
    }
    if (applied.changes !== null) this.changed(target, applied.changes, !applied.beyondSender);
    const writer = this.registry.writer;
    if (writer === null) return undefined;
    if (!applied.store) {
      // Nothing new, but the same content may still be on its way to the store (a client
      // re-sending after a reconnect): acknowledge once the room's writes are durable.
      return writer.hasPending(room.id)
        ? new LaterReply(this.durable(writer.flushRoom(room.id)))
        : undefined;
    }
    // What Yjs derived itself (a formatting cleanup) is not in the sender's update: stored too.
    if (applied.derived !== null) writer.append(room.id, applied.derived).catch(() => {});
    return new LaterReply(this.durable(writer.append(room.id, update)));
  }

  /** The answer once `written` settles: an ack, or `storage_unavailable` if the store gave up. */
  private durable(written: Promise<void>): Promise<HandlerReply> {
    return written.then(
      (): HandlerReply => undefined,
      () => {
        throw new ProtocolError(
          ErrorCode.StorageUnavailable,
          'the update was applied but the store did not save it before the server stopped',
        );
      },
    );
  }

  /** Broadcasts a change (to the sender too unless `skipSender`) and fires `onStorageChange`. */
  private changed(target: RoomTarget, changes: Uint8Array, skipSender: boolean): void {
    const { room, connection } = target;
    const exclude = skipSender ? connection.id : undefined;
    room.broadcastStorage(changes, this.ctx.clock.now(), connection.user.userId, exclude);
    const hook = this.ctx.config.hooks.onStorageChange;
    if (hook) runHook(this.ctx.logger, 'onStorageChange', () => hook(room.id, [changes]));
  }

  onJoin({ room }: MemberPayload): void {
    room.storageDocument ??= this.registry.get(room.id) ?? null;
  }

  onRoomUnload({ room }: RoomUnloadedPayload): void {
    room.storageDocument = null;
    this.registry.release(room.id).catch((error: unknown) => {
      this.ctx.logger.error({ err: error, roomId: room.id }, 'releasing the room document failed');
    });
  }

  /** Server stop: every document flushed (or the store given up on after `stopTimeoutMs`). */
  stop(): Promise<void> {
    return this.registry.close(this.limits.stopTimeoutMs);
  }

  private checkSize(update: Uint8Array): void {
    if (update.length > this.limits.maxUpdateBytes) {
      throw new ProtocolError(
        ErrorCode.UpdateTooLarge,
        `the update is ${update.length} bytes; the limit is ${this.limits.maxUpdateBytes}`,
      );
    }
  }

  private fromBase64(text: string, field: string): Uint8Array {
    const bytes = base64ToBytes(text);
    if (bytes === null) {
      throw new ProtocolError(ErrorCode.InvalidUpdate, `field "${field}" is not valid base64`);
    }
    return bytes;
  }
}
