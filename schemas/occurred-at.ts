/**
 * The accepted range of an event's `occurredAt` (epoch ms), shared by ingest validation and the
 * processors' decode: events stamped before 2000 or over a day in the future are clock bugs, not facts.
 */

export const OCCURRED_AT_MIN = Date.UTC(2000, 0, 1);
export const OCCURRED_AT_MAX_FUTURE_MS = 86_400_000;
export const OCCURRED_AT_PROBLEM = 'must be a time between 2000-01-01 and one day from now';

export function occurredAtInRange(at: number, now: number): boolean {
  return Number.isInteger(at) && at >= OCCURRED_AT_MIN && at <= now + OCCURRED_AT_MAX_FUTURE_MS;
}
