import type { Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { announce, roomOf } from './peer-stats.js';

// Bare ws with the frame built once per message and the same bytes written to every socket:
// the Node ceiling for a relay.
const rooms = new Map<string, Set<WebSocket>>();
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });

/** An unmasked server frame: FIN + opcode, length (7, 16 or 64 bit), payload. */
function serverFrame(data: Buffer, opcode: number): Buffer {
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

function socketOf(ws: WebSocket): Socket {
  return (ws as unknown as { _socket: Socket })._socket;
}

wss.on('connection', (ws, req) => {
  const name = roomOf(req.url);
  const room = rooms.get(name) ?? new Set<WebSocket>();
  rooms.set(name, room);
  room.add(ws);
  ws.on('message', (data: Buffer, isBinary) => {
    const frame = serverFrame(data, isBinary ? 2 : 1);
    for (const peer of room) {
      if (peer !== ws && peer.readyState === WebSocket.OPEN) socketOf(peer).write(frame);
    }
  });
  ws.on('close', () => room.delete(ws));
});

wss.on('listening', () => void announce((wss.address() as { port: number }).port));
