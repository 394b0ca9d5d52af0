/**
 * Consumer lag and dead-letter records as Prometheus gauges, read from Kafka and Redis (the same
 * reads as the operations page), so one scrape of the api role shows whether the pipeline keeps
 * up even when the processors run elsewhere.
 *
 * Scrapes never pile reads onto Kafka: a successful read is reused for CACHE_MS, and only one
 * read is in flight at a time, shared by every scrape (and both gauges) that arrives meanwhile.
 * A scrape waits at most READ_TIMEOUT_MS. When the read fails or is late the gauges are removed
 * rather than left at old values, and `engagement_positions_fresh` says 0.
 */
import { Gauge, type Registry } from 'prom-client';
import type { GroupLag } from './operations-data.js';

export interface Positions {
  groups: GroupLag[];
  deadLetterRecords: number;
}

export const READ_TIMEOUT_MS = 2_000;
export const CACHE_MS = 10_000;

/** One read in flight, a fresh answer reused for `cacheMs`, null when the read failed or is late. */
export class PositionsSampler {
  private inFlight: Promise<Positions | null> | undefined;
  private last: { at: number; value: Positions } | undefined;

  constructor(
    private readonly read: () => Promise<Positions>,
    private readonly options: { cacheMs?: number; timeoutMs?: number; clock?: () => number } = {},
  ) {}

  sample(): Promise<Positions | null> {
    const clock = this.options.clock ?? Date.now;
    if (this.last && clock() - this.last.at < (this.options.cacheMs ?? CACHE_MS)) return Promise.resolve(this.last.value);
    if (!this.inFlight) {
      this.inFlight = this.read()
        .then(
          (value) => {
            this.last = { at: clock(), value };
            return value;
          },
          () => {
            this.last = undefined;
            return null;
          },
        )
        .finally(() => {
          this.inFlight = undefined;
        });
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), this.options.timeoutMs ?? READ_TIMEOUT_MS)));
    return Promise.race([this.inFlight, late]).finally(() => clearTimeout(timer));
  }
}

export function registerPositionMetrics(registry: Registry, read: () => Promise<Positions>, options: { clock?: () => number } = {}): void {
  if (registry.getSingleMetric('engagement_consumer_lag')) return;
  const sampler = new PositionsSampler(read, options);
  new Gauge({
    name: 'engagement_consumer_lag',
    help: 'Records of the emails topic not yet read, per partition: consumer groups by their offsets committed to Kafka, the live projection ("projection vN") by the offsets stored with it in Redis; absent while the read fails',
    labelNames: ['group', 'partition'],
    registers: [registry],
    async collect() {
      const p = await sampler.sample();
      this.reset();
      if (!p) return;
      for (const g of p.groups) for (const part of g.partitions) this.set({ group: g.source === 'redis' ? 'projection' : g.group, partition: String(part.partition) }, part.lag);
    },
  });
  new Gauge({
    name: 'engagement_deadletter_records',
    help: 'Records in the dead-letter topic (within its retention); absent while the read fails',
    registers: [registry],
    async collect() {
      const p = await sampler.sample();
      if (p) this.set(p.deadLetterRecords);
      else this.remove(); // not 0: "no dead letters" would be a lie
    },
  });
  new Gauge({
    name: 'engagement_positions_fresh',
    help: '1 when the lag and dead-letter gauges come from a read of the last few seconds, 0 when Kafka or Redis did not answer (the gauges are then absent)',
    registers: [registry],
    async collect() {
      this.set((await sampler.sample()) ? 1 : 0);
    },
  });
}
