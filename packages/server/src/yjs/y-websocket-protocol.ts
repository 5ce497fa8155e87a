/**
 * The y-websocket wire protocol, as stock `y-websocket` providers speak it: each binary frame is a
 * varUint message type followed by its body.
 *
 *   0 sync        varUint step (0 state vector | 1 update reply | 2 update), varUint8Array payload
 *   1 awareness   varUint8Array awareness update:
 *                 varUint count, then per client: varUint clientID, varUint clock, varString JSON state
 *   2 auth        (server → client only: permission denied); ignored when a client sends it
 *   3 query       asks for every awareness state
 *
 * Decoding never throws and checks that the frame ends where its last field does.
 */
import { ErrorCode, scanStructure } from '@roomkit/protocol';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

export const YMessage = { Sync: 0, Awareness: 1, Auth: 2, QueryAwareness: 3 } as const;
export const YSyncStep = { Step1: 0, Step2: 1, Update: 2 } as const;
type YSyncStep = (typeof YSyncStep)[keyof typeof YSyncStep];

export type YjsMessage =
  | { type: 'sync'; step: YSyncStep; payload: Uint8Array }
  | { type: 'awareness'; update: Uint8Array }
  | { type: 'auth' }
  | { type: 'query-awareness' };

/** One client's entry in an awareness update; `state` null means the client left. */
export interface AwarenessEntry {
  clientId: number;
  clock: number;
  state: unknown;
}

function finished(decoder: decoding.Decoder, data: Uint8Array): boolean {
  return decoder.pos === data.length;
}

/** Parses one y-websocket frame; null if it is malformed, truncated or of an unknown type. */
export function decodeYjsMessage(data: Uint8Array): YjsMessage | null {
  try {
    const decoder = decoding.createDecoder(data);
    const type = decoding.readVarUint(decoder);
    if (type === YMessage.Sync) {
      const step = decoding.readVarUint(decoder);
      if (step !== 0 && step !== 1 && step !== 2) return null;
      const payload = decoding.readVarUint8Array(decoder);
      return finished(decoder, data) ? { type: 'sync', step, payload } : null;
    }
    if (type === YMessage.Awareness) {
      const update = decoding.readVarUint8Array(decoder);
      return finished(decoder, data) ? { type: 'awareness', update } : null;
    }
    if (type === YMessage.Auth) return { type: 'auth' };
    if (type === YMessage.QueryAwareness) return { type: 'query-awareness' };
    return null;
  } catch {
    return null;
  }
}

/** What one awareness state must respect: the checks a `presence:update`'s metadata gets. */
export interface AwarenessStateLimits {
  /** Largest state, in UTF-8 bytes of its JSON (as the peer sent it, and as it is re-encoded). */
  maxStateBytes: number;
  /** Deepest nesting of objects and arrays in the state (the state itself is depth 1). */
  maxDepth: number;
}

/** An entry whose state was refused (not parsed, or parsed and found unfit): why. */
export interface RefusedAwarenessEntry {
  clientId: number;
  clock: number;
  reason: string;
}

/** An awareness update's entries: those fit to use, and those whose state was refused. */
export interface DecodedAwarenessUpdate {
  entries: AwarenessEntry[];
  refused: RefusedAwarenessEntry[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Whether JSON text nests objects and arrays deeper than `maxDepth`, found by counting brackets
 * outside strings before the text is parsed: a hostile state is refused without building it.
 */
function jsonNestsDeeper(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c /* \ */) i++;
      else if (char === 0x22 /* " */) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x7b /* { */ || char === 0x5b /* [ */) {
      if (++depth > maxDepth) return true;
    } else if (char === 0x7d /* } */ || char === 0x5d /* ] */) {
      depth--;
    }
  }
  return false;
}

/**
 * Reads one state, checked as Roomkit checks inbound JSON: its size before it is decoded, its
 * depth before it is parsed, then forbidden keys (and depth again) with the codec's scan, and
 * the size of its re-encoding (what is stored, relayed to newcomers and shown in presence).
 * Returns the state, or the reason it is refused; throws if it is not UTF-8 JSON.
 */
