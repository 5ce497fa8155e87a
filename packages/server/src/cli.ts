import { CliError, helpText, parseCli } from './cli-options.js';
import { createLogger } from './observability/logger.js';
import { RoomServer } from './server.js';

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
  let server: RoomServer;
  try {
    server = new RoomServer({ ...settings.config, host: settings.host, logger });
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

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.stop().then(
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
