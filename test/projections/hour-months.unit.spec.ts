import { describe, expect, it } from 'vitest';
import { hourMonths, lastExpiredDay } from '../../projections/keys.js';

describe('hourMonths: the months of opens a best-time read sums', () => {
  it('runs from the month of the oldest day within the horizon to the month of now', () => {
    const now = Date.UTC(2026, 10, 26, 23);
    expect(lastExpiredDay(now, 400)).toBe('20251022');
    const months = hourMonths(now, 400);
    expect(months[0]).toBe('202510'); // 23 October 2025 is the oldest day kept
    expect(months.at(-1)).toBe('202611');
    expect(months).toHaveLength(14);
    expect(hourMonths(now, 4)).toEqual(['202611']);
    expect(hourMonths(now, 27)).toEqual(['202610', '202611']); // 31 October is the oldest day kept
    expect(hourMonths(now, 26)).toEqual(['202611']);
  });

  it('crosses a year', () => {
    expect(hourMonths(Date.UTC(2026, 0, 3), 40)).toEqual(['202511', '202512', '202601']);
  });
});
