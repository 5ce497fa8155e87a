import { ErrorCode } from '@roomkit/protocol';
import type { InitialStorageHandler } from '../config.js';
import { ProtocolError } from '../features/feature.js';
import type { Logger } from '../observability/logger.js';
import type { Store } from '../store/store.js';
import { DocumentWriter, type WriterOptions } from './document-writer.js';
import { RoomDocument } from './room-document.js';

export interface RegistryOptions {
  store: Store | null;
  initialStorage: InitialStorageHandler | undefined;
  maxDocumentBytes: number;
  writer: WriterOptions;
  logger: Logger;
  /** Whether a room with this id is live (has members or is in its cleanup grace). */
  isRoomLive(roomId: string): boolean;
}

/**
 * The loaded documents, by room id. A document is loaded on first use (from the store and/or
 * `initialStorage`; both may contribute, Yjs merges them) and kept while its room lives. When the
 * room goes, the document is compacted, flushed, then destroyed; while the store refuses the
 * write it stays in memory (a rejoin finds it there) and is destroyed once the write lands.
 */
export class DocumentRegistry {
  private readonly docs = new Map<string, RoomDocument>();
  private readonly loading = new Map<string, Promise<RoomDocument>>();
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

  private async read(roomId: string): Promise<RoomDocument> {
    const { store, initialStorage, logger } = this.options;
    let stored: Awaited<ReturnType<Store['loadDocument']>> | null = null;
    let initial: Uint8Array | null = null;
    try {
      stored = store ? await store.loadDocument(roomId) : null;
      // `initialStorage` seeds a room the store knows nothing of (and every load without a
      // store): merged again on every load, a seed made with a fresh client id would repeat.
      const empty = stored === null || (stored.snapshot === null && stored.updates.length === 0);
      if (empty && initialStorage) initial = await initialStorage(roomId);
    } catch (error) {
      logger.error({ err: error, roomId }, 'loading the room document failed');
      throw new ProtocolError(
        ErrorCode.StorageUnavailable,
        `the document of room "${roomId}" could not be loaded; try again`,
      );
    }
    if (this.closed) {
      throw new ProtocolError(ErrorCode.StorageUnavailable, 'the server is shutting down');
    }
    const doc = new RoomDocument(roomId, this.options.maxDocumentBytes);
    const parts = [stored?.snapshot ?? null, ...(stored?.updates ?? [])];
    let damaged = 0;
    for (const part of parts) {
      if (part !== null && !doc.hydrate(part)) damaged++;
    }
    const seeded = initial !== null && initial.length > 0 && doc.hydrate(initial);
    if (initial !== null && initial.length > 0 && !seeded) damaged++;
    if (damaged > 0) logger.error({ roomId, damaged }, 'skipped damaged stored document updates');
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
