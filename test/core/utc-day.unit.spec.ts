import { describe, expect, it } from 'vitest';
import { perUtcDay } from '../../core/utc-day.js';
import { dayOf } from '../../projections/keys.js';
import { blobDate } from '../../processors/lander/blob-names.js';

describe('a text per UTC day, computed once per day (core/utc-day.ts)', () => {
  it('gives every time of a day the same text, and each day its own, around midnight and before 1970', () => {
    const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const day = perUtcDay(iso);
    for (const ms of [0, -1, 1, 86_399_999, 86_400_000, Date.UTC(2026, 10, 28, 23, 59, 59, 999), Date.UTC(2026, 10, 29), Date.UTC(1969, 11, 31, 12), -86_400_001]) {
      expect(day(ms), String(ms)).toBe(iso(ms));
      // asked again, from the cache
      expect(day(ms), String(ms)).toBe(iso(ms));
    }
  });

  it('computes a day once, and still throws for a time that is not one', () => {
    let calls = 0;
    const day = perUtcDay((ms) => {
      calls++;
      return new Date(ms).toISOString();
    });
    day(Date.UTC(2026, 0, 1, 1));
    day(Date.UTC(2026, 0, 1, 23));
    expect(calls).toBe(1);
    expect(() => day(Number.NaN)).toThrow(RangeError);
    expect(() => day(Number.NaN)).toThrow(RangeError);
  });

  it('agrees with Date at its edges: a fractional time just before 1970, and the last day a Date holds', () => {
    const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const day = perUtcDay(iso);
    expect(day(-1000)).toBe('1969-12-31');
    expect(day(-0.5)).toBe('1970-01-01');
    expect(day(8.64e15)).toBe(iso(8.64e15));
    expect(() => day(8.64e15 + 1)).toThrow(RangeError);
    expect(() => day(-8.64e15 - 1)).toThrow(RangeError);
  });

  it('backs the day buckets of projection keys and the dates of blob paths', () => {
    const ms = Date.UTC(2026, 1, 28, 22, 30);
    expect(dayOf(ms)).toBe('20260228');
    expect(blobDate(ms)).toBe('2026-02-28');
  });
});
