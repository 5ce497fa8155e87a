import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RoomManager } from '../rooms/room-manager.js';

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Plain HTTP on the WebSocket port: a health check, and 404 for everything else. */
export function createRequestHandler(rooms: RoomManager, connections: () => number) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      json(res, 200, { status: 'ok', rooms: rooms.roomCount, connections: connections() });
      return;
    }
    json(res, 404, { error: { code: 'not_found', message: `no route for ${req.method} ${path}` } });
  };
}
