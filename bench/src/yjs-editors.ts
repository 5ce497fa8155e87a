import type * as hdr from 'hdr-histogram-js';
import * as Y from 'yjs';
import { intendedSendTime, perOperation, type StepResult, stepMeasures } from './load.js';
import {
  CpuMeter,
  delay,
  fetchStats,
  latencyHistogram,
  ownCpuSeconds,
  processCpuSeconds,
} from './measure.js';
import { ReadBatcher } from './read-batcher.js';
import type { ScenarioInput, ScenarioResult } from './scenarios.js';
import { clientFrame, WireClient } from './wire.js';
import { editorLines, firstStructId, TEXT } from './yjs-doc.js';
import { YJS_ADAPTERS, type YjsAdapter, type YjsSystemName } from './yjs-protocols.js';
import { holds, YjsSession } from './yjs-session.js';

/**
 * K editors on one document, each typing one character per update at the end of its own line.
 * Editors are raw-socket clients (bench/src/wire.ts): they sync once, then only count the updates
 * they receive; the sampled ones read the first struct id of each update (client = editor,
 * clock = keystroke) and look up when that keystroke was sent. Each editor's keystrokes are
 * produced by its own Y.Doc ahead of the measured window, so sending costs one socket write.
 */

const EDITOR_CLIENT_BASE = 10_000;
const SOURCES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
const PHRASE = 'the quick brown fox jumps over the lazy dog while everyone types at once ';
const SATURATION_P99_MS = 100;
const TICK_MS = 5;

interface Editor {
  index: number;
  client: WireClient;
  doc: Y.Doc;
  /** Keystrokes typed into the doc so far (= the next struct clock of this editor). */
  typed: number;
  /** Keystrokes sent; frames[sent - base] is the next one to send. */
  sent: number;
  base: number;
  frames: Buffer[];
  /** Where this editor types, in its own view of the document (the end of its line). */
  cursor: number;
  /** Send time of each keystroke, by clock. */
  sentAt: number[];
}

function binary(bytes: Uint8Array): Buffer {
  return clientFrame(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), 2);
}

/** Connects an editor and runs the sync handshake; resolves once its doc has the server's state. */
async function openEditor(
  adapter: YjsAdapter,
  port: number,
  docName: string,
  index: number,
  cursor: number,
  sample: ((payload: Buffer) => void) | undefined,
): Promise<Editor> {
  const doc = new Y.Doc();
  doc.clientID = EDITOR_CLIENT_BASE + index;
  const client = new WireClient({
    port,
    path: adapter.path(docName, index),
    localAddress: SOURCES[index % SOURCES.length],
    marker: adapter.updateMarker(docName),
    binary: true,
    sample,
  });
  // Synced once the server's SyncStep2 is applied and its SyncStep1 answered (every server sends
  // one; y-websocket as soon as the socket opens, so the handler is in place before the upgrade).
  let timer: NodeJS.Timeout | undefined;
  const synced = new Promise<void>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`editor ${index}: sync timed out`)), 15_000);
    let applied = false;
    let answered = false;
    client.onBinary = (payload) => {
      const message = adapter.decode(payload);
      if (message.kind === 'step1') {
        client.send(
          binary(adapter.encode(docName, 'step2', Y.encodeStateAsUpdate(doc, message.payload))),
        );
        answered = true;
      } else if (message.kind === 'step2') {
        Y.applyUpdate(doc, message.payload, 'remote');
        applied = true;
      }
      if (applied && answered) resolve();
    };
  });
  synced.catch(() => undefined); // awaited below; a failed open must not leave it unhandled
  await client.open();
  for (const frame of adapter.hello(docName)) client.send(binary(frame));
  client.send(binary(adapter.encode(docName, 'step1', Y.encodeStateVector(doc))));
  await synced.finally(() => clearTimeout(timer));
  client.onBinary = undefined;
  client.keepControls = false;
  client.controls.length = 0;
  const editor: Editor = {
    index,
    client,
    doc,
    typed: 0,
    sent: 0,
    base: 0,
    frames: [],
    cursor,
    sentAt: [],
  };
  doc.on('update', (update: Uint8Array, origin: unknown) => {
    if (origin === 'remote') return;
    // Roomkit gets a ref and so acknowledges each keystroke, as Hocuspocus does unasked.
    editor.frames.push(binary(adapter.encode(docName, 'update', update, editor.typed + 1)));
  });
  return editor;
}

