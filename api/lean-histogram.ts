/**
 * A Prometheus histogram whose series are bound once and then observed with a bucket search and
 * three additions. prom-client's Histogram checks and hashes the labels at every observe, bound or
 * not: ~1 µs, 2.6% of a pixel's event loop (bench/RESULTS.md, nineteenth session). It is registered
 * in a prom-client Registry as a metric of its own (name, help, type, get) and exposes what
 * prom-client's Histogram exposes for the same observations: cumulative `_bucket` series with `le`,
 * `+Inf`, then `_sum` and `_count`, series in the order they were first observed.
 */
import type { Registry } from 'prom-client';
import { EngagementError } from '../core/errors.js';

export interface HistogramSeries {
  observe(value: number): void;
}

interface Series {
  labels: Record<string, string>;
  /** false until its first observation, and from a reset to the next: not exposed meanwhile (as prom-client) */
  exposed: boolean;
  /** per bucket, not cumulative */
  counts: Float64Array;
  sum: number;
  count: number;
}

interface ExportedValue {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  value: number;
  metricName: string;
}

export class LeanHistogram<T extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** every series bound, by its label values */
  private readonly series = new Map<string, Series>();
  /** the series exposed, in the order of their first observation (since a reset), as prom-client orders them */
  private readonly shown = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly T[],
    private readonly buckets: readonly number[],
    registers: readonly Registry[],
  ) {
    for (let i = 1; i < buckets.length; i++) if (!(buckets[i]! > buckets[i - 1]!)) throw new EngagementError('internal', `histogram ${name}: buckets must increase`);
    for (const registry of registers) registry.registerMetric(this as never);
  }

  /** The series of `labels`, bound: hold it and observe through it. */
  labels(labels: Partial<Record<T, string | number>>): HistogramSeries {
    const values: string[] = [];
    for (const name of Object.keys(labels)) if (!this.labelNames.includes(name as T)) throw new EngagementError('internal', `histogram ${this.name} has no label ${name}`);
    for (const name of this.labelNames) values.push(labels[name] === undefined ? '' : String(labels[name]));
    const key = values.join('\u0000');
    let series = this.series.get(key);
    if (!series) {
      const own: Record<string, string> = {};
      this.labelNames.forEach((name, i) => {
        if (labels[name] !== undefined) own[name] = values[i]!;
      });
      series = { labels: own, exposed: false, counts: new Float64Array(this.buckets.length), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    const { buckets, shown } = this;
    const bound = series;
    return {
      observe(value: number): void {
        if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
        let i = 0;
        while (i < buckets.length && value > buckets[i]!) i++;
        if (i < buckets.length) bound.counts[i]! += 1;
        bound.sum += value;
        bound.count += 1;
        if (!bound.exposed) {
          bound.exposed = true;
          shown.set(key, bound);
        }
      },
    };
  }

  observe(labels: Partial<Record<T, string | number>>, value: number): void {
    this.labels(labels).observe(value);
  }

  /** Zeroes every series in place: a series bound before stays valid (the fast path holds them). */
  reset(): void {
    this.shown.clear();
    for (const series of this.series.values()) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
      series.exposed = false;
    }
  }

  /** What Registry#metrics formats (prom-client's getForPromString shape). */
  getForPromString(): { name: string; help: string; type: string; aggregator: string; values: ExportedValue[] } {
    const values: ExportedValue[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const series of this.shown.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += series.counts[i]!;
        values.push({ labels: { le }, sharedLabels: series.labels, value: cumulative, metricName: bucketName });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels: series.labels, value: series.count, metricName: bucketName });
      values.push({ labels: {}, sharedLabels: series.labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: series.labels, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** As prom-client's get(): each value's labels with its series' labels merged in. */
  get(): { name: string; help: string; type: string; aggregator: string; values: ExportedValue[] } {
    const data = this.getForPromString();
    return { ...data, values: data.values.map(({ labels, sharedLabels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } })) };
  }
}
