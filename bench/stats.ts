/** Pure numeric helpers of the bench: percentiles, summaries, rates. */

export interface Summary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile (p in 0..100) of an ascending-sorted list; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (p <= 0) return sorted[0]!;
  // p·n first, then /100, minus a hair: (99.9 / 100) * 1000 is 999.0000000000001 in floating point.
  const rank = Math.ceil((Math.min(p, 100) * sorted.length) / 100 - 1e-9);
  return sorted[Math.max(0, rank - 1)]!;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((s, v) => s + v, 0);
  return {
    count: sorted.length,
    min: sorted.length ? sorted[0]! : Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
  };
}

/** Events (or requests) per second over a span in milliseconds; 0 for an empty span. */
export function ratePerSecond(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : 0;
}

/** a / b, or NaN when b is 0 (a ratio against a baseline). */
export function ratio(a: number, b: number): number {
  return b === 0 ? Number.NaN : a / b;
}
