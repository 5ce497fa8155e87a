import { pino } from 'pino';

type LogFn = (fields: Record<string, unknown>, message?: string) => void;

/** The subset of a pino logger the server uses; any pino-compatible logger fits. */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export function createLogger(level: LogLevel = 'warn'): Logger {
  return pino({ name: 'roomkit', level });
}
