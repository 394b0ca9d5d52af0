import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LeanHistogram } from '../../api/lean-histogram.js';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const LABELS = ['method', 'route', 'status_code'] as const;

describe('a histogram observed through bound series (api/lean-histogram.ts)', () => {
  it('exposes exactly what prom-client’s Histogram exposes for the same observations, edges and overflow included', async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const reference = new Histogram({ name: 'h_seconds', help: 'durations "quoted"\\n', labelNames: [...LABELS], buckets: BUCKETS, registers: [theirs] });
    const lean = new LeanHistogram('h_seconds', 'durations "quoted"\\n', LABELS, BUCKETS, [ours]);
    const series = [
      { method: 'GET', route: '/t/o/:token', status_code: '200' },
      { method: 'HEAD', route: '/t/c/:token', status_code: '302' },
      { method: 'GET', route: 'un"matched\\', status_code: '404' },
    ];
    const values = [0, 0.0005, 0.00050001, 0.001, 0.0049, 0.1, 2.5, 2.5000001, 7, 1e-9, 0.3];
    for (const [i, labels] of series.entries()) {
      const bound = lean.labels(labels);
      for (const value of values.slice(i)) {
        reference.observe(labels, value);
        if (i === 1) lean.observe(labels, value);
        else bound.observe(value);
      }
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // get() as prom-client gives it, but for its exemplars (not enabled: null or undefined)
    const withoutExemplars = (data: { values: object[] }) => data.values.map((value) => ({ ...value, exemplar: undefined }));
    expect(withoutExemplars(lean.get())).toEqual(withoutExemplars(await reference.get()));
  });

  it('refuses a label it does not have, a value that is not a number, and buckets out of order', () => {
    const lean = new LeanHistogram('x_seconds', 'x', LABELS, BUCKETS, [new Registry()]);
    expect(() => lean.labels({ method: 'GET', path: '/' } as never)).toThrow(/no label path/);
    expect(() => lean.labels({ method: 'GET' }).observe(Number.NaN)).toThrow(TypeError);
    expect(() => new LeanHistogram('y_seconds', 'y', LABELS, [1, 0.5], [new Registry()])).toThrow(/buckets must increase/);
  });

  it('after a reset, shows a series again once it is observed, through the series bound before (as prom-client does)', async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const reference = new Histogram({ name: 'r_seconds', help: 'r', labelNames: [...LABELS], buckets: BUCKETS, registers: [theirs] });
    const lean = new LeanHistogram('r_seconds', 'r', LABELS, BUCKETS, [ours]);
    const a = { method: 'GET', route: '/a', status_code: '200' };
    const b = { method: 'GET', route: '/b', status_code: '200' };
    const [refA, refB] = [reference.labels(a), reference.labels(b)];
    const [leanA, leanB] = [lean.labels(a), lean.labels(b)];
    for (const observe of [refA.observe, refB.observe, leanA.observe, leanB.observe]) observe(0.003);
    theirs.resetMetrics();
    ours.resetMetrics();
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // observed in the other order than before the reset: prom-client lists them in the new order
    refB.observe(0.2);
    leanB.observe(0.2);
    refA.observe(0.2);
    leanA.observe(0.2);
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('r_seconds_count{method="GET",route="/b",status_code="200"} 1');
    expect(text.indexOf('route="/b"')).toBeLessThan(text.indexOf('route="/a"'));
  });
});
