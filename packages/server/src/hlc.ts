/**
 * Hybrid logical clock folded into one number of milliseconds: every timestamp it issues is
 * greater than any it issued or observed before, and never behind the wall clock. Under a burst
 * of more than one write per millisecond it runs briefly ahead of the wall clock and converges
 * back. Comparing two timestamps (then the writer's id on a tie) gives the same order on every
 * node, which wall-clock time alone cannot.
 */
export class HybridLogicalClock {
  private last = 0;

  constructor(private readonly wallClock: () => number = Date.now) {}

  /** A fresh timestamp for a local event. */
  now(): number {
    const wall = this.wallClock();
    this.last = wall > this.last ? wall : this.last + 1;
    return this.last;
  }

  /** Advances past a timestamp seen from another node, so later local events order after it. */
  observe(remote: number): void {
    if (Number.isFinite(remote) && remote > this.last) this.last = remote;
  }
}
