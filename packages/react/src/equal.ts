/**
 * Structural equality for the JSON-like values Roomkit signals carry (member lists, cursors,
 * presence data). Derived signals recompute into fresh arrays whenever anything they read changes
 * (a presence list from the server re-creates every member, even those that did not change), so
 * comparing by identity alone would re-render components whose data is the same.
 */

/** Past this depth values are treated as different (a cycle or absurd nesting, never real data). */
const MAX_DEPTH = 64;

/**
 * True if `a` and `b` hold the same data: primitives by `Object.is`, arrays element by element,
 * plain objects key by key, dates by time; any other object (class instances, errors, `Y.Doc`)
 * only by identity.
 */
export function sameData(a: unknown, b: unknown, depth = 0): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (depth > MAX_DEPTH) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameData(a[i], b[i], depth + 1)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  if (a instanceof Date) return b instanceof Date && Object.is(a.getTime(), b.getTime());
  if (!isPlain(a) || !isPlain(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    if (!Object.hasOwn(b, key)) return false;
    if (!sameData(a[key], b[key], depth + 1)) return false;
  }
  return true;
}

function isPlain(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
