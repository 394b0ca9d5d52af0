import { describe, expect, it } from 'vitest';
import { allStatus, latencySummary, parseLoadResult, statusLine, toLoadResult, type LoadResult } from '../../bench/load-result.js';
import { trackingChecks } from '../../bench/tracking-accounting.js';

const autocannonResult = { errors: 0, timeouts: 0, non2xx: 1, '2xx': 99, statusCodeStats: { '200': { count: 99 }, '503': { count: 1 } } };

function load(overrides: Partial<LoadResult> = {}): LoadResult {
  return {
    responses: 1000,
    ok2xx: 1000,
    non2xx: 0,
    errors: 0,
    timeouts: 0,
    statusCodes: { '200': 1000 },
    elapsedMs: 500,
    requestsPerSecond: 2000,
    latencyMs: latencySummary([1, 2, 3]),
    endedBy: 'amount',
    connections: 50,
    ...overrides,
  };
}

describe('bench load results', () => {
  it('summarizes sub-millisecond latencies with nearest-rank percentiles, p99.9 included', () => {
    const samples = Array.from({ length: 1000 }, (_, i) => (1000 - i) / 100); // 10.00 … 0.01, unsorted
    const s = latencySummary(samples);
    expect(s).toMatchObject({ count: 1000, p50: 5, p90: 9, p99: 9.9, p999: 9.99, max: 10 });
    expect(s.mean).toBeCloseTo(5.005, 6);
    expect(latencySummary(new Float64Array(0)).p99).toBeNaN();
  });

  it('builds a result from autocannon counters, its own timing and samples', () => {
    const r = toLoadResult({ amount: 100, connections: 10 }, autocannonResult, [0.5, 1.5], 250);
    expect(r).toMatchObject({ responses: 100, ok2xx: 99, non2xx: 1, statusCodes: { '200': 99, '503': 1 }, requestsPerSecond: 400, endedBy: 'amount', connections: 10 });
    expect(toLoadResult({ amount: 1000, connections: 10 }, autocannonResult, [], 250).endedBy).toBe('duration');
    expect(toLoadResult({ amount: 10, connections: 1 }, autocannonResult, [], 0).requestsPerSecond).toBe(0);
  });

  it('round-trips through the child output line, NaN percentiles as null', () => {
    const r = toLoadResult({ amount: 100, connections: 10 }, autocannonResult, [], 250);
    const parsed = parseLoadResult(`some noise\n${JSON.stringify(r)}\n\n`);
    expect(parsed.latencyMs.p50).toBeNaN();
    expect({ ...parsed, latencyMs: null }).toEqual({ ...r, latencyMs: null });
  });

  it('refuses output that is not a load result', () => {
    expect(() => parseLoadResult('')).toThrow(/no result/);
    expect(() => parseLoadResult('Running 10s test @ http://x')).toThrow(/no JSON/);
    expect(() => parseLoadResult(JSON.stringify({ ...load(), ok2xx: 'many' }))).toThrow(/ok2xx/);
    expect(() => parseLoadResult(JSON.stringify({ ...load(), endedBy: 'time' }))).toThrow(/endedBy/);
    expect(() => parseLoadResult(JSON.stringify({ ...load(), latencyMs: { ...load().latencyMs, p99: '1' } }))).toThrow(/latencyMs.p99/);
  });

  it('tells whether every response had one status', () => {
    expect(allStatus(load(), 200)).toBe(true);
    expect(allStatus(load({ statusCodes: { '200': 999, '503': 1 } }), 200)).toBe(false);
    expect(allStatus(load({ errors: 1 }), 200)).toBe(false);
    expect(allStatus(load({ responses: 0, statusCodes: {} }), 200)).toBe(false);
    expect(statusLine(load({ statusCodes: { '200': 999, '503': 1 }, timeouts: 2 }))).toBe('200: 999, 503: 1, errors: 0, timeouts: 2');
  });
});

describe('tracking accounting', () => {
  const ok = (checks: ReturnType<typeof trackingChecks>): boolean[] => checks.map((c) => c.ok);
  const pixel = { requests: 1000, non2xx3xx: 0, socketErrors: 0 };
  const base = { pixel, connections: 50, kafkaOpens: 1000, serverWritten: 1000, notSpooled: 0 };

  it('demands one EmailOpened in Kafka per pixel the server recorded', () => {
    expect(ok(trackingChecks('tracking', base))).toEqual([true, true, true, true]);
    const lost = trackingChecks('tracking', { ...base, kafkaOpens: 999 });
    expect(ok(lost)).toEqual([true, true, false, true]);
    expect(lost[2]!.detail).toBe('999 (want 1000)');
  });

  it('fails on non-2xx answers, socket errors and pixels the spool refused', () => {
    expect(ok(trackingChecks('tracking', { ...base, pixel: { ...pixel, non2xx3xx: 1 } }))[0]).toBe(false);
    expect(ok(trackingChecks('tracking', { ...base, pixel: { ...pixel, socketErrors: 1 } }))[0]).toBe(false);
    expect(ok(trackingChecks('tracking', { ...base, notSpooled: 3 }))[1]).toBe(false);
  });

  it('allows at most one unread answer per connection at the end of the run', () => {
    expect(ok(trackingChecks('tracking', { ...base, kafkaOpens: 1050, serverWritten: 1050 }))[3]).toBe(true);
    expect(ok(trackingChecks('tracking', { ...base, kafkaOpens: 1051, serverWritten: 1051 }))[3]).toBe(false);
    expect(ok(trackingChecks('tracking', { ...base, kafkaOpens: 999, serverWritten: 999 }))[3]).toBe(false);
  });
});
