import { Server } from 'node:http';
import { RoomServer } from '@roomkit/server';
import { announce } from './peer-stats.js';

// With BENCH_DEBUG set, log what makes Node answer an upgrade with its bare 400 (a `clientError`
// nobody handles): Roomkit's own refusals carry a JSON reason, Node's do not.
if (process.env.BENCH_DEBUG) {
  const emit = Server.prototype.emit as (
    this: Server,
    event: string | symbol,
    ...args: unknown[]
  ) => boolean;
  Server.prototype.emit = function (this: Server, event: string | symbol, ...args: unknown[]) {
    if (event === 'clientError') {
      const error = args[0] as NodeJS.ErrnoException & { rawPacket?: Buffer };
      console.error(
        `roomkit peer: clientError ${error.code ?? ''} ${error.message} ${error.rawPacket?.subarray(0, 120).toString() ?? ''}`,
      );
    }
    return emit.apply(this, [event, ...args]);
  } as typeof Server.prototype.emit;
}

// Roomkit as a user would run it, with the per-connection rate limit lifted: the benchmark
// measures the relay, not the abuse guard (which would rightly throttle a 30 kHz publisher).
const server = new RoomServer({
  host: '127.0.0.1',
  path: '/r',
  rateLimit: { messagesPerSecond: 1_000_000, burst: 1_000_000, maxViolations: 1_000_000 },
  limits: { maxBufferedBytes: 64 * 1024 * 1024 },
  logger: { debug() {}, info() {}, warn() {}, error: (fields) => console.error(fields) },
});
await server.start(0);
await announce(server.port);
