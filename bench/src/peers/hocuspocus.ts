import { Server } from '@hocuspocus/server';
import { announce } from './peer-stats.js';

// Hocuspocus 3 as its docs start it: no extensions, so no persistence (documents live in memory
// while a connection holds them), no auth hook. Quiet, and the orchestrator's SIGTERM ends it.
const server = new Server({
  port: 0,
  address: '127.0.0.1',
  quiet: true,
  stopOnSignals: false,
});
await server.listen();
await announce(server.address.port);
