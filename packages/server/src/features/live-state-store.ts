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
  // Most rooms never write state: the maps are created on the first write.
  private entriesMap: Map<string, StateEntry> | null = null;
  private sizesMap: Map<string, number> | null = null;
  private bytes = 0;

  private get entries(): Map<string, StateEntry> {
    this.entriesMap ??= new Map();
    return this.entriesMap;
  }

  private get sizes(): Map<string, number> {
    this.sizesMap ??= new Map();
    return this.sizesMap;
  }

  constructor(readonly limits: StateLimits) {}

  get maxKeys(): number {
    return this.limits.maxKeys;
  }

  get size(): number {
    return this.entriesMap?.size ?? 0;
  }

  /** Encoded bytes of all entries. */
  get byteSize(): number {
    return this.bytes;
  }

  get(key: string): StateEntry | undefined {
    return this.entriesMap?.get(key);
  }

  has(key: string): boolean {
    return this.entriesMap?.has(key) ?? false;
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

  keys(): IterableIterator<string> {
    return (this.entriesMap ?? new Map<string, StateEntry>()).keys();
  }

  /** A plain snapshot for `state:init`. */
  snapshot(): Record<string, StateEntry> {
    return this.entriesMap ? Object.fromEntries(this.entriesMap) : {};
  }
}

function isNewer(a: StateEntry, b: StateEntry): boolean {
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  return a.userId > b.userId;
}
