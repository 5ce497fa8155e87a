import type { Logger } from '../observability/logger.js';
import type { DocumentWrite, Store } from '../store/store.js';

export interface WriterOptions {
  /** Quiet time after the last update before a batch is written. */
  debounceMs: number;
  /** Longest an update waits for its batch, however busy the rooms are. */
  maxWaitMs: number;
  /** Appended updates after which a room is compacted into one snapshot. */
  compactAfterUpdates: number;
  /** First retry delay after a failed write; doubles per failure up to `retryMaxDelayMs`. */
  retryInitialDelayMs: number;
  retryMaxDelayMs: number;
}

/** Longest retry delay while `close()` flushes. */
const CLOSING_RETRY_MS = 100;

interface PendingRoom {
  updates: Uint8Array[];
  compact: boolean;
  /** Settled when this room's pending work is durable (or the writer gave up at stop). */
  waiters: Array<{ resolve: () => void; reject: (error: Error) => void }>;
}

/** Thrown to waiters when `stop()` gave up on a store that kept failing. */
export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super('the store did not accept the write before the server stopped', { cause });
    this.name = 'StoreUnavailableError';
  }
}

/**
 * Batches document writes for every room into one transaction: debounced, with a maximum wait.
 * An update's promise settles only once it is durable. A failed batch stays queued (ahead of
 * anything newer) and is retried with exponential backoff, forever, until it lands or `stop()`
 * gives up: a failing database delays acknowledgements but never loses an update. At most one
 * write is in flight, so batches land in arrival order.
 */
export class DocumentWriter {
  private pending = new Map<string, PendingRoom>();
  private readonly tails = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private firstPendingAt = 0;
  private inFlight: Promise<void> | null = null;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Set by `close()`: retries no longer wait out the full backoff. */
  private closing = false;
  private lastError: unknown = null;
  /** The batch being written (its entries are no longer in `pending`). */
  private writing: Map<string, PendingRoom> | null = null;
  /** Set by `close()` once it flushed or ran out of time: nothing is written or retried after. */
  private stopped = false;

  constructor(
    private readonly store: Store,
    /** The current full state of a room's document, for compaction (null if not loaded). */
    private readonly snapshotOf: (roomId: string) => Uint8Array | null,
    private readonly options: WriterOptions,
    private readonly logger: Logger,
  ) {}

  /** Records how many updates the store holds after the room's snapshot (read at load). */
  setTail(roomId: string, count: number): void {
    this.tails.set(roomId, count);
  }

  forget(roomId: string): void {
    if (!this.hasPending(roomId)) this.tails.delete(roomId);
  }

  /** Queues an update; resolves once it is durable. */
  append(roomId: string, update: Uint8Array): Promise<void> {
    if (this.stopped) return Promise.reject(new StoreUnavailableError(this.lastError));
    const entry = this.entry(roomId);
    entry.updates.push(update);
    const done = this.wait(entry);
    this.schedule(false);
    return done;
  }

  /** Writes the room's snapshot (and everything queued for it) now; resolves once durable. */
  compactNow(roomId: string): Promise<void> {
    if (this.stopped) return Promise.reject(new StoreUnavailableError(this.lastError));
    const entry = this.entry(roomId);
    entry.compact = true;
    const done = this.wait(entry);
    this.schedule(true);
    return done;
  }

  /** Resolves once everything queued for the room is durable (at once if nothing is). */
  flushRoom(roomId: string): Promise<void> {
    const entry = this.pending.get(roomId);
    if (!entry)
      return this.inFlight ? this.inFlight.then(() => this.flushRoom(roomId)) : Promise.resolve();
    const done = this.wait(entry);
    this.schedule(true);
    return done;
  }

  /** True while any room has work that is not yet durable. */
  get busy(): boolean {
    return this.pending.size > 0 || this.inFlight !== null;
  }

  /** Whether the room has updates stored or queued after its snapshot. */
  hasTail(roomId: string): boolean {
    return (this.tails.get(roomId) ?? 0) > 0 || this.pending.has(roomId);
  }

  /** Rooms with updates that are not durable yet. */
  hasPending(roomId: string): boolean {
    // The batch being written counts: a load from the store would not see it yet.
    return this.pending.has(roomId) || this.writing?.has(roomId) === true;
  }