function readState(
  bytes: Uint8Array,
  limits: AwarenessStateLimits,
): { state: unknown } | { reason: string } {
  const tooLarge = (size: number) => ({
    reason: `state is ${size} bytes; the limit is ${limits.maxStateBytes}`,
  });
  if (bytes.length > limits.maxStateBytes) return tooLarge(bytes.length);
  const text = utf8.decode(bytes);
  const tooDeep = { reason: `state nests deeper than ${limits.maxDepth} levels` };
  if (jsonNestsDeeper(text, limits.maxDepth)) return tooDeep;
  const state: unknown = JSON.parse(text);
  const problem = scanStructure(state, limits.maxDepth);
  if (problem) return problem.code === ErrorCode.TooDeep ? tooDeep : { reason: problem.message };
  const size = Buffer.byteLength(JSON.stringify(state));
  if (size > limits.maxStateBytes) return tooLarge(size);
  return { state };
}

/**
 * Parses an awareness update; null if malformed, a state is not JSON, or it lists too many.
 * A state over `limits` refuses its entry only: the update's other entries stay usable.
 */
export function decodeAwarenessUpdate(
  update: Uint8Array,
  maxEntries: number,
  limits: AwarenessStateLimits,
): DecodedAwarenessUpdate | null {
  try {
    const decoder = decoding.createDecoder(update);
    const count = decoding.readVarUint(decoder);
    if (count > maxEntries) return null;
    const decoded: DecodedAwarenessUpdate = { entries: [], refused: [] };
    for (let i = 0; i < count; i++) {
      const clientId = decoding.readVarUint(decoder);
      const clock = decoding.readVarUint(decoder);
      const read = readState(decoding.readVarUint8Array(decoder), limits);
      if (!Number.isSafeInteger(clientId) || !Number.isSafeInteger(clock)) return null;
      if ('reason' in read) decoded.refused.push({ clientId, clock, reason: read.reason });
      else decoded.entries.push({ clientId, clock, state: read.state });
    }
    return finished(decoder, update) ? decoded : null;
  } catch {
    return null;
  }
}

/** Who an awareness update is about: each entry's client, clock, and whether it removes it. */
export interface AwarenessClient {
  clientId: number;
  clock: number;
  /** The entry's state is `null`: the client left. */
  removed: boolean;
}

const NULL_STATE = new TextEncoder().encode('null');

/**
 * The clients an awareness update names, read without parsing their states (for updates another
 * node checked already); null if it is malformed.
 */
export function readAwarenessClients(update: Uint8Array): AwarenessClient[] | null {
  try {
    const decoder = decoding.createDecoder(update);
    const clients: AwarenessClient[] = [];
    for (let count = decoding.readVarUint(decoder); count > 0; count--) {
      const clientId = decoding.readVarUint(decoder);
      const clock = decoding.readVarUint(decoder);
      const state = decoding.readVarUint8Array(decoder);
      const removed =
        state.length === NULL_STATE.length && state.every((byte, i) => byte === NULL_STATE[i]);
      clients.push({ clientId, clock, removed });
    }
    return finished(decoder, update) ? clients : null;
  } catch {
    return null;
  }
}

export function encodeAwarenessUpdate(entries: readonly AwarenessEntry[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, entries.length);
  for (const entry of entries) {
    encoding.writeVarUint(encoder, entry.clientId);
    encoding.writeVarUint(encoder, entry.clock);
    encoding.writeVarString(encoder, JSON.stringify(entry.state ?? null));
  }
  return encoding.toUint8Array(encoder);
}

function message(type: number, write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, type);
  write(encoder);
  return encoding.toUint8Array(encoder);
}

function syncMessage(step: YSyncStep, payload: Uint8Array): Uint8Array {
  return message(YMessage.Sync, (encoder) => {
    encoding.writeVarUint(encoder, step);
    encoding.writeVarUint8Array(encoder, payload);
  });
}

export function encodeSyncStep1(stateVector: Uint8Array): Uint8Array {
  return syncMessage(YSyncStep.Step1, stateVector);
}

export function encodeSyncStep2(update: Uint8Array): Uint8Array {
  return syncMessage(YSyncStep.Step2, update);
}

export function encodeYjsUpdateMessage(update: Uint8Array): Uint8Array {
  return syncMessage(YSyncStep.Update, update);
}

export function encodeAwarenessMessage(update: Uint8Array): Uint8Array {
  return message(YMessage.Awareness, (encoder) => encoding.writeVarUint8Array(encoder, update));
}
