import { describe, expect, it } from 'vitest';
import { BOX_PARTS, type BoxCpu } from '../../bench/box-cpu.js';
import { bracketing } from '../../bench/scenarios/tracking.js';

const box = (serverMicros: number, busy: number): BoxCpu => ({
  parts: { ...(Object.fromEntries(BOX_PARTS.map((p) => [p, 0])) as BoxCpu['parts']), 'server event loop': serverMicros },
  busyMicros: serverMicros,
  busy,
});

const load = (requests: number, seconds: number, p99: number, cpuMicros: number) => ({
  command: 'wrk -t 1 -c 50 -d 8s',
  requests,
  elapsedSeconds: seconds,
  requestsPerSecond: requests / seconds,
  latencyMs: { p50: p99 / 10, p75: p99 / 5, p90: p99 / 2, p99 },
  non2xx3xx: 0,
  socketErrors: 1,
  cpuMicros,
  box: box(requests * cpuMicros, cpuMicros / 100),
  boxMicros: seconds * 1e6,
});

describe('the /healthz baseline bracketing the pixel (bench tracking)', () => {
  it('is the rate and CPU over both halves, with the worse half latencies, and says what each half did', () => {
    const both = bracketing(load(200_000, 8, 4, 30), load(100_000, 8, 9, 60));
    expect(both.requests).toBe(300_000);
    expect(both.requestsPerSecond).toBe(300_000 / 16);
    expect(both.latencyMs.p99).toBe(9);
    expect(both.cpuMicros).toBe(40);
    expect(both.socketErrors).toBe(2);
    expect([both.before, both.after]).toEqual([25_000, 12_500]);
    expect(both.box.parts['server event loop']).toBe(12_000_000);
    expect(both.box.busyMicros).toBe(12_000_000);
    expect(both.box.busy).toBeCloseTo(0.45, 10);
    expect(both.boxMicros).toBe(16e6);
  });
});
