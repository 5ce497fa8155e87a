import { ErrorCode } from '@roomkit/protocol';
import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';
import { ProtocolError } from '../features/feature.js';

/** The spec's `StorageDocument`: a room's CRDT document. */
export interface StorageDocument {
  /** The room's Yjs document. Change it only through the server (it broadcasts and persists). */
  readonly doc: Y.Doc;
  /** The whole document as one Yjs update: what `initialStorage` accepts back. */
  serialize(): Uint8Array;
  stateVector(): Uint8Array;
}

/** The outcome of applying a client's update. */
export interface Applied {
  /** What actually changed (for the other members), or null if the update brought nothing new. */
  changes: Uint8Array | null;
  /** Whether the update must be stored: it changed something or is waiting for missing parts. */
  store: boolean;
  /**
   * The document held parts waiting for this update's content: the changes may include more than
   * the sender sent (e.g. someone else's delete set), so the sender needs them too.
   */
  completedPending: boolean;
}

/**
 * An update that decoded cleanly but that Yjs could not integrate in full: it threw half-way,
 * after integrating `integrated` (which cannot be taken back). The caller shares and stores that
 * part like any change, so every replica stays identical, and refuses the update.
 */
export class PartlyAppliedError extends ProtocolError {
  constructor(readonly integrated: Uint8Array) {
    super(ErrorCode.InvalidUpdate, 'the Yjs update could not be applied in full');
  }
}

function invalid(what: string): ProtocolError {
  return new ProtocolError(ErrorCode.InvalidUpdate, what);
}

/**
 * One room's Yjs document. Every update is decoded in full before it touches the document, so a
 * malformed or truncated one is refused and leaves it unchanged. `bytes` tracks the document's
 * stored size (snapshot plus updates since), which the document size limit is checked against.
 */
export class RoomDocument implements StorageDocument {
  readonly doc = new Y.Doc({ gc: true });
  private bytes = 0;
  private lastChanges: Uint8Array | null = null;

  constructor(
    readonly roomId: string,
    private readonly maxDocumentBytes: number,
  ) {
    this.doc.on('update', (update: Uint8Array) => {
      this.lastChanges = update;
    });
  }

  serialize(): Uint8Array {
    return Y.encodeStateAsUpdate(this.doc);
  }

  stateVector(): Uint8Array {
    return Y.encodeStateVector(this.doc);
  }

  /** Size the limit is checked against: the last snapshot plus every update stored since. */
  get storedBytes(): number {
    return this.bytes;
  }

  /** Resets the size after a compaction, to the snapshot's. */
  compacted(snapshotBytes: number): void {
    this.bytes = snapshotBytes;
  }

  /** Throws `invalid_update` for a malformed state vector (empty is fine: "I have nothing"). */
  static checkStateVector(stateVector: Uint8Array): void {
    if (stateVector.length === 0) return;
    let complete = false;
    try {
      // Pairs of (client, clock) after a count, and nothing after them.
      const decoder = decoding.createDecoder(stateVector);
      const count = decoding.readVarUint(decoder);
      for (let i = 0; i < count; i++) {
        decoding.readVarUint(decoder);
        decoding.readVarUint(decoder);
      }
      complete = decoder.pos === stateVector.length;
    } catch {
      complete = false;
    }
    if (!complete) throw invalid('the state vector is malformed or truncated');
  }

  /** What a client with state vector `stateVector` lacks. Throws `invalid_update` for a bad vector. */
  diff(stateVector: Uint8Array): Uint8Array {
    RoomDocument.checkStateVector(stateVector);
    return Y.encodeStateAsUpdate(this.doc, stateVector.length > 0 ? stateVector : undefined);
  }

  /**
   * Loads stored content (snapshot, stored updates, `initialStorage`'s result). A damaged stored
   * update is skipped and reported, so one bad row cannot make a room unloadable.
   */
  hydrate(update: Uint8Array): boolean {
    try {
      Y.decodeUpdate(update);
      Y.applyUpdate(this.doc, update, 'store');
    } catch {
      return false;
    } finally {
      this.lastChanges = null;
    }
    this.bytes += update.length;
    return true;
  }

  /** Validates then applies a client's update. Throws `ProtocolError`; then nothing changed. */
  apply(update: Uint8Array, origin: unknown): Applied {
    // The running count only grows between compactions (and without a store there are none):
    // near the limit, measure the real size before refusing.
    if (this.bytes + update.length > this.maxDocumentBytes) this.bytes = this.serialize().length;
    if (this.bytes + update.length > this.maxDocumentBytes) {
      throw new ProtocolError(
        ErrorCode.DocumentTooLarge,
        `the room's document would grow past ${this.maxDocumentBytes} bytes`,
      );
    }
    try {
      Y.decodeUpdate(update);
    } catch {
      throw invalid('the Yjs update is malformed or truncated');
    }
    const hadPending = this.hasPending();
    this.lastChanges = null;
    try {
      Y.applyUpdate(this.doc, update, origin);
    } catch {
      // Decoding succeeded, yet Yjs threw while integrating (inconsistent structs). Its
      // transaction still ended and reported what it had integrated by then: that part is in
      // the document for good, so it must travel like any change.
      const integrated = this.takeChanges();
      if (integrated === null) throw invalid('the Yjs update could not be applied');
      this.bytes += integrated.length;
      throw new PartlyAppliedError(integrated);
    }
    const changes = this.takeChanges();
    // An update waiting for parts it depends on changes nothing yet, but must be kept.
    const store = changes !== null || this.hasPending();
    if (store) this.bytes += update.length;
    return { changes, store, completedPending: hadPending && changes !== null };
  }

  /** What the last transaction changed (set by the document's update event), and forget it. */
  private takeChanges(): Uint8Array | null {
    const changes = this.lastChanges;
    this.lastChanges = null;
    return changes;
  }

  private hasPending(): boolean {
    return this.doc.store.pendingStructs !== null || this.doc.store.pendingDs !== null;
  }

  destroy(): void {
    this.doc.destroy();
  }
}
