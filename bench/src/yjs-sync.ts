import * as Y from 'yjs';
import { GENERATOR_LIMIT } from './load.js';
import { delay, ownCpuSeconds, processCpuSeconds } from './measure.js';
import type { ScenarioInput, ScenarioResult } from './scenarios.js';
import { type BuiltDocument, buildDocument, prng, TEXT, typeInto } from './yjs-doc.js';
import type { YjsSystemName } from './yjs-protocols.js';
import { holds, YjsSession } from './yjs-session.js';

/**
 * Initial sync of a 1 MB document, and reconnect of a client that missed 1,000 updates. Both time
 * a real client from starting to connect to holding the whole document (applied into its Y.Doc
 * and compared with the expected text and state vector): the time until the document is usable.
 */

const DOCUMENT_BYTES = 1_000_000;
const MISSED_UPDATES = 1000;
const AUTHOR_CLIENT = 7;

interface Timing {
  /** Socket open → the completing message arrived; → it had been applied. */
  arrivedMs: number;
  convergedMs: number;
}

/** Timed repetitions: p99 by nearest rank is the second slowest of 100. */
const REPS = 100;
const QUICK_REPS = 4;
const WARM_UP = 2;

/** p50/p99 by nearest rank. */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return Math.round((sorted[Math.max(0, at)] ?? 0) * 100) / 100;
}

/**
 * Pushes the document to the server as the sequence of edits it was written in (one update each,
 * from one client), and waits until an observer that stays connected holds all of it. The
 * observer keeps the document loaded on every server (Hocuspocus unloads a document when its
 * last connection closes).
 */
async function seed(input: ScenarioInput<YjsSystemName>, docName: string, built: BuiltDocument) {
  const session = (member: number, doc?: Y.Doc) =>
    new YjsSession({ system: input.system, port: input.port, docName, member, doc });
  const observer = session(0);
  await observer.connect();
  const writer = session(1);
  await writer.connect();
  const start = performance.now();
  for (const update of built.updates) writer.push(update);
  await observer.until(() => holds(observer.doc, built.text, built.stateVector, TEXT), 120_000);
  const seedMs = Math.round(performance.now() - start);
  await writer.close();
  return { observer, session, seedMs };
}

/** The timed part of a repetition; the server's CPU is counted over it only. */
type Timed = (run: () => Promise<Timing>) => Promise<Timing>;

async function measureReps(
  input: ScenarioInput<YjsSystemName>,
  reps: number,
  once: (timed: Timed) => Promise<Timing>,
) {
  let serverCpuSeconds = 0;
  let ownCpuSecondsTimed = 0;
  let wallSeconds = 0;
  const timed: Timed = async (run) => {
    // Let acknowledgements and echoes of the preparation (seeding, the missed typing) drain first,
    // so the generator is idle when the timed client starts.
    await delay(150);
    const server0 = processCpuSeconds(input.serverPid);
    const own0 = ownCpuSeconds();
    const wall0 = performance.now();
    const timing = await run();
    serverCpuSeconds += processCpuSeconds(input.serverPid) - server0;
    ownCpuSecondsTimed += ownCpuSeconds() - own0;
    wallSeconds += (performance.now() - wall0) / 1000;
    return timing;
  };
  // The first repetitions warm up both sides (JIT, buffers) and are not reported.
  for (let i = 0; i < WARM_UP; i++) await once(timed);
  serverCpuSeconds = 0;
  ownCpuSecondsTimed = 0;
  wallSeconds = 0;
  const timings: Timing[] = [];
  for (let rep = 0; rep < reps; rep++) {
    timings.push(await once(timed));
  }
  return { timings, serverCpuSeconds, generatorCpu: ownCpuSecondsTimed / wallSeconds };
}

function result(
  measured: Awaited<ReturnType<typeof measureReps>>,
  note: string,
  details: Record<string, unknown>,
): ScenarioResult {
  const converged = measured.timings.map((t) => t.convergedMs);
  const arrived = measured.timings.map((t) => t.arrivedMs);
  const reps = measured.timings.length;
  return {
    summary: {
      msgsPerSec: 0,
      p50Ms: quantile(converged, 0.5),
      p99Ms: quantile(converged, 0.99),
      p999Ms: quantile(converged, 1),
      loss: 0,
      bytesPerConn: null,
    },
    // Timings are single clients one after the other; the rule of every scenario still applies.
    valid: measured.generatorCpu <= GENERATOR_LIMIT,
    note,
    details: {
      ...details,
      reps,
      arrivedP50Ms: quantile(arrived, 0.5),
      arrivedP99Ms: quantile(arrived, 0.99),
      /** Server CPU per repetition, over the timed part (connect → converged). */
      serverCpuMsPerRep: Math.round((measured.serverCpuSeconds * 1000) / Math.max(1, reps)),
      generatorCpu: Math.round(measured.generatorCpu * 100) / 100,
      timings: measured.timings,
    },
  };
}

export async function syncScenario(input: ScenarioInput<YjsSystemName>): Promise<ScenarioResult> {
  const built = buildDocument(DOCUMENT_BYTES);
  const { observer, session, seedMs } = await seed(input, 'sync', built);
  let member = 100;
  const measured = await measureReps(input, input.quick ? QUICK_REPS : REPS, async (timed) => {
    const client = session(member++);
    const timing = await timed(async () => {
      const start = performance.now();
      await client.connect();
      const at = await client.until(() => holds(client.doc, built.text, built.stateVector, TEXT));
      return { arrivedMs: at.arrivedAt - start, convergedMs: at.convergedAt - start };
    });
    await client.close();
    client.doc.destroy();
    return timing;
  });
  await observer.close();
  return result(
    measured,
    `fresh client, connect → whole document applied (${built.stateBytes} B state, ${built.updates.length} edits by 20 authors)`,
    { stateBytes: built.stateBytes, edits: built.updates.length, seedMs },
  );
}

export async function reconnectScenario(
  input: ScenarioInput<YjsSystemName>,
): Promise<ScenarioResult> {
  const built = buildDocument(DOCUMENT_BYTES);
  const { observer, session, seedMs } = await seed(input, 'reconnect', built);
  // The client that goes away and comes back, synced once (not timed).
  const client = session(2);
  await client.connect();
  await client.until(() => holds(client.doc, built.text, built.stateVector, TEXT));
  // The author types the updates the client misses, in a connected session of its own.
  const authorDoc = new Y.Doc();
  authorDoc.clientID = AUTHOR_CLIENT;
  const author = session(3, authorDoc);
  for (const update of built.updates) author.load(update);
  await author.connect();
  const random = prng(2);
  const measured = await measureReps(input, input.quick ? QUICK_REPS : REPS, async (timed) => {
    await client.close();
    await delay(50);
    typeInto(authorDoc, MISSED_UPDATES, random);
    const text = authorDoc.getText(TEXT).toString();
    const stateVector = Y.encodeStateVector(authorDoc);
    await observer.until(() => holds(observer.doc, text, stateVector, TEXT), 60_000);
    return timed(async () => {
      const start = performance.now();
      await client.connect();
      const at = await client.until(() => holds(client.doc, text, stateVector, TEXT));
      return { arrivedMs: at.arrivedAt - start, convergedMs: at.convergedAt - start };
    });
  });
  await Promise.all([client.close(), author.close(), observer.close()]);
  return result(
    measured,
    `client with the ${built.stateBytes} B document reconnects after missing ${MISSED_UPDATES} keystroke updates: connect → all of them applied`,
    { stateBytes: built.stateBytes, missedUpdates: MISSED_UPDATES, seedMs },
  );
}
