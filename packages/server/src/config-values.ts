/** Validators for numeric options: each throws a `TypeError` naming the option. */

export function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new TypeError(`RoomServer: ${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

/** A count: a positive whole number (Infinity allowed as "unlimited" only through the default). */
export function count(name: string, value: number | undefined, fallback: number): number {
  const result = positive(name, value, fallback);
  if (value !== undefined && !Number.isInteger(value)) {
    throw new TypeError(`RoomServer: ${name} must be a whole number, got ${String(value)}`);
  }
  return result;
}

/** Zero, or a positive number. */
export function nonNegative(name: string, value: number | undefined, fallback: number): number {
  return value === 0 ? 0 : positive(name, value, fallback);
}
