import type { LiveStateEntry } from '../bus/messages.js';

/** Whether `a` wins over `b`: the later timestamp, then the greater node id. */
function isNewer(a: LiveStateEntry, b: LiveStateEntry): boolean {
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  return a.nodeId > b.nodeId;
}

/**
 * A live room's shared state as one node holds it: last writer wins per top-level key, so the
 * nodes that apply the same writes in any order end with the same state.
 */
export class LiveRoomState {
  private readonly entries = new Map<string, LiveStateEntry>();
  /**
   * The values, replaced (never changed in place) on every change: a `live:room-state` frame
   * waiting to be sent keeps the state it was made with.
   */
  private current: Readonly<Record<string, unknown>> = {};

  get values(): Readonly<Record<string, unknown>> {
    return this.current;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Applies each change newer than its key's entry. Returns whether any did. */
  merge(changes: Readonly<Record<string, LiveStateEntry>>): boolean {
    const won: [string, unknown][] = [];
    for (const [key, entry] of Object.entries(changes)) {
      const held = this.entries.get(key);
      if (held && !isNewer(entry, held)) continue;
      this.entries.set(key, entry);
      won.push([key, entry.value]);
    }
    if (won.length === 0) return false;
    // `fromEntries` and spreading define keys, so even a `__proto__` key stays a plain key.
    this.current = { ...this.current, ...Object.fromEntries(won) };
    return true;
  }

  /** The entries, for a node that takes its part of the room. */
  snapshot(): Record<string, LiveStateEntry> {
    return Object.fromEntries(this.entries);
  }
}

/** The changes one write makes: every key of `updates`, stamped alike. */
export function stamp(
  updates: Readonly<Record<string, unknown>>,
  timestamp: number,
  nodeId: string,
): Record<string, LiveStateEntry> {
  return Object.fromEntries(
    Object.entries(updates).map(([key, value]) => [key, { value, timestamp, nodeId }]),
  );
}
