import type { Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { announce, roomOf } from './peer-stats.js';
import { serverFrame, socketOf } from './server-frame.js';

// The ceiling baseline: bare ws, each broadcast framed once (as ws-preframed), and each socket's
// writes held for the rest of the event-loop turn (corked on its first write in the turn, all
// uncorked in one setImmediate), so everything a turn sends to a socket leaves in one writev.
// This is the write batching Roomkit does (rooms/connection.ts), without anything else.
const corked = new Set<Socket>();
let uncorkScheduled = false;

function uncorkAll(): void {
  uncorkScheduled = false;
  for (const socket of corked) if (!socket.destroyed) socket.uncork();
  corked.clear();
}

function write(socket: Socket, frame: Buffer): void {
  if (!corked.has(socket)) {
    socket.cork();
    corked.add(socket);
    if (!uncorkScheduled) {
      uncorkScheduled = true;
      setImmediate(uncorkAll);
    }
  }
  socket.write(frame);
}

// The big-room scenario asks for presence (`?presence=1&userId=…`): the joiner gets the member
// list once, the others a one-line `join` (the O(n) scheme, for comparison with Roomkit's lists).
interface Member {
  ws: WebSocket;
  userId: string;
}
const rooms = new Map<string, Set<Member>>();
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });

function toOthers(room: Set<Member>, self: Member, frame: Buffer): void {
  for (const peer of room) {
    if (peer !== self && peer.ws.readyState === WebSocket.OPEN) write(socketOf(peer.ws), frame);
  }
}

const text = (json: string) => serverFrame(Buffer.from(json), 1);

wss.on('connection', (ws, req) => {
  const name = roomOf(req.url);
  const query = new URL(req.url ?? '/', 'http://x').searchParams;
  const room = rooms.get(name) ?? new Set<Member>();
  rooms.set(name, room);
  const self: Member = { ws, userId: query.get('userId') ?? '' };
  room.add(self);
  const presence = query.get('presence') === '1';
  if (presence) {
    const users = [...room].map((m) => `{"userId":${JSON.stringify(m.userId)}}`).join(',');
    write(socketOf(ws), text(`{"type":"presence","users":[${users}]}`));
    toOthers(room, self, text(`{"type":"join","userId":${JSON.stringify(self.userId)}}`));
  }
  ws.on('message', (data: Buffer, isBinary) => {
    toOthers(room, self, serverFrame(data, isBinary ? 2 : 1));
  });
  ws.on('close', () => {
    room.delete(self);
    if (presence)
      toOthers(room, self, text(`{"type":"leave","userId":${JSON.stringify(self.userId)}}`));
  });
});

wss.on('listening', () => void announce((wss.address() as { port: number }).port));
