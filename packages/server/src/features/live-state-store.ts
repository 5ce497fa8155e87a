import type { StateEntry } from '@roomkit/protocol';

export interface StateLimits {
  maxKeys: number;
  maxBytes: number;
}

/**
 * A room's last-writer-wins key-value store. Order is by the server's hybrid logical clock
 * timestamp, then by `userId` on a tie, so every node resolves concurrent writes the same way.
 * It also keeps the encoded size of each entry, so a room's state has a byte budget.
 */
export class LiveStateStore {
  private readonly entries = new Map<string, StateEntry>();
  private readonly sizes = new Map<string, number>();
  private bytes = 0;

  constructor(readonly limits: StateLimits) {}

  get maxKeys(): number {
    return this.limits.maxKeys;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Encoded bytes of all entries. */
  get byteSize(): number {
    return this.bytes;
  }

  get(key: string): StateEntry | undefined {
    return this.entries.get(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** True if a new key would exceed `maxKeys`. */
  isFull(key: string): boolean {
    return !this.entries.has(key) && this.entries.size >= this.limits.maxKeys;
  }

  /** True if replacing `key` with an entry of `size` bytes would exceed `maxBytes`. */
  wouldExceedBytes(key: string, size: number): boolean {
    return this.bytes - (this.sizes.get(key) ?? 0) + size > this.limits.maxBytes;
  }

  /** Applies the write if it is newer than the stored one. Returns whether it won. */
  set(key: string, entry: StateEntry, size = 0): boolean {
    const current = this.entries.get(key);
    if (current && !isNewer(entry, current)) return false;
    this.entries.set(key, entry);
    this.bytes += size - (this.sizes.get(key) ?? 0);
    this.sizes.set(key, size);
    return true;
  }

  /** A plain snapshot for `state:init`. */
  snapshot(): Record<string, StateEntry> {
    return Object.fromEntries(this.entries);
  }

  keys(): IterableIterator<string> {
    return this.entries.keys();
  }
}

function isNewer(a: StateEntry, b: StateEntry): boolean {
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  return a.userId > b.userId;
}
