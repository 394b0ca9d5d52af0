/**
 * The accepted range of an event's `occurredAt` / `sentAt` (epoch ms): on or after 2000-01-01,
 * and at most MAX_CLOCK_SKEW_SECONDS ahead of a reference time. At the API, ingest and
 * `engagement produce` the reference is the receiving clock; in the processors it is the Kafka
 * record's own timestamp, never the processor's clock, so a record gets the same verdict live
 * and in a replay a year later (DESIGN §2).
 */

import { DEFAULTS } from '../core/config.js';

export const OCCURRED_AT_MIN = Date.UTC(2000, 0, 1);
export const DEFAULT_MAX_CLOCK_SKEW_MS = DEFAULTS.MAX_CLOCK_SKEW_SECONDS * 1000;

/** What is wrong with a time received at `now` (the receiving clock), or null. */
export function receivedTimeProblem(at: number, now: number, maxSkewMs: number): string | null {
  return timeProblem(at, now, maxSkewMs, 'the server clock');
}

/**
 * What is wrong with the occurredAt of a record already on the log, judged against the record's
 * timestamp (CreateTime, set by its producer) alone: same record, same verdict.
 */
export function recordTimeProblem(at: number, recordTimestamp: number, maxSkewMs: number): string | null {
  if (!Number.isInteger(recordTimestamp) || recordTimestamp < 0) return 'the record has no timestamp to bound occurredAt with';
  return timeProblem(at, recordTimestamp, maxSkewMs, "the record's timestamp");
}

function timeProblem(at: number, reference: number, maxSkewMs: number, referenceName: string): string | null {
  if (!Number.isInteger(at) || at < OCCURRED_AT_MIN) return 'must be a time on or after 2000-01-01';
  if (at > reference + maxSkewMs) {
    return `is ${Math.ceil((at - reference) / 1000)} s ahead of ${referenceName}: at most ${maxSkewMs / 1000} s (MAX_CLOCK_SKEW_SECONDS) is accepted`;
  }
  return null;
}
