import type { Logger } from './observability/logger.js';

/**
 * Calls application code (a hook, a handler, a component's `onUnmount`) so that nothing it does
 * reaches the caller: a synchronous throw or a rejected promise goes to `onError` instead.
 */
export function catchAll(call: () => unknown, onError: (error: unknown) => void): void {
  try {
    const result = call();
    if (typeof (result as PromiseLike<unknown> | null)?.then === 'function') {
      (result as PromiseLike<unknown>).then(undefined, onError);
    }
  } catch (error) {
    onError(error);
  }
}

/**
 * Runs an application hook without letting it hurt the server: a synchronous throw or a rejected
 * promise is logged with the hook's name, never propagated into the message path.
 */
export function runHook(logger: Logger, name: string, call: () => void | Promise<void>): void {
  catchAll(call, (error) => logger.error({ err: error, hook: name }, 'hook failed'));
}
