import type { Socket } from 'node:net';
import type WebSocket from 'ws';

/**
 * A complete unmasked WebSocket text frame (RFC 6455 §5.2): FIN + opcode 1, the payload length
 * in 7, 16 or 64 bits, then the payload. Built once per broadcast; the same bytes then go to
 * every member's socket, which is what makes a fan-out cost one encode instead of one per member.
 */
export function textFrame(payload: string | Buffer): Buffer {
  return frameOf(payload, 0x81);
}

/** The same for a binary frame (FIN + opcode 2): storage updates, y-websocket messages. */
export function binaryFrame(payload: Uint8Array): Buffer {
  return frameOf(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), 0x82);
}

function frameOf(payload: string | Buffer, first: number): Buffer {
  const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = first;
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  // A string is encoded straight into the frame: one copy per broadcast, not two.
  if (typeof payload === 'string') frame.write(payload, header, 'utf8');
  else payload.copy(frame, header);
  return frame;
}

/**
 * The TCP socket under a `ws` connection. Writing pre-built frames to it is safe because this
 * server runs ws without permessage-deflate and never sends Blobs, so ws's own sender writes
 * straight to the socket too (it queues nothing) and frames stay in program order. Socket.IO's
 * engine.io relies on the same property for its pre-encoded frames.
 */
export function socketOf(ws: WebSocket): Socket {
  return (ws as unknown as { _socket: Socket })._socket;
}
