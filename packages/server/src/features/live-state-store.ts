import type { StateEntry } from '@roomkit/protocol';

/**
 * A room's last-writer-wins key-value store. Order is by the server's hybrid logical clock
 * timestamp, then by `userId` on a tie, so every node resolves concurrent writes the same way.
 */
export class LiveStateStore {
  private readonly entries = new Map<string, StateEntry>();

  constructor(readonly maxKeys: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): StateEntry | undefined {
    return this.entries.get(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** True if a new key would exceed `maxKeys`. */
  isFull(key: string): boolean {
    return !this.entries.has(key) && this.entries.size >= this.maxKeys;
  }

  /** Applies the write if it is newer than the stored one. Returns whether it won. */
  set(key: string, entry: StateEntry): boolean {
    const current = this.entries.get(key);
    if (current && !isNewer(entry, current)) return false;
    this.entries.set(key, entry);
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
