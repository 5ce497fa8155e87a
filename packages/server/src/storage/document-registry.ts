import { ErrorCode } from '@roomkit/protocol';
import type { MaybePromise } from '../bus/room-directory.js';
import type { InitialStorageHandler } from '../config.js';
import { ProtocolError } from '../features/feature.js';
import type { Logger } from '../observability/logger.js';
import type { Store, StoredDocument } from '../store/store.js';
import { DocumentWriter, type WriterOptions } from './document-writer.js';
import { type RemoteApplied, RoomDocument } from './room-document.js';

export interface RegistryOptions {
  store: Store | null;
  initialStorage: InitialStorageHandler | undefined;
  maxDocumentBytes: number;
  writer: WriterOptions;
  logger: Logger;
  /** Whether a room with this id is live (has members or is in its cleanup grace). */
  isRoomLive(roomId: string): boolean;
  /** The copies of the room's document the other nodes have loaded, each as one update. */
  peerDocuments(roomId: string): MaybePromise<Uint8Array[]>;
}

/** Where a document comes from when it loads. */
interface Sources {
  peers: Uint8Array[];
  stored: StoredDocument | null;
  initial: Uint8Array | null;
}

/** Other nodes' updates that arrive while a document loads, applied once it has. */
interface Inbox {
  updates: Uint8Array[];
  bytes: number;
  /** More than a whole document's worth arrived: the load fails rather than hold them all. */
  overflowed: boolean;
}

function unavailable(roomId: string): ProtocolError {
  return new ProtocolError(
    ErrorCode.StorageUnavailable,
    `the document of room "${roomId}" could not be loaded; try again`,
  );
}

/**
 * The loaded documents, by room id. A document is loaded on first use (from the other nodes'
 * copies, the store and/or `initialStorage`; Yjs merges them) and kept while its room lives;
 * other nodes' updates are applied to it as they arrive. When the room goes, the document is
 * compacted, flushed, then destroyed; while the store refuses the write it stays in memory (a
 * rejoin finds it there) and is destroyed once the write lands.
 */
export class DocumentRegistry {
  private readonly docs = new Map<string, RoomDocument>();
  private readonly loading = new Map<string, Promise<RoomDocument>>();
  /** Other nodes' updates for the documents that are loading. */
  private readonly inboxes = new Map<string, Inbox>();
  private closed = false;
  readonly writer: DocumentWriter | null;

  constructor(private readonly options: RegistryOptions) {
    this.writer = options.store
      ? new DocumentWriter(
          options.store,
          (roomId) => {
            const doc = this.docs.get(roomId);
            if (!doc) return null;
            const snapshot = doc.serialize();
            doc.compacted(snapshot.length);
            return snapshot;
          },
          options.writer,
          options.logger,
        )
      : null;
  }

  get(roomId: string): RoomDocument | undefined {
    return this.docs.get(roomId);
  }

  get size(): number {
    return this.docs.size;
  }

  /** The room's document, at once if loaded; otherwise a load (shared by concurrent callers). */
  load(roomId: string): RoomDocument | Promise<RoomDocument> {
    const loaded = this.docs.get(roomId);
    if (loaded) return loaded;
    let loading = this.loading.get(roomId);
    if (!loading) {
      loading = this.read(roomId).finally(() => this.loading.delete(roomId));
      this.loading.set(roomId, loading);
    }
    return loading;
  }

  /**
   * Another node's update for the room: applied to the document if it is loaded, kept for it if
   * it is loading, ignored otherwise (a later load gets it from that node or the store). Returns
   * what it changed (see `RoomDocument.applyRemote`), or null if the document is not loaded.
   */
  applyRemote(roomId: string, update: Uint8Array): RemoteApplied | null {
    const doc = this.docs.get(roomId);
    if (doc) return doc.applyRemote(update);
    const inbox = this.inboxes.get(roomId);
    if (inbox && !inbox.overflowed) {
      inbox.bytes += update.length;
      if (inbox.bytes <= this.options.maxDocumentBytes) inbox.updates.push(update);
      else {
        inbox.overflowed = true;
        inbox.updates = [];
      }
    }
    return null;
  }

