/**
 * Binary storage frames: Yjs sync and updates without base64 or JSON. Every binary WebSocket
 * frame on a Roomkit connection is one of these (docs/protocol.md, "Storage"):
 *
 *   varUint        kind     0 sync-step-1 | 1 sync-step-2 | 2 update
 *   varString      room     "" means the connection's default room
 *   varUint        tag      client → server: a numeric `ref` (0 = none), echoed in ack/error;
 *                           server → client: the server clock of an update (0 on sync steps)
 *   varUint8Array  payload  a state vector (step 1) or a Yjs update, v1 encoding (step 2, update)
 *
 * The kinds and their meaning are those of y-protocols' sync protocol; the room and tag fields
 * are what a multiplexed, acknowledged connection adds.
 */
import { fromBase64, toBase64 } from 'lib0/buffer';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

export const StorageFrameKind = {
  SyncStep1: 0,
  SyncStep2: 1,
  Update: 2,
} as const;
export type StorageFrameKind = (typeof StorageFrameKind)[keyof typeof StorageFrameKind];

export interface StorageFrame {
  kind: StorageFrameKind;
  /** Room id; `''` stands for the connection's default room. */
  room: string;
  /** `ref` from a client (0 = none) or the server clock on a server update. */
  tag: number;
  payload: Uint8Array;
}

export type StorageFrameResult = { ok: true; frame: StorageFrame } | { ok: false; message: string };

export function encodeStorageFrame(frame: StorageFrame): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, frame.kind);
  encoding.writeVarString(encoder, frame.room);
  encoding.writeVarUint(encoder, frame.tag);
  encoding.writeVarUint8Array(encoder, frame.payload);
  return encoding.toUint8Array(encoder);
}

/**
 * Parses a binary frame. Never throws: a truncated or malformed header, an unknown kind, or
 * bytes after the payload come back as `{ok: false}` with what was wrong. The payload is a view
 * into `data` (no copy); its contents are validated by the storage layer, not here.
 */
export function decodeStorageFrame(data: Uint8Array): StorageFrameResult {
  try {
    const decoder = decoding.createDecoder(data);
    const kind = decoding.readVarUint(decoder);
    if (kind !== 0 && kind !== 1 && kind !== 2) {
      return { ok: false, message: `unknown binary frame kind ${kind}; expected 0, 1 or 2` };
    }
    const room = decoding.readVarString(decoder);
    const tag = decoding.readVarUint(decoder);
    if (!Number.isSafeInteger(tag)) return { ok: false, message: 'ref is out of range' };
    const payload = decoding.readVarUint8Array(decoder);
    if (decoder.pos !== data.length) {
      return {
        ok: false,
        message:
          decoder.pos > data.length
            ? 'binary frame is truncated'
            : `binary frame has ${data.length - decoder.pos} bytes after its payload`,
      };
    }
    return { ok: true, frame: { kind, room, tag, payload } };
  } catch {
    return { ok: false, message: 'binary frame is truncated or malformed' };
  }
}

/** Base64 for Yjs payloads inside JSON messages (`storage:init`, `storage:ops`). */
export function bytesToBase64(bytes: Uint8Array): string {
  return toBase64(bytes);
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 decoding: `null` for anything that is not canonical base64. */
export function base64ToBytes(text: string): Uint8Array | null {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return null;
  return fromBase64(text);
}
