/**
 * Outgoing frames, paced by a token bucket so the client never sends faster than the server's
 * rate limit (a server drops what comes too fast and then closes the socket, protocol §12). A
 * reconnect's burst (rejoins, resyncs, the offline queue, a `merge` of many keys) goes out over a
 * few seconds instead of being dropped.
 */
export interface Outgoing {
  data: string | Uint8Array;
  /** The request awaiting a reply to this frame: failed if the frame is dropped unsent. */
  ref?: number;
  /** An app message (`send`): kept across a disconnect and sent after the next connect. */
  durable?: boolean;
}

export class Pacer {
  private readonly queue: Outgoing[] = [];
  private tokens: number;
  private refilledAt = Date.now();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    /** Writes to the socket; false when there is no open socket. */
    private readonly write: (data: string | Uint8Array) => boolean,
  ) {
    this.tokens = burst;
  }

  get size(): number {
    return this.queue.length;
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
    this.drain();
  }

  /** Removes and returns the oldest durable frame (the queue is over its bound). */
  shiftDurable(): Outgoing | undefined {
    const index = this.queue.findIndex((item) => item.durable);
    return index === -1 ? undefined : this.queue.splice(index, 1)[0];
  }

  durableCount(): number {
    let count = 0;
    for (const item of this.queue) if (item.durable) count++;
    return count;
  }

  /** The connection is gone: returns every unsent frame (the caller keeps the durable ones). */
  takeAll(): Outgoing[] {
    clearTimeout(this.timer);
    this.timer = undefined;
    return this.queue.splice(0);
  }

  private drain = (): void => {
    this.timer = undefined;
    const now = Date.now();
    this.tokens = Math.min(
      this.burst,
      this.tokens + ((now - this.refilledAt) * this.perSecond) / 1000,
    );
    this.refilledAt = now;
    while (this.queue.length > 0 && this.tokens >= 1) {
      if (!this.write(this.queue[0]!.data)) return;
      this.queue.shift();
      this.tokens -= 1;
    }
    if (this.queue.length > 0 && this.timer === undefined) {
      this.timer = setTimeout(this.drain, Math.ceil(((1 - this.tokens) * 1000) / this.perSecond));
    }
  };
}
