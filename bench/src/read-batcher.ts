import type { WireClient } from './wire.js';

/**
 * Makes counting-only receivers cheap: they read in bursts instead of once per tiny TCP segment.
 * Every `intervalMs` all of them resume for one turn of the event loop and pause again, so each
 * read drains many frames at once. The server's work is unchanged (its writes land in kernel
 * buffers either way); latency is measured on the sampled receivers, which are never paused.
 */
export class ReadBatcher {
  private readonly clients: WireClient[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 100) {
    this.timer = setInterval(() => this.cycle(), intervalMs);
  }

  add(client: WireClient): void {
    if (client.isSampled) return;
    client.pause();
    this.clients.push(client);
  }

  /** Reads everything pending now (before counting at the end of a step). */
  flush(): Promise<void> {
    this.cycle();
    return new Promise((resolve) => setTimeout(resolve, 5));
  }

  close(): void {
    clearInterval(this.timer);
  }

  private cycle(): void {
    for (const client of this.clients) client.resume();
    setImmediate(() => {
      for (const client of this.clients) client.pause();
    });
  }
}
