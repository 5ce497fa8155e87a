import { ErrorCode } from '@roomkit/protocol';
import { ProtocolError } from '../features/feature.js';

/** Cancels a running call: it is answered `action_failed` because its component went away. */
export type CancelCall = (reason: string) => void;

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/** The message an `action_failed` carries: the Error's own, else a generic one. */
export function messageOf(error: unknown): string {
  if (error instanceof Error && error.message !== '') return error.message;
  return typeof error === 'string' && error !== '' ? error : 'the action failed';
}

/** Throws `action_failed` unless `value` can be JSON-encoded (a reply must not fail to encode). */
export function checkJson(value: unknown, what: string): void {
  try {
    JSON.stringify(value);
  } catch {
    throw new ProtocolError(ErrorCode.ActionFailed, `${what} is not JSON-serializable`);
  }
}

/** Runs `call` and turns a synchronous throw into a rejection. */
export function invoke(call: () => unknown): Promise<unknown> {
  try {
    return Promise.resolve(call());
  } catch (error) {
    return Promise.reject(error);
  }
}

export interface SettleOptions {
  timeoutMs: number;
  /** `Counter.increment`, for the timeout message. */
  label: string;
  /** The component's running calls; this one is in it until it settles. */
  running: Set<CancelCall>;
  /** The `ProtocolError` a rejection becomes. */
  failed(error: unknown): ProtocolError;
}

/**
 * Waits for an action (or an async `onMount`) to settle within `timeoutMs` (else
 * `action_timeout`), unless it is cancelled first; rejects with the `ProtocolError` to answer. The
 * outcome's own late settlement is absorbed (never an unhandled rejection).
 */
export function settle(outcome: Promise<unknown>, options: SettleOptions): Promise<unknown> {
  const { timeoutMs, label, running } = options;
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      clearTimeout(timer);
      running.delete(cancel);
      return true;
    };
    const cancel: CancelCall = (reason) => {
      if (finish()) {
        reject(
          new ProtocolError(ErrorCode.ActionFailed, `the component was unmounted (${reason})`),
        );
      }
    };
    const timer = setTimeout(() => {
      if (finish()) {
        reject(
          new ProtocolError(
            ErrorCode.ActionTimeout,
            `${label} did not finish within ${timeoutMs} ms`,
          ),
        );
      }
    }, timeoutMs);
    running.add(cancel);
    outcome.then(
      (value) => {
        if (finish()) resolve(value);
      },
      (error: unknown) => {
        if (finish()) reject(options.failed(error));
      },
    );
  });
}
