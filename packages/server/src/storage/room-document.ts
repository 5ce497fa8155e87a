import { ErrorCode } from '@roomkit/protocol';
import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';
import { ProtocolError } from '../features/feature.js';

/** A room's CRDT document, as server code sees it (`RoomManager.get(id).getStorageDocument()`). */
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
   * The changes hold more than the sender sent, so the sender needs them too: parts the document
   * held pending that this update completed (e.g. someone else's delete set), or changes Yjs made
   * itself in reaction (its Y.Text formatting cleanup).
   */
  beyondSender: boolean;
  /** Changes Yjs made itself (formatting cleanup): not in the sender's update, stored on their own. */
  derived: Uint8Array | null;
}

/** The outcome of applying another node's update (see `RoomDocument.applyRemote`). */
export interface RemoteApplied extends Omit<Applied, 'store'> {
  failed: boolean;
}

/** Merges the updates of the transactions one apply caused (usually one). */
function merged(updates: readonly Uint8Array[]): Uint8Array | null {
  if (updates.length === 0) return null;
  return updates.length === 1 ? updates[0]! : Y.mergeUpdates([...updates]);
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

/** The origin of transactions that apply another node's update. */
const REMOTE = Symbol('remote update');

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
  /** `bytes` when the real size was last measured (compaction or the size limit). */
  private measuredAt = Number.NEGATIVE_INFINITY;
  /**
   * Updates emitted while applying one update: the transaction of the update itself, and any
   * Yjs runs in reaction (after a remote change to formatted Y.Text, Yjs cleans up redundant
   * formatting in a transaction of its own, with this document's client id).
   */
  private emitted: Array<{ update: Uint8Array; origin: unknown }> = [];

  constructor(
    readonly roomId: string,
    private readonly maxDocumentBytes: number,
  ) {
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      this.emitted.push({ update, origin });
    });
  }

  serialize(): Uint8Array {
    return Y.encodeStateAsUpdate(this.doc);
  }

  stateVector(): Uint8Array {
    return Y.encodeStateVector(this.doc);
  }

  /** Resets the size after a compaction, to the snapshot's. */
  compacted(snapshotBytes: number): void {
    this.bytes = snapshotBytes;
    this.measuredAt = snapshotBytes;
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
      this.emitted = [];
    }
    this.bytes += update.length;
    return true;
  }

  /** Validates then applies a client's update. Throws `ProtocolError`; then nothing changed. */
  apply(update: Uint8Array, origin: unknown): Applied {
    try {
      Y.decodeUpdate(update);
    } catch {
      throw invalid('the Yjs update is malformed or truncated');
    }
    // The running count only grows between compactions (and without a store there are none):
    // near the limit, measure the real size before refusing, but not on every update (a full
    // encode of a large document is expensive): only once the count grew by a sixteenth.
    if (
      this.bytes + update.length > this.maxDocumentBytes &&
      this.bytes - this.measuredAt >= this.maxDocumentBytes / 16
    ) {
      this.bytes = this.serialize().length;
      this.measuredAt = this.bytes;
    }
    if (this.bytes + update.length > this.maxDocumentBytes) {
      throw new ProtocolError(
        ErrorCode.DocumentTooLarge,
        `the room's document would grow past ${this.maxDocumentBytes} bytes`,
      );
    }
    const hadPending = this.hasPending();
    this.emitted = [];
    try {
      Y.applyUpdate(this.doc, update, origin);
    } catch {
      // Decoding succeeded, yet Yjs threw while integrating (inconsistent structs). Its
      // transaction still ended and reported what it had integrated by then: that part is in
      // the document for good, so it must travel like any change.
      const integrated = merged(this.takeEmitted().map((event) => event.update));
      if (integrated === null) throw invalid('the Yjs update could not be applied');
      this.bytes += integrated.length;
      throw new PartlyAppliedError(integrated);
    }
    const { changes, derived, beyondSender } = this.changesSince(origin, hadPending);
    // An update waiting for parts it depends on changes nothing yet, but must be kept.
    const store = changes !== null || this.hasPending();
    if (store) this.bytes += update.length + (derived?.length ?? 0);
    return { changes, store, beyondSender, derived };
  }

  /**
   * Applies an update another node applied (and checked) already: that node broadcast and
   * stores it. What it changed here may hold more (parts this copy held pending, Yjs's own
   * cleanup: see `Applied`); then every node and member needs the changes, and what Yjs derived
   * here is this node's to store. `failed`: Yjs threw half-way, which only a copy that differs
   * from the other node's can cause; what it integrated before is in the changes all the same.
   */
  applyRemote(update: Uint8Array): RemoteApplied {
    const hadPending = this.hasPending();
    this.emitted = [];
    let failed = false;
    try {
      Y.applyUpdate(this.doc, update, REMOTE);
    } catch {
      failed = true;
    }
    const applied = this.changesSince(REMOTE, hadPending);
    this.bytes += update.length + (applied.derived?.length ?? 0);
    return { ...applied, failed };
  }

  /** Sorts out what applying one update (in a transaction of `origin`) emitted. */
  private changesSince(origin: unknown, hadPending: boolean): Omit<Applied, 'store'> {
    const events = this.takeEmitted();
    // Nearly always one transaction, the update's own: then no merging and no extra arrays.
    let changes: Uint8Array | null;
    let derived: Uint8Array | null;
    if (events.length === 1) {
      changes = events[0]!.update;
      derived = events[0]!.origin === origin ? null : changes;
    } else {
      changes = merged(events.map((event) => event.update));
      derived = merged(events.filter((e) => e.origin !== origin).map((e) => e.update));
    }
    return { changes, derived, beyondSender: derived !== null || (hadPending && changes !== null) };
  }

  /** The updates emitted since the last call, and forget them. */
  private takeEmitted(): Array<{ update: Uint8Array; origin: unknown }> {
    const events = this.emitted;
    this.emitted = [];
    return events;
  }

  private hasPending(): boolean {
    return this.doc.store.pendingStructs !== null || this.doc.store.pendingDs !== null;
  }

  destroy(): void {
    this.doc.destroy();
  }
}
