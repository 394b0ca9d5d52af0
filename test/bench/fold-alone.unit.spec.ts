import { describe, expect, it } from 'vitest';
import { foldAlone } from '../../bench/fold-alone.js';
import { generateBenchWorkload } from '../../bench/workload.js';

describe('the fold alone (bench replay scenario)', () => {
  it('gates exactly what the workload expects, folds each re-sent event once, and times it', async () => {
    const workload = generateBenchWorkload({ events: 3000, seed: 7 });
    const result = await foldAlone(workload.control, workload.emails, { machineClickSeconds: 5, historyDays: 90, maxClockSkewSeconds: 300 });
    expect(result.records).toBe(workload.emails.length);
    expect(result.collected).toBe(workload.expected.collected);
    // ~1% of the workload is re-sent: the fold keeps one of each
    expect(result.folded).toBeLessThan(result.collected);
    expect(result.folded).toBeGreaterThan(result.collected * 0.95);
    expect(result.cpuMicros).toBeGreaterThan(0);
    expect(result.wallMs).toBeGreaterThan(0);
  });
});
