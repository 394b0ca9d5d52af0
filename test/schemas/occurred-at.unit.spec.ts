import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_CLOCK_SKEW_MS, OCCURRED_AT_MIN, receivedTimeProblem, recordTimeProblem } from '../../schemas/occurred-at.js';

const T = Date.UTC(2026, 10, 25, 12);
const SKEW = DEFAULT_MAX_CLOCK_SKEW_MS;

describe('occurredAt / sentAt bounds (MAX_CLOCK_SKEW_SECONDS, default 300)', () => {
  it('the default skew is 300 s', () => {
    expect(SKEW).toBe(300_000);
  });

  it('accepts the past back to 2000-01-01 and up to the skew ahead of the receiving clock', () => {
    for (const at of [OCCURRED_AT_MIN, T - 400 * 86_400_000, T, T + SKEW]) expect(receivedTimeProblem(at, T, SKEW)).toBeNull();
  });

  it('refuses a time more than the skew ahead, saying by how much and what the limit is', () => {
    expect(receivedTimeProblem(T + SKEW + 1, T, SKEW)).toBe('is 301 s ahead of the server clock: at most 300 s (MAX_CLOCK_SKEW_SECONDS) is accepted');
    expect(receivedTimeProblem(T + 3_600_000, T, 60_000)).toMatch(/3600 s ahead .* at most 60 s/);
    expect(receivedTimeProblem(T + 1, T, 0)).not.toBeNull();
  });

  it('refuses clock bugs before 2000 and non-integers', () => {
    expect(receivedTimeProblem(OCCURRED_AT_MIN - 1, T, SKEW)).toBe('must be a time on or after 2000-01-01');
    expect(receivedTimeProblem(Number.NaN, T, SKEW)).not.toBeNull();
    expect(receivedTimeProblem(T + 0.5, T, SKEW)).not.toBeNull();
  });

  it('in the processors, bounds occurredAt by the record timestamp alone', () => {
    expect(recordTimeProblem(T + SKEW, T, SKEW)).toBeNull();
    expect(recordTimeProblem(T - 30 * 86_400_000, T, SKEW)).toBeNull(); // a backfill
    expect(recordTimeProblem(T + SKEW + 1, T, SKEW)).toBe("is 301 s ahead of the record's timestamp: at most 300 s (MAX_CLOCK_SKEW_SECONDS) is accepted");
    expect(recordTimeProblem(T, Number.NaN, SKEW)).toBe('the record has no timestamp to bound occurredAt with');
    expect(recordTimeProblem(T, -1, SKEW)).not.toBeNull();
  });
});