/** Types ahead so that `count` keystrokes are ready to send. */
function prepare(editor: Editor, count: number): void {
  const text = editor.doc.getText(TEXT);
  if (editor.sent > editor.base) {
    editor.frames = editor.frames.slice(editor.sent - editor.base);
    editor.base = editor.sent;
  }
  while (editor.frames.length < count) {
    text.insert(editor.cursor, PHRASE[editor.typed % PHRASE.length]!);
    editor.cursor++;
    editor.typed++;
  }
}

function received(editors: readonly Editor[]): number {
  let total = 0;
  for (const editor of editors) total += editor.client.count;
  return total;
}

async function typingStep(options: {
  input: ScenarioInput<YjsSystemName>;
  editors: Editor[];
  rate: number;
  durationMs: number;
  histogram: hdr.Histogram;
}): Promise<StepResult> {
  const { input, editors, rate, durationMs, histogram } = options;
  const adapter = YJS_ADAPTERS[input.system];
  const size = editors.length;
  const fanout = size - 1 + (adapter.echoes ? 1 : 0);
  for (const editor of editors) prepare(editor, Math.ceil((rate * durationMs) / 1000) + 2);
  histogram.reset();
  // Decode at most ~20k updates/s at the sampled editors.
  const sampled = editors.filter((e) => e.client.isSampled).length;
  const every = Math.max(1, Math.ceil((rate * fanout * sampled) / 20_000));
  for (const editor of editors) editor.client.sampleEvery = every;
  const before = received(editors);
  const serverCpu = new CpuMeter(() => processCpuSeconds(input.serverPid));
  const ownCpu = new CpuMeter(ownCpuSeconds);
  const server0 = await fetchStats(input.statsPort);
  serverCpu.start();
  ownCpu.start();
  const start = performance.now();
  let sent = 0;
  for (;;) {
    // The last pass sends whatever is still due at the end of the window.
    const elapsed = Math.min(performance.now() - start, durationMs);
    const ticks = (rate * elapsed) / 1000;
    for (let i = 0; i < size; i++) {
      const editor = editors[i]!;
      const due = Math.floor(ticks + i / size);
      const stepSent = editor.sent - editor.base;
      for (let n = stepSent; n < due && n < editor.frames.length; n++) {
        // The time the keystroke was due, not when it went out (see load.ts intendedSendTime).
        editor.sentAt[editor.sent] = intendedSendTime(start, n, i, size, rate);
        editor.client.send(editor.frames[n]!);
        editor.sent++;
        sent++;
      }
    }
    if (elapsed >= durationMs) break;
    await delay(TICK_MS);
  }
  const expected = sent * fanout;
  let last = received(editors) - before;
  let lastChange = performance.now();
  while (last < expected && performance.now() - lastChange < 1500) {
    await delay(10);
    const now = received(editors) - before;
    if (now !== last) {
      last = now;
      lastChange = performance.now();
    }
  }
  const seconds = (Math.max(lastChange, start + durationMs) - start) / 1000;
  const generatorCpu = ownCpu.stop();
  const server = await fetchStats(input.statsPort);
  // Updates delivered to the other editors (echoes to the sender, where a server sends them, are
  // counted for loss but not reported as deliveries).
  const toOthers = Math.round((last * (size - 1)) / fanout);
  return {
    offeredPerSec: rate * size,
    sent,
    expected,
    delivered: last,
    msgsPerSec: Math.round(toOthers / seconds),
    loss: Math.max(0, expected - last),
    ...stepMeasures(histogram, serverCpu.stop(), server, generatorCpu),
    serverCpuUsPerDelivery: perOperation(server.cpuMicros - server0.cpuMicros, last),
  };
}

function passes(step: StepResult): boolean {
  return step.loss === 0 && step.p99Ms <= SATURATION_P99_MS && !step.generatorSaturated;
}

