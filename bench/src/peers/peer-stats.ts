import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** What a server under test reports about itself. */
export interface PeerStats {
  rssBytes: number;
  heapUsedBytes: number;
  /** CPU this process has used so far (user + system), in µs: finer than /proc's 10 ms ticks. */
  cpuMicros: number;
  /** Event-loop delay since the previous report, in ms. */
  loopLagP50Ms: number;
  loopLagP99Ms: number;
  loopLagMaxMs: number;
}

/**
 * Every peer runs this: a tiny HTTP endpoint on its own port (so it never touches the server
 * under test) that answers `GET /stats` (after a GC when `--expose-gc` is on and `?gc=1`), then
 * prints `READY <wsPort> <statsPort>` for the orchestrator.
 */
export async function announce(wsPort: number): Promise<void> {
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  const stats = createServer((req, res) => {
    if (req.url?.includes('gc=1')) (globalThis as { gc?: () => void }).gc?.();
    const memory = process.memoryUsage();
    const cpu = process.cpuUsage();
    const body: PeerStats = {
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      cpuMicros: cpu.user + cpu.system,
      loopLagP50Ms: lag.percentile(50) / 1e6,
      loopLagP99Ms: lag.percentile(99) / 1e6,
      loopLagMaxMs: lag.max / 1e6,
    };
    lag.reset();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => stats.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`READY ${wsPort} ${(stats.address() as AddressInfo).port}\n`);
  process.on('SIGTERM', () => process.exit(0));
}

/** The room a bench client asks for, from its URL path (`/r/<room>`) or query (`?room=`). */
export function roomOf(url: string | undefined): string {
  const parsed = new URL(url ?? '/', 'http://x');
  return parsed.searchParams.get('room') ?? parsed.pathname.split('/').pop() ?? 'default';
}
