/**
 * The one retry policy: retry what the error says is retriable (`EngagementError.retriable`), with
 * capped exponential backoff and jitter, for as long as the caller still wants the result; anything
 * else is raised at once, so a permanent failure (bad credentials, a refused request) is seen
 * instead of being retried forever. With a deadline, a retriable failure that outlasts it is
 * raised too, saying how long it was tried: a start waits out a broker settling, not an outage.
 */
import { EngagementError, isEngagementError } from './errors.js';

export const BACKOFF_DEFAULTS = { baseMs: 200, capMs: 10_000 } as const;

/** The delay before retry number `attempt` (0-based). Pure given `random`. */
export function backoffDelay(attempt: number, { baseMs, capMs }: { baseMs: number; capMs: number } = BACKOFF_DEFAULTS, random = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export function isRetriable(error: unknown): error is EngagementError {
  return isEngagementError(error) && error.retriable;
}

export interface RetryOptions {
  /** still worth trying? When not, the retry stops with a `superseded` error. */
  wanted?: () => boolean;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  backoff?: { baseMs: number; capMs: number };
  /** give up once the next attempt would start later than this many ms after the first */
  deadlineMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const sleepMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function withRetry<T>(work: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const sleep = options.sleep ?? sleepMs;
  const now = options.now ?? Date.now;
  const began = now();
  for (let attempt = 0; ; attempt++) {
    if (options.wanted && !options.wanted()) throw new EngagementError('superseded', 'the work was given up: its result is no longer wanted');
    try {
      return await work();
    } catch (error) {
      if (!isRetriable(error)) throw error;
      const delay = backoffDelay(attempt, options.backoff);
      const elapsedMs = now() - began;
      if (options.deadlineMs !== undefined && elapsedMs + delay > options.deadlineMs) throw gaveUp(error, attempt + 1, elapsedMs);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay);
    }
  }
}

/** The last failure, still retriable (a caller with more patience may try again), saying how long it lasted. */
function gaveUp(last: EngagementError, attempts: number, elapsedMs: number): EngagementError {
  return new EngagementError(last.code, `${last.message} (still failing after ${attempts} attempts in ${elapsedMs} ms; gave up)`, {
    cause: last,
    retriable: true,
    details: { ...last.details, attempts, elapsedMs },
  });
}

/**
 * `work` if it settles within `ms`, else `timedOut` (the work goes on, unwaited): a stop that must
 * not wait out a client's timeouts on a broker that answers nothing. A rejection is passed on.
 */
export async function settleWithin<T, U>(work: Promise<T>, ms: number, timedOut: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<U>((resolve) => {
    timer = setTimeout(() => resolve(timedOut), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
