import { WebSocket, WebSocketServer } from 'ws';
import { announce, roomOf } from './peer-stats.js';
import { serverFrame, socketOf } from './server-frame.js';

// Bare ws with the frame built once per message and the same bytes written to every socket
// (one write per socket per message: no batching; ws-corked adds that).
const rooms = new Map<string, Set<WebSocket>>();
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });

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
