import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { announce } from './peer-stats.js';

// @y/websocket-server's own server (its `y-websocket-server` bin, src/server.js) as it ships:
// its ws, its defaults, no persistence (YPERSISTENCE unset), no callback. It reads HOST and PORT
// from the environment, so take a free port first and hand it over.
const port = await new Promise<number>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address() as { port: number };
    probe.close(() => resolve(port));
  });
});
process.env.HOST = '127.0.0.1';
process.env.PORT = String(port);
delete process.env.YPERSISTENCE;
delete process.env.CALLBACK_URL;
const root = dirname(createRequire(import.meta.url).resolve('@y/websocket-server/package.json'));
await import(pathToFileURL(join(root, 'src', 'server.js')).href);
// server.js listens asynchronously; a connection before it is ready would be refused.
await new Promise((resolve) => setTimeout(resolve, 200));
await announce(port);
