import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import * as hdr from 'hdr-histogram-js';
import type { PeerStats } from './peers/peer-stats.js';

/** Latency in microseconds, 1 µs to 60 s, 3 significant digits. */
export function latencyHistogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

export interface Percentiles {
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  samples: number;
}

export function percentiles(histogram: hdr.Histogram): Percentiles {
  const ms = (q: number) => Math.round(histogram.getValueAtPercentile(q) / 10) / 100;
  return { p50Ms: ms(50), p99Ms: ms(99), p999Ms: ms(99.9), samples: histogram.totalCount };
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU seconds a process has used (user + system), from /proc. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** CPU seconds the whole machine has been busy (all cores, every process), from /proc/stat. */
export function machineBusySeconds(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  // cpu user nice system idle iowait irq softirq steal ...
  const [user, nice, system, , , irq, softirq, steal] = fields.slice(1).map(Number);
  return (
    ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) /
    TICKS_PER_SECOND
  );
}

/** Fraction of one core a process used between `start()` and `stop()`. */
export class CpuMeter {
  private cpu0 = 0;
  private wall0 = 0;
  constructor(private readonly read: () => number) {}
  start(): void {
    this.cpu0 = this.read();
    this.wall0 = performance.now();
  }
  stop(): number {
    const wall = (performance.now() - this.wall0) / 1000;
    return wall > 0 ? (this.read() - this.cpu0) / wall : 0;
  }
}

/** User and system CPU seconds of this process, separately (for diagnosing the generator). */
export function ownCpuSplit(): { user: number; system: number } {
  const usage = process.cpuUsage();
  return { user: usage.user / 1e6, system: usage.system / 1e6 };
}

export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

export function fetchStats(port: number, gc = false): Promise<PeerStats> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: `/stats${gc ? '?gc=1' : ''}` }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve(JSON.parse(body) as PeerStats));
      res.on('error', reject);
    }).on('error', reject);
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
