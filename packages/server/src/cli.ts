import { CliError, type CliSettings, helpText, parseCli } from './cli-options.js';
import { createLogger, type Logger } from './observability/logger.js';
import { RoomServer } from './server.js';
import { isPostgresUrl, openStore } from './store/open-store.js';
import type { Store } from './store/store.js';

/** The store target as it may be logged: a PostgreSQL URL without its password. */
function describeDb(db: string): string {
  if (!isPostgresUrl(db)) return `sqlite ${db}`;
  try {
    const url = new URL(db);
    if (url.password) url.password = '***';
    // libpq-style parameters may carry secrets too (`?password=`, `?sslpassword=`).
    for (const key of [...url.searchParams.keys()]) {
      if (/pass|secret|key/i.test(key)) url.searchParams.set(key, '***');
    }
    return `postgres ${url.toString()}`;
  } catch {
    return 'postgres';
  }
}

/** Says where the HTTP API is and how many keys it has; never the keys themselves. */
function logApi(logger: Logger, settings: CliSettings, port: number): void {
  const keys = settings.config.api ? (settings.config.api.keys?.length ?? 0) : 0;
  const url = `http://${settings.host}:${port}/api`;
  if (keys > 0) {
    logger.info({ apiKeys: keys }, `HTTP API on ${url} (${keys} API key${keys === 1 ? '' : 's'})`);
  } else {
    logger.info(
      { apiKeys: 0 },
      `HTTP API on ${url}: no --api-key (or ROOMKIT_API_KEYS) given, so its room push routes answer 401`,
    );
  }
}

/** Says how users sign in and whether Spaces is on; never the secret. */
function logSpaces(logger: Logger, settings: CliSettings, port: number): void {
  const { jwt, spaces } = settings.config;
  const api = `http://${settings.host}:${port}/api`;
  if (jwt?.guest) {
    logger.warn(
      { guestAuth: true },
      `dev guest sign-in is ON: POST ${api}/auth/guest {"displayName"} gives anyone a token` +
        (jwt.secret ? '' : ' (signed with a random secret: tokens end with this process)') +
        '; do not use it in production (drop --guest-auth)',
    );
  }
  if (jwt?.secret || jwt?.jwksUrl) {
    logger.info(
      {},
      `users sign in with JWTs (${jwt.jwksUrl ? `JWKS ${jwt.jwksUrl}` : 'HS256 secret'})`,
    );
  }
  if (!spaces) {
    logger.info({}, 'Spaces is off (--spaces off, or no --db)');
    return;
  }
  logger.info(
    { responder: spaces.responder ? 'example' : 'off' },
    `Spaces is on: REST on ${api}/rooms, API page on ${api}/docs`,
  );
  if (!jwt) {
    logger.warn(
      {},
      'Spaces is on but nobody can sign in: give --jwt-secret, --jwks-url or --guest-auth',
    );
  }
}

/** How long the CLI waits for the store's connections to close at shutdown. */
const STORE_CLOSE_TIMEOUT_MS = 5_000;

function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    work.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/** Opens (and migrates) the store; exits 1 with the reason when it cannot. */
async function openStoreOrExit(db: string, logger: Logger, migrate: boolean): Promise<Store> {
  try {
    return await openStore(db, { migrate });
  } catch (error) {
    logger.error({ err: error }, `could not open the store (${describeDb(db)})`);
    process.exit(1);
  }
}

/** `roomkit migrate`: bring the store's schema up to date, then exit. */
async function migrate(settings: CliSettings, logger: Logger): Promise<void> {
  if (settings.db === null) {
    process.stderr.write('roomkit: migrate needs a store: --db <file|postgres-url>\n');
    process.exit(2);
  }
  const store = await openStoreOrExit(settings.db, logger, false);
  try {
    const { applied } = await store.migrate();
    process.stdout.write(
      applied.length === 0
        ? `${describeDb(settings.db)}: schema is up to date\n`
        : `${describeDb(settings.db)}: applied ${applied.join(', ')}\n`,
    );
  } catch (error) {
    logger.error({ err: error }, 'migration failed');
    process.exitCode = 1;
  } finally {
    await store.close();
  }
}

/** `roomkit serve`: flags and environment to config, start, and stop cleanly on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  let settings: ReturnType<typeof parseCli>;
  try {
    settings = parseCli(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof CliError) {
      process.stderr.write(`roomkit: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  if (settings.command === 'help') {
    process.stdout.write(helpText());
    return;
  }
  const logger = createLogger(settings.logLevel);
  if (settings.command === 'migrate') {
    await migrate(settings, logger);
    return;
  }
  const store = settings.db === null ? null : await openStoreOrExit(settings.db, logger, true);
  let server: RoomServer;
  try {
    server = new RoomServer({
      ...settings.config,
      host: settings.host,
      logger,
      ...(store ? { store } : {}),
    });
  } catch (error) {
    // Option values that parse but make no sense (e.g. --max-connections 0) land here.
    process.stderr.write(`roomkit: ${(error as Error).message.replace(/^RoomServer: /, '')}\n`);
    process.exit(2);
  }
  try {
    await server.start(settings.port);
  } catch (error) {
    logger.error({ err: error }, `could not listen on ${settings.host}:${settings.port}`);
    process.exit(1);
  }
  logger.info(
    { port: server.port, host: settings.host },
    `roomkit listening on ws://${settings.host}:${server.port}${server.path}/{roomId}`,
  );
  logger.info(
    {},
    settings.db === null
      ? 'documents are kept in memory only (--db none)'
      : `documents are stored in ${describeDb(settings.db)}`,
  );
  logApi(logger, settings, server.port);
  logSpaces(logger, settings, server.port);

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server
      .stop()
      // A connection stuck in a hung query would hold pool.end() forever: give it a bound.
      .then(() => store && withTimeout(store.close(), STORE_CLOSE_TIMEOUT_MS))
      .then(
        () => {
          logger.info({}, 'stopped');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

void main();
