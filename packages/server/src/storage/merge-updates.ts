import * as Y from 'yjs';

/** A Yjs update that holds nothing: no structs, an empty delete set. */
export const EMPTY_UPDATE: Uint8Array = new Uint8Array([0, 0]);

/**
 * One Yjs update with everything `parts` hold (Yjs merges are commutative and idempotent, so
 * overlapping parts are fine). The first part must be sound (it comes from a live document); a
 * later part that makes the merge throw is left out rather than failing it: a damaged stored
 * update is skipped on every load anyway (`RoomDocument.hydrate`), and it must not block the
 * room's compaction forever.
 */
export function mergeUpdates(parts: readonly Uint8Array[]): Uint8Array {
  const [first = EMPTY_UPDATE, ...rest] = parts;
  const others = rest.filter((part) => !isEmpty(part));
  // Nothing stored beside it (a first compaction with nothing appended): no work.
  if (others.length === 0) return first;
  try {
    return Y.mergeUpdates([first, ...others]);
  } catch {
    // Rare: merge one part at a time to find the ones that fail.
    let merged = first;
    for (const part of others) {
      try {
        merged = Y.mergeUpdates([merged, part]);
      } catch {
        // Left out (see above).
      }
    }
    return merged;
  }
}

function isEmpty(update: Uint8Array): boolean {
  return update.length === EMPTY_UPDATE.length && update[0] === 0 && update[1] === 0;
}