/** Seeds the document with one line per editor and confirms with a fresh client that it is there. */
async function seedLines(input: ScenarioInput<YjsSystemName>, docName: string, size: number) {
  const { update, lineEnds } = editorLines(size);
  const seeder = new YjsSession({ system: input.system, port: input.port, docName, member: 0 });
  await seeder.connect();
  Y.applyUpdate(seeder.doc, update);
  const expected = seeder.doc.getText(TEXT).toString();
  const stateVector = Y.encodeStateVector(seeder.doc);
  const checker = new YjsSession({ system: input.system, port: input.port, docName, member: 1 });
  await checker.connect();
  await checker.until(() => holds(checker.doc, expected, stateVector, TEXT));
  await checker.close();
  return { seeder, lineEnds };
}

export async function editorsScenario(
  input: ScenarioInput<YjsSystemName>,
  size: number,
): Promise<ScenarioResult> {
  const adapter = YJS_ADAPTERS[input.system];
  const histogram = latencyHistogram();
  const docName = `editors-${size}`;
  const { seeder, lineEnds } = await seedLines(input, docName, size);
  const editors: Editor[] = [];
  const sampledEvery = Math.max(1, Math.floor(size / 10));
  const sampler = (i: number) =>
    i % sampledEvery === 0
      ? (payload: Buffer) => {
          const message = adapter.decode(payload);
          if (message.kind !== 'update') return;
          const id = firstStructId(message.payload);
          if (!id || id.client === EDITOR_CLIENT_BASE + i) return;
          const sentAt = editors[id.client - EDITOR_CLIENT_BASE]?.sentAt[id.clock];
          if (sentAt !== undefined)
            histogram.recordValue(Math.max(1, Math.round((performance.now() - sentAt) * 1000)));
        }
      : undefined;
  // Ten joins at a time.
  for (let first = 0; first < size; first += 10) {
    const batch = Array.from({ length: Math.min(10, size - first) }, (_, k) => first + k);
    editors.push(
      ...(await Promise.all(
        batch.map((i) => openEditor(adapter, input.port, docName, i, lineEnds[i]!, sampler(i))),
      )),
    );
  }
  // The editors keep the document alive on every server; the seeder would only add a receiver.
  await seeder.close();
  const batcher = new ReadBatcher();
  for (const editor of editors) batcher.add(editor.client);
  await delay(300);
  const rates = input.quick
    ? size <= 10
      ? [50, 400]
      : [5, 20]
    : // Steps of ~1.4×, fine enough to place each system's saturation point.
      size <= 10
      ? [50, 70, 100, 140, 200, 280, 400, 560, 800, 1120, 1600, 2240, 3200]
      : [2, 3, 5, 7, 10, 14, 20, 28, 40, 56, 80, 112, 160, 224, 320];
  const durationMs = input.quick ? 800 : 2500;
  await typingStep({
    input,
    editors,
    rate: rates[0]!,
    durationMs: input.quick ? 300 : 1000,
    histogram,
  });
  const steps: StepResult[] = [];
  let saturation: StepResult | undefined;
  let note = 'did not saturate within the rate steps';
  let valid = true;
  for (const [index, rate] of rates.entries()) {
    const measure = () => typingStep({ input, editors, rate, durationMs, histogram });
    let step = await measure();
    if (index === 0 && !passes(step) && !step.generatorSaturated) step = await measure();
    steps.push(step);
    if (step.generatorSaturated) {
      note = `generator saturated at ${step.offeredPerSec} updates/s offered; the server was not the limit`;
      valid = saturation !== undefined;
      break;
    }
    if (!passes(step)) {
      note = `saturated at ${step.offeredPerSec} updates/s offered (p99 ${step.p99Ms} ms, loss ${step.loss})`;
      break;
    }
    saturation = step;
    await delay(300);
  }
  if (process.env.BENCH_DEBUG) process.stderr.write(`${JSON.stringify(steps)}\n`);
  batcher.close();
  for (const editor of editors) editor.client.destroy();
  return {
    summary: {
      msgsPerSec: saturation?.msgsPerSec ?? 0,
      p50Ms: saturation?.p50Ms ?? 0,
      p99Ms: saturation?.p99Ms ?? 0,
      p999Ms: saturation?.p999Ms ?? 0,
      loss: saturation?.loss ?? 0,
      bytesPerConn: null,
      serverCpuUsPerOp: saturation?.serverCpuUsPerDelivery ?? null,
    },
    valid,
    note: `${note}; rates are for all editors together`,
    details: { editors: size, echoes: adapter.echoes, steps },
  };
}
