/**
 * Outgoing frames, paced by a token bucket so the client never sends faster than the server's
 * rate limit (a server drops what comes too fast and then closes the socket, protocol §12). A
 * reconnect's burst (rejoins, resyncs, the app messages kept while offline, a `merge` of many
 * keys) goes out over a few seconds instead of being dropped.
 */
export interface Outgoing {
  data: string | Uint8Array;
  /** An app message (`send`): kept across a disconnect and sent after the next connect. */
  durable?: boolean;
}

export class Pacer {
  private queue: Outgoing[] = [];
  /** How many queued frames are durable. */
  private durable = 0;
  private tokens: number;
  private refilledAt = Date.now();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    /** Writes to the socket; false when it cannot be written to now (the frame stays queued). */
    private readonly write: (data: string | Uint8Array) => boolean,
  ) {
    this.tokens = burst;
  }

  /**
   * Queues `item`. The client's own frames (rejoins, presence, resyncs, state writes) go ahead of
   * app messages still waiting, so a long offline backlog does not hold up the resync; each kind
   * keeps its own order, and a room's join always precedes the app messages queued for it.
   */
  push(item: Outgoing): void {
    const firstDurable = item.durable ? -1 : this.queue.findIndex((queued) => queued.durable);
    if (firstDurable === -1) this.queue.push(item);
    else this.queue.splice(firstDurable, 0, item);
    if (item.durable) this.durable++;
    this.drain();
  }

  /** Removes the oldest durable frame (the queue is over its bound). */
  shiftDurable(): void {
    const index = this.queue.findIndex((item) => item.durable);
    if (index !== -1) {
      this.queue.splice(index, 1);
      this.durable--;
    }
  }

  durableCount(): number {
    return this.durable;
  }

  /**
   * The connection is gone: drops the unsent frames but the newest `keep` durable ones, which
   * wait for the next connect (each feature resyncs after its rejoin instead).
   */
  dropUnsent(keep: number): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const kept = this.queue.filter((item) => item.durable);
    kept.splice(0, kept.length - keep);
    this.queue = kept;
    this.durable = kept.length;
  }

  /** Writes what the tokens allow, until a write fails; schedules the rest. */
  drain = (): void => {
    this.timer = undefined;
    const now = Date.now();
    this.tokens = Math.min(
      this.burst,
      this.tokens + ((now - this.refilledAt) * this.perSecond) / 1000,
    );
    this.refilledAt = now;
    while (this.queue.length > 0 && this.tokens >= 1) {
      if (!this.write(this.queue[0]!.data)) return;
      if (this.queue.shift()!.durable) this.durable--;
      this.tokens -= 1;
    }
    if (this.queue.length > 0 && this.timer === undefined) {
      this.timer = setTimeout(this.drain, Math.ceil(((1 - this.tokens) * 1000) / this.perSecond));
    }
  };
}
