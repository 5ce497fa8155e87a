import { GENERATOR_LIMIT } from './load.js';
import { delay, ownCpuSeconds, processCpuSeconds } from './measure.js';
import { PresenceTally, type TallyPrefixes } from './presence-tally.js';
import type { ScenarioInput, ScenarioResult } from './scenarios.js';
import { ADAPTERS, type SystemName, waitFor } from './systems.js';
import { clientFrame, WireClient } from './wire.js';

/**
 * Big room: N members join ONE room one at a time, each waiting until its own join is
 * acknowledged before the next starts. Measured over the fill (first join started → last byte
 * delivered): bytes delivered to all clients, server CPU seconds, wall time, and whether every
 * member ends up knowing all N members. A time cap turns a fill that cannot finish into
 * "did not finish within X s" with the figures so far.
 */

export const BIG_ROOM_SYSTEMS = [
  'roomkit',
  'ws-corked',
  'socketio',
] as const satisfies readonly SystemName[];
type BigRoomSystem = (typeof BIG_ROOM_SYSTEMS)[number];

const SOURCES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
const ROOM = 'big';
/** No byte for this long after the last join: the fill is over. */
const QUIET_MS = 1000;

interface Protocol {
  path(member: number): string;
  /** Resolves once the server acknowledged this member's join. */
  join(client: WireClient, member: number, timeoutMs: number): Promise<void>;
  prefixes: TallyPrefixes;
  /** Exact tallies cost the generator one search per user per list: sample them where lists are big. */
  exact(member: number, size: number): boolean;
}

const PROTOCOLS: Record<BigRoomSystem, Protocol> = {
  // Roomkit as its own client uses it (`presence-delta`): the joiner gets `welcome`, one presence
  // snapshot (the room before it) and `state:init` (the join's end); then every member gets a
  // `presence:delta` per event-loop turn naming who joined (the joiner included). Heartbeats: see
  // `bigRoom`.
  roomkit: {
    path: (member) => `/r/${ROOM}?userId=u${member}&capabilities=presence-delta`,
    join: async (client, _member, timeoutMs) => {
      await waitFor(client, (text) => text.startsWith('{"type":"state:init"'), timeoutMs);
    },
    prefixes: {
      list: '{"type":"presence","',
      join: '{"type":"presence:delta"',
      joinNamesUsers: true,
    },
    exact: () => true,
  },
  // peers/ws-corked.ts with `presence=1`: the joiner gets the list, the others a `join` notice.
  'ws-corked': {
    path: (member) => `/r/${ROOM}?presence=1&userId=u${member}`,
    join: async (client, _member, timeoutMs) => {
      await waitFor(client, (text) => text.startsWith('{"type":"presence"'), timeoutMs);
    },
    prefixes: { list: '{"type":"presence"', join: '{"type":"join"' },
    exact: () => true,
  },
  // peers/socketio.ts joined with `{ userId }`: the same scheme as Socket.IO events.
  socketio: {
    path: () => ADAPTERS.socketio.path(ROOM, 0),
    join: async (client, member, timeoutMs) => {
      client.onControl = (payload) => {
        if (payload.length === 1 && payload[0] === 0x32) client.send(clientFrame('3'));
      };
      await waitFor(client, (text) => text.startsWith('0{'), timeoutMs);
      const connected = waitFor(client, (text) => text.startsWith('40'), timeoutMs);
      client.send(clientFrame('40'));
      await connected;
      const joined = waitFor(client, (text) => text === '42["joined"]', timeoutMs);
      client.send(clientFrame(`42["join","${ROOM}",{"userId":"u${member}"}]`));
      await joined;
    },
    prefixes: { list: '42["presence"', join: '42["join"' },
    exact: () => true,
  },
};

export function isBigRoomSystem(system: string): system is BigRoomSystem {
  return (BIG_ROOM_SYSTEMS as readonly string[]).includes(system);
}

interface Joined {
  client: WireClient;
  tally: PresenceTally;
}

/** Whether each member's final view holds all `size` members (see PresenceTally). */
function finalCounts(members: readonly Joined[], size: number) {
  const exact = members.filter((m) => m.tally.exact);
  const reference = exact.find((m) => m.tally.count === size)?.tally.lastListBytes;
  let reachedExact = 0;
  let reachedByBytes = 0;
  let minExact = Number.POSITIVE_INFINITY;
  for (const { tally } of members) {
    if (tally.exact) {
      minExact = Math.min(minExact, tally.count ?? 0);
      if (tally.count === size) reachedExact++;
    } else if (reference !== undefined && tally.lastListBytes === reference) reachedByBytes++;
  }
  return {
    exactMembers: exact.length,
    reachedExact,
    minExactCount: exact.length ? minExact : 0,
    /** Uncounted members whose last list is byte for byte as long as a full one. */
    reachedByBytes,
    reached: reachedExact + reachedByBytes,
  };
}

class Timeout extends Error {}

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Timeout('cap')), Math.max(0, ms));
  });
  return Promise.race([promise, cap]).finally(() => clearTimeout(timer));
}

const bytesOf = (members: readonly Joined[]) =>
  members.reduce((total, m) => total + m.client.bytesIn, 0);

