import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { announce } from './peer-stats.js';

// Socket.IO 4 with rooms: join on request, relay to the others in the room.
const http = createServer();
const io = new Server(http, {
  perMessageDeflate: false,
  httpCompression: false,
  transports: ['websocket'],
});

io.on('connection', (socket) => {
  let room = '';
  // The big-room scenario joins with `{ userId }` and asks for presence: the joiner gets the
  // member list once, the others a one-line `join` (the O(n) scheme, as ws-corked does).
  socket.on('join', (name: string, who?: { userId: string }) => {
    room = name;
    void socket.join(name);
    if (who) {
      socket.data = { userId: who.userId };
      const ids = io.sockets.adapter.rooms.get(name) ?? new Set<string>();
      const users = [...ids].map((id) => ({
        userId: (io.sockets.sockets.get(id)?.data as { userId?: string } | undefined)?.userId,
      }));
      socket.emit('presence', { users });
      socket.to(name).emit('join', { userId: who.userId });
    }
    socket.emit('joined');
  });
  socket.on('m', (payload: unknown) => {
    if (room) socket.to(room).emit('m', payload);
  });
  socket.on('cursor:update', (payload: unknown) => {
    if (room) socket.to(room).emit('cursor:update', payload);
  });
});

http.listen(0, '127.0.0.1', () => void announce((http.address() as AddressInfo).port));
