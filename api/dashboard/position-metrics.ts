/**
 * Consumer lag and dead-letter records as Prometheus gauges, read at scrape time from Kafka and
 * Redis (the same reads as the operations page), so one scrape of the api role shows whether the
 * pipeline keeps up even when the processors run elsewhere. A scrape never waits long or fails
 * for them: when Kafka does not answer within READ_TIMEOUT_MS the gauges are left out.
 */
import { Gauge, type Registry } from 'prom-client';
import type { GroupLag } from './operations-data.js';

export interface Positions {
  groups: GroupLag[];
  deadLetterRecords: number;
}

const READ_TIMEOUT_MS = 2_000;
const SHARE_MS = 1_000;

export function registerPositionMetrics(registry: Registry, read: () => Promise<Positions>): void {
  if (registry.getSingleMetric('engagement_consumer_lag')) return;
  let shared: { at: number; value: Promise<Positions | null> } | undefined;
  const positions = (): Promise<Positions | null> => {
    if (!shared || Date.now() - shared.at > SHARE_MS) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), READ_TIMEOUT_MS)));
      shared = { at: Date.now(), value: Promise.race([read().catch(() => null), timeout]).finally(() => clearTimeout(timer)) };
    }
    return shared.value;
  };
  new Gauge({
    name: 'engagement_consumer_lag',
    help: 'Records of the emails topic not yet read, per partition: consumer groups by their offsets committed to Kafka, the live projection ("projection vN") by the offsets stored with it in Redis',
    labelNames: ['group', 'partition'],
    registers: [registry],
    async collect() {
      const p = await positions();
      if (!p) return;
      this.reset();
      for (const g of p.groups) for (const part of g.partitions) this.set({ group: g.source === 'redis' ? 'projection' : g.group, partition: String(part.partition) }, part.lag);
    },
  });
  new Gauge({
    name: 'engagement_deadletter_records',
    help: 'Records in the dead-letter topic (within its retention)',
    registers: [registry],
    async collect() {
      const p = await positions();
      if (p) this.set(p.deadLetterRecords);
    },
  });
}