  /**
   * Flushes everything, retrying failures until `timeoutMs`; then rejects whatever is still
   * waiting (and logs how much was not saved). Used by `stop()`. A write that hangs (a locked
   * table, a dead connection) is not waited for past the deadline either.
   */
  async close(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // Stopping: a retry waiting out a long backoff runs now, and later ones come quickly.
    this.closing = true;
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    while (this.busy && Date.now() < deadline) {
      if (!this.inFlight && this.retryTimer === null) this.schedule(true);
      await new Promise<void>((resolve) => setTimeout(resolve, 10).unref());
    }
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.inFlight) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.inFlight.catch(() => {}),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        }),
      ]);
      clearTimeout(timer);
    }
    const unsaved = [...this.pending, ...(this.writing ?? [])];
    this.pending.clear();
    this.giveUp(unsaved, this.lastError);
  }

  /** Rejects the waiters of entries that will not be written, and logs what was lost. */
  private giveUp(entries: Iterable<[string, PendingRoom]>, error: unknown): void {
    const rooms = new Set<string>();
    let lost = 0;
    for (const [roomId, entry] of entries) {
      if (entry.waiters.length === 0 && entry.updates.length === 0) continue;
      rooms.add(roomId);
      lost += entry.updates.length;
      for (const waiter of entry.waiters) waiter.reject(new StoreUnavailableError(error));
      // Emptied, so an entry is given up once (a hung write may still fail after the deadline).
      entry.waiters = [];
      entry.updates = [];
    }
    if (rooms.size === 0) return;
    this.logger.error(
      { err: error, rooms: rooms.size, updates: lost },
      'store unavailable at stop: updates were not saved',
    );
  }

  private entry(roomId: string): PendingRoom {
    let entry = this.pending.get(roomId);
    if (!entry) {
      entry = { updates: [], compact: false, waiters: [] };
      if (this.pending.size === 0) this.firstPendingAt = Date.now();
      this.pending.set(roomId, entry);
    }
    return entry;
  }

  private wait(entry: PendingRoom): Promise<void> {
    return new Promise<void>((resolve, reject) => entry.waiters.push({ resolve, reject }));
  }

  /** Arms the batch timer: the debounce, capped by the oldest update's maximum wait. */
  private schedule(now: boolean): void {
    if (this.stopped || this.inFlight || this.retryTimer || this.pending.size === 0) return;
    if (this.timer) clearTimeout(this.timer);
    const waited = Date.now() - this.firstPendingAt;
    const delay = now
      ? 0
      : Math.max(0, Math.min(this.options.debounceMs, this.options.maxWaitMs - waited));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.inFlight = this.write().finally(() => {
        this.inFlight = null;
        this.schedule(false);
      });
    }, delay);
  }

  private async write(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    const writes: DocumentWrite[] = [];
    for (const [roomId, entry] of batch) {
      const tail = (this.tails.get(roomId) ?? 0) + entry.updates.length;
      const snapshot =
        entry.compact || tail >= this.options.compactAfterUpdates ? this.snapshotOf(roomId) : null;
      writes.push(
        snapshot === null
          ? { roomId, updates: entry.updates }
          : { roomId, updates: entry.updates, snapshot },
      );
    }
    this.writing = batch;
    try {
      await this.store.writeDocuments(writes);
    } catch (error) {
      this.requeue(batch, error);
      return;
    } finally {
      this.writing = null;
    }
    if (this.failures > 0) this.logger.warn({ failures: this.failures }, 'store writes recovered');
    this.failures = 0;
    for (const write of writes) {
      const before = this.tails.get(write.roomId) ?? 0;
      this.tails.set(write.roomId, write.snapshot ? 0 : before + write.updates.length);
      for (const waiter of batch.get(write.roomId)!.waiters) waiter.resolve();
    }
  }

  /** Puts a failed batch back ahead of what arrived meanwhile and retries after a backoff. */
  private requeue(batch: Map<string, PendingRoom>, error: unknown): void {
    this.lastError = error;
    this.failures++;
    if (this.stopped) {
      this.giveUp(batch, error);
      return;
    }
    for (const [roomId, newer] of this.pending) {
      const older = batch.get(roomId);
      if (!older) batch.set(roomId, newer);
      else {
        older.updates.push(...newer.updates);
        older.compact ||= newer.compact;
        older.waiters.push(...newer.waiters);
      }
    }
    this.pending = batch;
    const delay = Math.min(
      this.options.retryInitialDelayMs * 2 ** (this.failures - 1),
      this.closing ? CLOSING_RETRY_MS : this.options.retryMaxDelayMs,
    );
    this.logger.error(
      { err: error, failures: this.failures, retryInMs: delay, rooms: batch.size },
      'store write failed; will retry',
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.schedule(true);
    }, delay);
    this.retryTimer.unref();
  }
}