  private async read(roomId: string): Promise<RoomDocument> {
    // Open before anything is asked: an update another node applies after answering reaches
    // this node while it loads, and must not be missed.
    const inbox: Inbox = { updates: [], bytes: 0, overflowed: false };
    this.inboxes.set(roomId, inbox);
    try {
      const sources = await this.gather(roomId);
      if (this.closed) {
        throw new ProtocolError(ErrorCode.StorageUnavailable, 'the server is shutting down');
      }
      if (inbox.overflowed) {
        this.options.logger.warn({ roomId }, 'too many updates from other nodes during a load');
        throw unavailable(roomId);
      }
      return this.build(roomId, sources, inbox.updates);
    } finally {
      this.inboxes.delete(roomId);
    }
  }

  /**
   * What the document is made of: the copies other nodes have loaded, what the store holds, and
   * `initialStorage`'s seed for a room neither knows anything of (and every load without a store
   * or other nodes: merged again on every load, a seed made with a fresh client id would repeat).
   */
  private async gather(roomId: string): Promise<Sources> {
    const { store, initialStorage, logger } = this.options;
    try {
      // The other nodes first, the store second: a node drops its copy only once the copy is
      // in the store, so one that is gone when asked is found when the store is read.
      const peers = await this.options.peerDocuments(roomId);
      const stored = store ? await store.loadDocument(roomId) : null;
      const nothing =
        peers.length === 0 &&
        (stored === null || (stored.snapshot === null && stored.updates.length === 0));
      const initial = nothing && initialStorage ? await initialStorage(roomId) : null;
      return { peers, stored, initial };
    } catch (error) {
      logger.error({ err: error, roomId }, 'loading the room document failed');
      throw unavailable(roomId);
    }
  }

  /** The loaded document: its sources, and the other nodes' updates that came meanwhile. */
  private build(roomId: string, sources: Sources, received: Uint8Array[]): RoomDocument {
    const { stored, peers, initial } = sources;
    const doc = new RoomDocument(roomId, this.options.maxDocumentBytes);
    const parts = [stored?.snapshot ?? null, ...(stored?.updates ?? []), ...peers, ...received];
    let damaged = 0;
    for (const part of parts) {
      if (part !== null && !doc.hydrate(part)) damaged++;
    }
    const seeded = initial !== null && initial.length > 0 && doc.hydrate(initial);
    if (initial !== null && initial.length > 0 && !seeded) damaged++;
    if (damaged > 0) {
      this.options.logger.error({ roomId, damaged }, 'skipped damaged stored document updates');
    }
    this.docs.set(roomId, doc);
    this.writer?.setTail(roomId, stored?.updates.length ?? 0);
    // The seed is saved like any update, so the next load finds it in the store.
    if (seeded && initial !== null) this.writer?.append(roomId, initial).catch(() => {});
    // Loaded for a room that is gone already (everyone left meanwhile): do not keep it.
    if (!this.options.isRoomLive(roomId)) setImmediate(() => this.release(roomId));
    return doc;
  }

  /**
   * The room is gone: compact and flush its document, then destroy it unless the room came back
   * meanwhile. Resolves once that happened (after any retries of a failing store).
   */
  async release(roomId: string): Promise<void> {
    if (!this.docs.has(roomId)) return;
    if (this.writer) {
      try {
        // Compacted only if something was appended since the last snapshot.
        await (this.writer.hasTail(roomId)
          ? this.writer.compactNow(roomId)
          : this.writer.flushRoom(roomId));
      } catch {
        return; // stop() gave up on the store; it already logged what was not saved
      }
    }
    const doc = this.docs.get(roomId);
    if (!doc || this.options.isRoomLive(roomId) || this.writer?.hasPending(roomId)) return;
    this.docs.delete(roomId);
    this.writer?.forget(roomId);
    doc.destroy();
  }

  /** Server stop: flush everything (retrying a failing store up to `timeoutMs`), then destroy. */
  async close(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    this.closed = true;
    // A load that hangs (a locked table, a dead connection) is not waited for past the deadline.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(this.loading.values()),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    await this.writer?.close(Math.max(0, deadline - Date.now()));
    for (const doc of this.docs.values()) doc.destroy();
    this.docs.clear();
  }
}
