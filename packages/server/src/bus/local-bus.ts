import { Bus, type BusMessage } from './bus.js';

/** The single-process bus: delivery is a synchronous call, so ordering is publish order. */
export class LocalBus extends Bus {
  publish(message: BusMessage): void {
    this.deliver(message);
  }

  async close(): Promise<void> {}
}
