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

/** Parses an awareness update; null if malformed, a state is not JSON, or it lists too many. */
export function decodeAwarenessUpdate(
  update: Uint8Array,
  maxEntries: number,
): AwarenessEntry[] | null {
  try {
    const decoder = decoding.createDecoder(update);
    const count = decoding.readVarUint(decoder);
    if (count > maxEntries) return null;
    const entries: AwarenessEntry[] = [];
    for (let i = 0; i < count; i++) {
      const clientId = decoding.readVarUint(decoder);
      const clock = decoding.readVarUint(decoder);
      const state: unknown = JSON.parse(decoding.readVarString(decoder));
      if (!Number.isSafeInteger(clientId) || !Number.isSafeInteger(clock)) return null;
      entries.push({ clientId, clock, state });
    }
    return finished(decoder, update) ? entries : null;
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
