/** A Zipf-skewed index sampler for the bench workload (seeded PRNG: core/seeded-random.ts). Pure. */
import type { Rand } from '../core/seeded-random.js';

/** Samples 0..n-1 with P(i) ∝ 1/(i+1)^s (index 0 is the most active). */
export function zipfSampler(n: number, s: number, rand: Rand): () => number {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    total += 1 / (i + 1) ** s;
    cumulative[i] = total;
  }
  return () => {
    const target = rand() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
