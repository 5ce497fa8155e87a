import type { Logger } from './observability/logger.js';

/**
 * Runs an application hook without letting it hurt the server: a synchronous throw or a rejected
 * promise is logged with the hook's name, never propagated into the message path.
 */
export function runHook(logger: Logger, name: string, call: () => void | Promise<void>): void {
  try {
    const result = call();
    if (result && typeof result.then === 'function') {
      result.then(undefined, (error: unknown) =>
        logger.error({ err: error, hook: name }, 'hook failed'),
      );
    }
  } catch (error) {
    logger.error({ err: error, hook: name }, 'hook failed');
  }
}
