import { describe, expect, it } from 'vitest';
import { hourMonths, lastExpiredDay } from '../../projections/keys.js';

describe('hourMonths: the months of opens a best-time read sums (none across the horizon: a replay could not give it back)', () => {
  it('runs from the first month whose every day is within the horizon to the month of now', () => {
    const now = Date.UTC(2026, 10, 26, 23);
    expect(lastExpiredDay(now, 400)).toBe('20251022');
    const months = hourMonths(now, 400);
    expect(months[0]).toBe('202511'); // October 2025 holds expired days
    expect(months.at(-1)).toBe('202611');
    expect(months).toHaveLength(13);
    expect(hourMonths(now, 26)).toEqual(['202611']); // 1 November is the oldest day kept
    expect(hourMonths(now, 57)).toEqual(['202610', '202611']); // 1 October is
    expect(hourMonths(now, 56)).toEqual(['202611']);
    expect(hourMonths(now, 4)).toEqual([]); // no month is whole within 4 days
  });

  it('crosses a year', () => {
    expect(hourMonths(Date.UTC(2026, 0, 3), 40)).toEqual(['202512', '202601']);
  });
});
