import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/** An unmasked server frame: FIN + opcode, length (7, 16 or 64 bit), payload. */
export function serverFrame(data: Buffer, opcode: number): Buffer {
  const length = data.length;
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x80 | opcode;
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  data.copy(frame, header);
  return frame;
}

/** The TCP socket under a `ws` WebSocket (for writing pre-built frames to it directly). */
export function socketOf(ws: WebSocket): Socket {
  return (ws as unknown as { _socket: Socket })._socket;
}
