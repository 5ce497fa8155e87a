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
  socket.on('join', (name: string) => {
    room = name;
    void socket.join(name);
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
