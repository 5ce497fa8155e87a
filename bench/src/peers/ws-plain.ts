import { WebSocket, WebSocketServer } from 'ws';
import { announce, roomOf } from './peer-stats.js';

// The plainest room relay a user would write with ws: a Set per room, send to everyone else.
const rooms = new Map<string, Set<WebSocket>>();
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });

wss.on('connection', (ws, req) => {
  const name = roomOf(req.url);
  const room = rooms.get(name) ?? new Set<WebSocket>();
  rooms.set(name, room);
  room.add(ws);
  ws.on('message', (data, isBinary) => {
    for (const peer of room) {
      if (peer !== ws && peer.readyState === WebSocket.OPEN) peer.send(data, { binary: isBinary });
    }
  });
  ws.on('close', () => room.delete(ws));
});

wss.on('listening', () => void announce((wss.address() as { port: number }).port));