export async function bigRoom(input: ScenarioInput, full: number): Promise<ScenarioResult> {
  if (!isBigRoomSystem(input.system)) throw new Error(`big room: ${input.system} not supported`);
  const protocol = PROTOCOLS[input.system];
  const size = input.quick ? full / 5 : full;
  const capSeconds = input.capSeconds ?? (input.quick ? 60 : full >= 10_000 ? 600 : 300);
  const members: Joined[] = [];
  /** Members whose join was acknowledged: `members[0 … joined - 1]`. */
  let joined = 0;
  // Roomkit shows a member silent for 45 s as offline (and broadcasts that): members send the
  // protocol's heartbeat, as a client does, so a long fill stays a fill of online users.
  const heartbeat =
    input.system === 'roomkit'
      ? setInterval(() => {
          const frame = clientFrame('{"type":"heartbeat"}');
          // Joined members only: bytes ahead of a joiner's HTTP upgrade would corrupt it.
          for (const m of members.slice(0, joined)) if (!m.client.closed) m.client.send(frame);
        }, 20_000)
      : undefined;
  const server0 = processCpuSeconds(input.serverPid);
  const own0 = ownCpuSeconds();
  const start = performance.now();
  const deadline = start + capSeconds * 1000;
  let timedOut = false;
  let error: string | undefined;
  for (let i = 0; i < size; i++) {
    const tally = new PresenceTally(protocol.prefixes, protocol.exact(i, size));
    const client = new WireClient({
      port: input.port,
      path: protocol.path(i),
      localAddress: SOURCES[i % SOURCES.length],
      marker: ADAPTERS[input.system].marker('data'),
      onTextPart: tally.part,
    });
    // Counted from the start: what the joiner itself receives is part of the fill.
    members.push({ client, tally });
    try {
      const left = deadline - performance.now();
      // The cap decides (`within`): the handshake's and the join's own timers get a second more,
      // or one of them could fire first, a hair before the deadline, and read as an error.
      await within(
        client.open(left + 1_000).then(() => protocol.join(client, i, left + 1_000)),
        left,
      );
      client.keepControls = false;
      client.controls.length = 0;
      joined++;
    } catch (e) {
      if (e instanceof Timeout || performance.now() >= deadline) timedOut = true;
      else error = `member ${i}: ${String(e)}`;
      break;
    }
    if (process.env.BENCH_DEBUG && (i + 1) % Math.max(1, size / 10) === 0) {
      process.stderr.write(
        `big room: ${i + 1} joined, ${((performance.now() - start) / 1000).toFixed(1)} s, ${(bytesOf(members) / 1e6).toFixed(0)} MB\n`,
      );
    }
  }
  // The last lists are still on their way: wait until no byte arrives for QUIET_MS (or the cap).
  let bytes = bytesOf(members);
  let lastByteAt = performance.now();
  while (!timedOut && !error) {
    await delay(50);
    const now = performance.now();
    const total = bytesOf(members);
    if (total !== bytes) {
      bytes = total;
      lastByteAt = now;
    } else if (now - lastByteAt >= QUIET_MS) break;
    if (now >= deadline) timedOut = true;
  }
  clearInterval(heartbeat);
  const end = timedOut ? performance.now() : lastByteAt;
  const wallSeconds = (end - start) / 1000;
  const serverCpuSeconds = processCpuSeconds(input.serverPid) - server0;
  const generatorCpu = (ownCpuSeconds() - own0) / ((performance.now() - start) / 1000);
  bytes = bytesOf(members);
  const counts = finalCounts(members, size);
  for (const m of members) m.client.destroy();
  const finished = !timedOut && !error && joined === size;
  const mb = (bytes / 1e6).toFixed(1);
  const note = finished
    ? `${size} members joined one at a time in ${wallSeconds.toFixed(1)} s; ${mb} MB delivered in all; server CPU ${serverCpuSeconds.toFixed(2)} s; ${counts.reached} of ${size} members' counts reached ${size} (${counts.exactMembers} counted exactly, lowest ${counts.minExactCount}; ${counts.reachedByBytes} others by their final list's byte length)`
    : error
      ? `failed after ${joined} of ${size} joined (${error}); ${mb} MB delivered; server CPU ${serverCpuSeconds.toFixed(2)} s`
      : `did not finish within ${capSeconds} s: ${joined} of ${size} joined; ${mb} MB delivered so far; server CPU ${serverCpuSeconds.toFixed(2)} s`;
  return {
    summary: {
      msgsPerSec: Math.round(joined / Math.max(wallSeconds, 1e-3)),
      p50Ms: 0,
      p99Ms: 0,
      p999Ms: 0,
      loss: finished ? size - counts.reached : size - joined,
      bytesPerConn: joined ? Math.round(bytes / joined) : null,
      serverCpuUsPerOp: joined ? Math.round((serverCpuSeconds * 1e6) / joined) : null,
      heapPerConn: null,
    },
    valid: generatorCpu <= GENERATOR_LIMIT,
    note: `${note}${input.quick ? ` (quick: ${size} members instead of ${full})` : ''}`,
    details: {
      members: size,
      joined,
      finished,
      timedOut,
      error: error ?? null,
      capSeconds,
      totalBytes: bytes,
      serverCpuSeconds: Math.round(serverCpuSeconds * 100) / 100,
      wallSeconds: Math.round(wallSeconds * 100) / 100,
      generatorCpu: Math.round(generatorCpu * 100) / 100,
      counts,
    },
  };
}
