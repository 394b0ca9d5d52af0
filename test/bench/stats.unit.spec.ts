import { describe, expect, it } from 'vitest';
import { percentile, ratePerSecond, ratio, summarize } from '../../bench/stats.js';

describe('bench stats', () => {
  it('takes nearest-rank percentiles of a sorted list', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile(sorted, 0)).toBe(1);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    const thousand = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(thousand, 99.9)).toBe(999);
    expect(percentile(thousand, 99.99)).toBe(1000);
  });

  it('summarizes unsorted samples without changing them', () => {
    const samples = [5, 1, 4, 2, 3];
    expect(summarize(samples)).toEqual({ count: 5, min: 1, mean: 3, p50: 3, p90: 5, p99: 5, max: 5 });
    expect(samples).toEqual([5, 1, 4, 2, 3]);
  });

  it('computes rates and ratios, never dividing by zero', () => {
    expect(ratePerSecond(1000, 500)).toBe(2000);
    expect(ratePerSecond(1000, 0)).toBe(0);
    expect(ratio(70, 100)).toBeCloseTo(0.7);
    expect(ratio(1, 0)).toBeNaN();
  });
});
