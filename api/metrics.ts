import { Counter, Gauge, Registry, collectDefaultMetrics, type CounterConfiguration } from 'prom-client';
import { LeanHistogram } from './lean-histogram.js';
import type { SpoolOutcome } from '../producers/spool/spool-sink.js';
import { EngagementError } from '../core/errors.js';

/**
 * One registry per server instance (not prom-client's global one), so tests can build several
 * servers in one process. Labels are bounded: route patterns, event types, fixed outcomes.
 */
export interface ServerMetrics {
  registry: Registry;
  eventsWritten: Counter<'type'>;
  trackingRequests: Counter<'route' | 'outcome'>;
  tokensRejected: Counter<'route'>;
  /** observed by every request (the tracking fast path's included): a LeanHistogram, not prom-client's */
  httpDuration: LeanHistogram<'method' | 'route' | 'status_code'>;
  /** tracking records offered to the spool, by outcome (spooled, full, failed, invalid) */
  spoolAppends: Counter<'outcome'>;
  spoolWriteLosses: Counter;
  spoolSent: Counter;
  spoolSendFailures: Counter;
}

/** What the spool gauges read at scrape time. */
export interface SpoolGaugeSource {
  stats(): { bytes: number; records: number; oldestAt: number | null };
  recovery: { corruptTails: number; corruptBytes: number };
}

/** Spool size, backlog and age, read when scraped, and the corrupt tails found on open. */
export function registerSpoolGauges(metrics: ServerMetrics, source: SpoolGaugeSource, now: () => number = Date.now): void {
  const registers = [metrics.registry];
  new Gauge({
    name: 'engagement_spool_bytes',
    help: 'Bytes of spool segments on disk (tracking records not yet acknowledged by Kafka, and their segment)',
    registers,
    collect() {
      this.set(source.stats().bytes);
    },
  });
  new Gauge({
    name: 'engagement_spool_records',
    help: 'Tracking records in the spool waiting for Kafka',
    registers,
    collect() {
      this.set(source.stats().records);
    },
  });
  new Gauge({
    name: 'engagement_spool_oldest_age_seconds',
    help: 'Age of the oldest tracking record waiting in the spool (0 when empty)',
    registers,
    collect() {
      const at = source.stats().oldestAt;
      this.set(at === null ? 0 : Math.max(0, (now() - at) / 1000));
    },
  });
  new Gauge({
    name: 'engagement_spool_corrupt_tails',
    help: 'Torn or corrupt segment tails skipped since this process opened the spool',
    registers,
    collect() {
      this.set(source.recovery.corruptTails);
    },
  });
  new Gauge({
    name: 'engagement_spool_corrupt_bytes',
    help: 'Bytes of torn or corrupt segment tails skipped since this process opened the spool',
    registers,
    collect() {
      this.set(source.recovery.corruptBytes);
    },
  });
}

/** A counter series' increment, as the hot paths hold it. */
export interface CounterChild {
  inc(): void;
}

/** Per counter, its deferred series: what they hold that it does not have yet. */
const deferredOf = new WeakMap<Counter<string>, Array<{ flush(): void; drop(): void }>>();

/**
 * A series of `counter` for a path that counts on every tracking request: its increments are
 * summed in a plain number and added to the series when the counter is read (a scrape, or `get`,
 * runs its collect), or dropped by its reset. prom-client's inc() checks and hashes the labels at
 * every call, and two of them cost a pixel's event loop ~2.5% (bench/RESULTS.md, nineteenth
 * session). Only for counters made by deferringCounter (createServerMetrics' tracking counters).
 */
export function deferredSeries<T extends string>(counter: Counter<T>, labels: Partial<Record<T, string>>): CounterChild {
  const held = deferredOf.get(counter as Counter<string>);
  // a counter without the collect would never show these increments
  if (!held) throw new EngagementError('internal', `counter ${(counter as unknown as { name: string }).name} does not collect deferred increments`);
  const series = counter.labels(labels);
  let pending = 0;
  held.push({
    flush() {
      if (pending === 0) return;
      series.inc(pending);
      pending = 0;
    },
    drop() {
      pending = 0;
    },
  });
  return {
    inc() {
      pending++;
    },
  };
}

/** A counter that takes deferred series: read, it adds what they hold; reset, it drops it. */
function deferringCounter<T extends string>(config: CounterConfiguration<T>): Counter<T> {
  const held: Array<{ flush(): void; drop(): void }> = [];
  const counter = new Counter<T>({
    ...config,
    collect() {
      for (const series of held) series.flush();
    },
  });
  const reset = counter.reset.bind(counter);
  counter.reset = () => {
    for (const series of held) series.drop();
    reset();
  };
  deferredOf.set(counter as Counter<string>, held);
  return counter;
}

/** Every outcome of a spool append, each a series from the start: a rate or an alert on "full" needs its zero. */
const SPOOL_APPEND_OUTCOMES = ['spooled', 'full', 'failed', 'invalid', 'no_key'] as const satisfies readonly SpoolOutcome[];

export function createServerMetrics(options: { defaultMetrics?: boolean } = {}): ServerMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const metrics = createCounters(registry);
  for (const outcome of SPOOL_APPEND_OUTCOMES) metrics.spoolAppends.labels({ outcome }).inc(0);
  return metrics;
}

function createCounters(registry: Registry): ServerMetrics {
  return {
    registry,
    eventsWritten: new Counter({
      name: 'engagement_events_written_total',
      help: 'Events acknowledged by Kafka, by event type',
      labelNames: ['type'],
      registers: [registry],
    }),
    trackingRequests: deferringCounter({
      name: 'engagement_tracking_requests_total',
      help: 'Tracking endpoint requests by route (open, click, attachment) and outcome',
      labelNames: ['route', 'outcome'],
      registers: [registry],
    }),
    tokensRejected: deferringCounter({
      name: 'engagement_tracking_tokens_rejected_total',
      help: 'Tracking tokens refused (forged, tampered, unknown key id, wrong kind)',
      labelNames: ['route'],
      registers: [registry],
    }),
    httpDuration: new LeanHistogram(
      'engagement_http_request_duration_seconds',
      'HTTP request duration by route pattern',
      ['method', 'route', 'status_code'],
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      [registry],
    ),
    spoolAppends: deferringCounter({
      name: 'engagement_spool_appends_total',
      help: 'Tracking records offered to the durable spool, by outcome: spooled, full (SPOOL_MAX_BYTES reached: refused), failed (disk error), invalid, no_key (no data key to seal it with)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    spoolWriteLosses: new Counter({
      name: 'engagement_spool_write_lost_total',
      help: 'Tracking records counted spooled and then lost: the write(2) at the end of their event-loop turn failed (disk error)',
      registers: [registry],
    }),
    spoolSent: new Counter({
      name: 'engagement_spool_sent_total',
      help: 'Spooled tracking records acknowledged by Kafka (a re-sent record counts again)',
      registers: [registry],
    }),
    spoolSendFailures: new Counter({
      name: 'engagement_spool_send_failures_total',
      help: 'Spool batches Kafka did not acknowledge (retried from the same position)',
      registers: [registry],
    }),
  };
}
