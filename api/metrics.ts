import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One registry per server instance (not prom-client's global one), so tests can build several
 * servers in one process. Labels are bounded: route patterns, event types, fixed outcomes.
 */
export interface ServerMetrics {
  registry: Registry;
  eventsWritten: Counter<'type'>;
  trackingRequests: Counter<'route' | 'outcome'>;
  tokensRejected: Counter<'route'>;
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
}

export function createServerMetrics(options: { defaultMetrics?: boolean } = {}): ServerMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    eventsWritten: new Counter({
      name: 'engagement_events_written_total',
      help: 'Events acknowledged by Kafka, by event type',
      labelNames: ['type'],
      registers: [registry],
    }),
    trackingRequests: new Counter({
      name: 'engagement_tracking_requests_total',
      help: 'Tracking endpoint requests by route (open, click, attachment) and outcome',
      labelNames: ['route', 'outcome'],
      registers: [registry],
    }),
    tokensRejected: new Counter({
      name: 'engagement_tracking_tokens_rejected_total',
      help: 'Tracking tokens refused (forged, tampered, unknown key id, wrong kind)',
      labelNames: ['route'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'engagement_http_request_duration_seconds',
      help: 'HTTP request duration by route pattern',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
  };
}
