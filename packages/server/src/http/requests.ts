import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RoomManager } from '../rooms/room-manager.js';

/** Answers with a JSON body. */
export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Plain HTTP on the WebSocket port: a health check, the HTTP API under `/api` (when `api` is
 * given), and 404 for everything else.
 */
export function createRequestHandler(
  rooms: RoomManager,
  connections: () => number,
  api?: RequestListener,
): RequestListener {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (api && (path === '/api' || path.startsWith('/api/'))) {
      api(req, res);
      return;
    }
    if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      json(res, 200, { status: 'ok', rooms: rooms.roomCount, connections: connections() });
      return;
    }
    json(res, 404, { error: { code: 'not_found', message: `no route for ${req.method} ${path}` } });
  };
}
