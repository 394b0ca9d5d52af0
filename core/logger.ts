import { pino, destination, type Logger } from 'pino';

/** Structured JSON logs on stderr, so stdout stays free for CLI output. */
export const logger: Logger = pino(
  { level: process.env.LOG_LEVEL ?? 'info', base: { service: 'engagement' } },
  destination(2),
);

export function childLogger(component: string): Logger {
  return logger.child({ component });
}
