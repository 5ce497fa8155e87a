import type { RoomServer } from '../../../server/src/index.js';

/**
 * Drops every socket of `userId` the way a dead network does: no close frame, the TCP connection
 * just ends (`terminate`). Returns how many sockets were dropped.
 */
export function dropConnections(server: RoomServer, userId: string): number {
  const sockets = new Set<{ terminate(): void }>();
  for (const room of server.getRoomManager().all()) {
    for (const connection of room.connections.values()) {
      if (connection.session.identity.userId === userId) sockets.add(connection.session.ws);
    }
  }
  for (const socket of sockets) socket.terminate();
  return sockets.size;
}

/** Connection ids of `userId` in `roomId` on the server (one per socket). */
export function connectionsOf(server: RoomServer, roomId: string, userId: string): string[] {
  const room = server.getRoomManager().get(roomId);
  if (!room) return [];
  return [...room.connections.values()]
    .filter((connection) => connection.session.identity.userId === userId)
    .map((connection) => connection.session.id);
}

/** Polls `predicate` every 20 ms (for server-side state, which has no change events). */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
