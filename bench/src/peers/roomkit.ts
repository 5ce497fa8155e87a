import { RoomServer } from '@roomkit/server';
import { announce } from './peer-stats.js';

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
