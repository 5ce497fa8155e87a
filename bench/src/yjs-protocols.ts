import { decodeStorageFrame, encodeStorageFrame } from '@roomkit/protocol';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

/**
 * How each system carries Yjs sync on the wire. Every client in the Yjs scenarios speaks these
 * directly (no provider), so the client-side cost is the same code for every system and only the
 * envelope differs:
 *
 * - roomkit: a binary storage frame (varUint kind, varString room, varUint tag, varUint8Array
 *   payload; `@roomkit/protocol`), JSON text frames for everything else.
 * - hocuspocus: varString document name, varUint message type (0 sync, 4 sync reply, 2 auth,
 *   8 sync status, ...), then y-protocols' sync message. A client authenticates per document
 *   first; messages before that are queued by the server.
 * - y-websocket: varUint message type (0 sync, 1 awareness), then y-protocols' sync message.
 */

/** `*-corked`: the same server with its socket writes batched per event-loop turn. */
export const YJS_SYSTEMS = [
  'roomkit',
  'hocuspocus',
  'hocuspocus-corked',
  'y-websocket',
  'y-websocket-corked',
] as const;
export type YjsSystemName = (typeof YJS_SYSTEMS)[number];

/** y-protocols' sync message kinds, which all three share. */
export type SyncKind = 'step1' | 'step2' | 'update';
const KIND_CODE: Record<SyncKind, 0 | 1 | 2> = { step1: 0, step2: 1, update: 2 };
const CODE_KIND: readonly SyncKind[] = ['step1', 'step2', 'update'];

export type YjsMessage = { kind: SyncKind; payload: Uint8Array } | { kind: 'other' };

export interface YjsAdapter {
  /** Request path of a member's WebSocket. */
  path(doc: string, member: number): string;
  /** Frames to send as soon as the socket is open, before the first SyncStep1. */
  hello(doc: string): Uint8Array[];
  /** A client message; `ref` asks for an acknowledgement where the protocol has one (Roomkit). */
  encode(doc: string, kind: SyncKind, payload: Uint8Array, ref?: number): Uint8Array;
  /** A server message; `payload` is a view into `message`. */
  decode(message: Uint8Array): YjsMessage;
  /** The first bytes of a relayed update as it arrives (what counting receivers look for). */
  updateMarker(doc: string): Buffer;
  /** Whether the server also sends an update back to the client that sent it. */
  echoes: boolean;
}

function syncMessage(prefix: (e: encoding.Encoder) => void, kind: SyncKind, payload: Uint8Array) {
  const encoder = encoding.createEncoder();
  prefix(encoder);
  encoding.writeVarUint(encoder, KIND_CODE[kind]);
  encoding.writeVarUint8Array(encoder, payload);
  return encoding.toUint8Array(encoder);
}

function readSync(decoder: decoding.Decoder): YjsMessage {
  const kind = CODE_KIND[decoding.readVarUint(decoder)];
  if (!kind) return { kind: 'other' };
  return { kind, payload: decoding.readVarUint8Array(decoder) };
}

const roomkit: YjsAdapter = {
  path: (doc, member) => `/r/${doc}?userId=u${member}`,
  hello: () => [],
  encode: (_doc, kind, payload, ref = 0) =>
    encodeStorageFrame({ kind: KIND_CODE[kind], room: '', tag: ref, payload }),
  decode: (message) => {
    const parsed = decodeStorageFrame(message);
    if (!parsed.ok) return { kind: 'other' };
    return { kind: CODE_KIND[parsed.frame.kind]!, payload: parsed.frame.payload };
  },
  updateMarker: () => Buffer.from([KIND_CODE.update]),
  echoes: false,
};

const HOCUSPOCUS_SYNC = 0;
const HOCUSPOCUS_SYNC_REPLY = 4;
const HOCUSPOCUS_AUTH = 2;

const hocuspocus: YjsAdapter = {
  path: (doc) => `/${doc}`,
  // What @hocuspocus/provider sends first: an auth message with its token (none here).
  hello: (doc) => {
    const encoder = encoding.createEncoder();
    encoding.writeVarString(encoder, doc);
    encoding.writeVarUint(encoder, HOCUSPOCUS_AUTH);
    encoding.writeVarUint(encoder, 0); // token
    encoding.writeVarString(encoder, '');
    return [encoding.toUint8Array(encoder)];
  },
  encode: (doc, kind, payload) =>
    syncMessage(
      (e) => {
        encoding.writeVarString(e, doc);
        encoding.writeVarUint(e, HOCUSPOCUS_SYNC);
      },
      kind,
      payload,
    ),
  decode: (message) => {
    const decoder = decoding.createDecoder(message);
    decoding.readVarString(decoder);
    const type = decoding.readVarUint(decoder);
    if (type !== HOCUSPOCUS_SYNC && type !== HOCUSPOCUS_SYNC_REPLY) return { kind: 'other' };
    return readSync(decoder);
  },
  updateMarker: (doc) => {
    const encoder = encoding.createEncoder();
    encoding.writeVarString(encoder, doc);
    encoding.writeVarUint(encoder, HOCUSPOCUS_SYNC);
    encoding.writeVarUint(encoder, KIND_CODE.update);
    return Buffer.from(encoding.toUint8Array(encoder));
  },
  // Document.handleUpdate sends every update to all the document's connections.
  echoes: true,
};

const Y_WEBSOCKET_SYNC = 0;

const yWebsocket: YjsAdapter = {
  path: (doc) => `/${doc}`,
  hello: () => [],
  encode: (_doc, kind, payload) =>
    syncMessage((e) => encoding.writeVarUint(e, Y_WEBSOCKET_SYNC), kind, payload),
  decode: (message) => {
    const decoder = decoding.createDecoder(message);
    if (decoding.readVarUint(decoder) !== Y_WEBSOCKET_SYNC) return { kind: 'other' };
    return readSync(decoder);
  },
  updateMarker: () => Buffer.from([Y_WEBSOCKET_SYNC, KIND_CODE.update]),
  // The update handler skips nobody, but `readUpdate` applies with the connection as origin and
  // y-websocket-server's handler broadcasts to every connection, so the sender gets it back too.
  echoes: true,
};

export const YJS_ADAPTERS: Record<YjsSystemName, YjsAdapter> = {
  roomkit,
  hocuspocus,
  'hocuspocus-corked': hocuspocus,
  'y-websocket': yWebsocket,
  'y-websocket-corked': yWebsocket,
};
