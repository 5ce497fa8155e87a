import { Socket } from 'node:net';

/**
 * Gives a stock server the write batching Roomkit has, without touching its code: every TCP
 * socket in this process is corked on its first write in an event-loop turn, and all of them are
 * uncorked together in one setImmediate, so whatever a turn writes to a socket leaves in one
 * writev. Used by the `*-corked` Yjs peers (Hocuspocus and y-websocket-server as they ship, plus
 * this). The stats endpoint's replies are batched too, which only delays them by a turn.
 */
export function corkSocketsPerTurn(): void {
  const write = Socket.prototype.write as (this: Socket, ...args: unknown[]) => boolean;
  const corked = new Set<Socket>();
  let uncorkScheduled = false;
  const uncorkAll = () => {
    uncorkScheduled = false;
    for (const socket of corked) if (!socket.destroyed) socket.uncork();
    corked.clear();
  };
  const batched = function (this: Socket, ...args: unknown[]): boolean {
    if (!corked.has(this) && !this.destroyed) {
      this.cork();
      corked.add(this);
      if (!uncorkScheduled) {
        uncorkScheduled = true;
        setImmediate(uncorkAll);
      }
    }
    return write.apply(this, args);
  };
  Socket.prototype.write = batched as typeof Socket.prototype.write;
}
