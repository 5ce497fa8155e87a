import type { Logger } from './logger.js';

/**
 * Runs timer and event-loop work (flushes, checks, cleanups) so that a throw is logged instead of
 * escaping as an uncaught exception, which would end the process.
 */
export function guarded(logger: Logger, what: string, work: () => void): void {
  try {
    work();
  } catch (error) {
    logger.error({ err: error, task: what }, 'background task failed');
  }
}
