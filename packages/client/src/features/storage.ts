import {
  encodeStorageFrame,
  type StorageFrame,
  StorageFrameKind,
} from '@roomkit/protocol/storage-frame';
import * as Y from 'yjs';
import type { RoomClient } from '../room-client.js';
import { type ReadonlySignal, signal } from '../signals.js';
import { RoomkitError } from '../types.js';

/** First and longest wait before asking again for a document the server could not load. */
const SYNC_RETRY_MS = 1000;
const SYNC_RETRY_MAX_MS = 30_000;

/** Marks updates that came from the server, so they are not sent back. */
const REMOTE = Symbol('roomkit-remote');

export interface Storage {
  /** The room's document. Edit it freely, online or not; changes sync both ways. */
  doc: Y.Doc;
  /** The document has caught up with the server since the last (re)join. */
  synced: ReadonlySignal<boolean>;
  /** Local changes not yet confirmed durable by the server (sent and unacknowledged, or not sent yet). */
  pendingUpdates: ReadonlySignal<number>;
  /** The server's last refusal of a local change (`read_only`, `document_too_large`, ...). */
  error: ReadonlySignal<RoomkitError | null>;
  /** Resolves at the next (or current) sync. */
  whenSynced(): Promise<void>;
  dispose(): void;
}

/**
 * The room's Yjs document, synced over binary storage frames: on every (re)join the client sends
 * its state vector, applies what it lacked, and sends back what the server lacked (its offline
 * edits), as y-protocols does. One document per room per client; it outlives disconnects.
 */
export class RoomStorage {
  readonly doc = new Y.Doc();
  private readonly syncedSignal = signal(false);
  private readonly pendingSignal = signal(0);
  private readonly errorSignal = signal<RoomkitError | null>(null);
  private readonly waiters: Array<() => void> = [];
  /** Updates sent and not yet acknowledged. */
  private inFlight = 0;
  /** Local changes made while not synced: they go out with the next sync's answer. */
  private unsent = 0;
  private joined = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryDelayMs = SYNC_RETRY_MS;

  constructor(private readonly room: RoomClient) {
    room.listenFrames((frame) => this.receive(frame));
    room.onJoined(() => {
      this.joined = true;
      this.retryDelayMs = SYNC_RETRY_MS;
      this.sync();
    });
    room.onLeft(() => {
      this.joined = false;
      clearTimeout(this.retryTimer);
      this.syncedSignal.set(false);
    });
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === REMOTE) return;
      if (this.syncedSignal.peek()) this.send(StorageFrameKind.Update, update);
      else {
        this.unsent += 1;
        this.showPending();
      }
    });
  }

  /** A handle on the document; `hold: false` reads it without keeping the client in the room. */
  handle(hold = true): Storage {
    const release = hold ? this.room.hold() : () => {};
    return {
      doc: this.doc,
      synced: this.syncedSignal,
      pendingUpdates: this.pendingSignal,
      error: this.errorSignal,
      whenSynced: () =>
        this.syncedSignal.peek()
          ? Promise.resolve()
          : new Promise<void>((resolve) => this.waiters.push(resolve)),
      dispose: release,
    };
  }

  /**
   * Sends the state vector, with a `ref` so a refusal is seen: a document the server could not
   * load (`storage_unavailable`) is asked for again, with backoff, for as long as the room is held.
   */
  private sync(): void {
    clearTimeout(this.retryTimer);
    this.syncedSignal.set(false);
    const { client } = this.room;
    const ref = client.makeRef();
    const frame = encodeStorageFrame({
      kind: StorageFrameKind.SyncStep1,
      room: this.room.id,
      tag: ref,
      payload: Y.encodeStateVector(this.doc),
    });
    if (!client.sendBinary(frame)) return;
    void client.expect(ref).then((reply) => {
      if (reply.ok || reply.error.code === 'disconnected') return;
      this.errorSignal.set(reply.error);
      client.reportError(reply.error);
      if (!this.joined) return;
      this.retryTimer = setTimeout(() => {
        if (this.joined) this.sync();
      }, this.retryDelayMs);
      this.retryDelayMs = Math.min(SYNC_RETRY_MAX_MS, this.retryDelayMs * 2);
    });
  }

  private showPending(): void {
    this.pendingSignal.set(this.inFlight + this.unsent);
  }

  private receive(frame: StorageFrame): void {
    try {
      this.apply(frame);
    } catch (error) {
      // A malformed update or state vector from the server: the document is left as Yjs left it.
      const reason = error instanceof Error ? error.message : String(error);
      this.room.client.reportError(
        new RoomkitError('invalid_update', `room ${this.room.id}: bad document frame (${reason})`),
      );
    }
  }

  private apply(frame: StorageFrame): void {
    switch (frame.kind) {
      case StorageFrameKind.SyncStep2:
        Y.applyUpdate(this.doc, frame.payload, REMOTE);
        this.errorSignal.set(null);
        this.syncedSignal.set(true);
        for (const resolve of this.waiters.splice(0)) resolve();
        break;
      case StorageFrameKind.SyncStep1: {
        // The server's state vector: send back what it lacks (edits made while offline).
        const missing = Y.encodeStateAsUpdate(this.doc, frame.payload);
        this.unsent = 0;
        if (missing.length > 2) this.send(StorageFrameKind.SyncStep2, missing);
        else this.showPending();
        break;
      }
      case StorageFrameKind.Update:
        Y.applyUpdate(this.doc, frame.payload, REMOTE);
        break;
    }
  }

  private send(kind: StorageFrameKind, payload: Uint8Array): void {
    const { client } = this.room;
    const ref = client.makeRef();
    const sent = client.sendBinary(
      encodeStorageFrame({ kind, room: this.room.id, tag: ref, payload }),
    );
    // Not sent: the next sync carries it (the server's state vector will not cover it).
    if (!sent) {
      this.unsent += 1;
      this.showPending();
      return;
    }
    this.inFlight += 1;
    this.showPending();
    void client.expect(ref).then((reply) => {
      this.inFlight -= 1;
      // Lost with the connection: unconfirmed, so it counts until the next sync sends it again.
      if (!reply.ok && reply.error.code === 'disconnected') this.unsent += 1;
      this.showPending();
      if (!reply.ok && reply.error.code !== 'disconnected') {
        this.errorSignal.set(reply.error);
        client.reportError(reply.error);
      }
    });
  }
}
