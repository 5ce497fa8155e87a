/**
 * Reconnect delays: exponential, capped, with "equal jitter" (a random point in the upper half of
 * the step), so clients dropped together do not all come back in the same millisecond, while each
 * delay still grows: attempt n waits between half and all of `min(max, initial × 2^(n−1))`.
 */
export function reconnectDelay(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const step = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + (random() * step) / 2);
}
