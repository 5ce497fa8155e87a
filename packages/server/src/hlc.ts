/** Logical ticks per millisecond: a power of two, so `wall + counter / TICKS` is exact in a double. */
const TICKS = 1024;

/**
 * Hybrid logical clock encoded as one number of milliseconds: the integer part is wall-clock time,
 * the fraction a logical counter (1/1024 ms steps). Every timestamp is greater than any it issued
 * or observed before, yet it stays within a millisecond of the wall clock unless more than 1024
 * events land in one millisecond. Comparing two timestamps (then the writer's id on a tie) gives
 * the same order on every node, which wall-clock time alone cannot. `new Date(ts)` still works.
 */
export class HybridLogicalClock {
  private wall = 0;
  private counter = 0;

  constructor(private readonly wallClock: () => number = Date.now) {}

  /** A fresh timestamp for a local event. */
  now(): number {
    const wall = Math.floor(this.wallClock());
    if (wall > this.wall) {
      this.wall = wall;
      this.counter = 0;
    } else if (++this.counter >= TICKS) {
      this.wall += 1;
      this.counter = 0;
    }
    return this.wall + this.counter / TICKS;
  }

  /** Advances past a timestamp seen from another node, so later local events order after it. */
  observe(remote: number): void {
    if (!Number.isFinite(remote) || remote <= this.wall + this.counter / TICKS) return;
    this.wall = Math.floor(remote);
    this.counter = Math.round((remote - this.wall) * TICKS);
  }
}
