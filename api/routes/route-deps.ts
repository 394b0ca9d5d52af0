import type { Redis } from 'ioredis';
import type { ServerMetrics } from '../metrics.js';
import type { Config } from '../../core/config.js';
import type { DataKeySource } from '../../core/keys/keyring.js';
import type { ControlStore } from '../../projections/control/control-store.js';
import type { EventSink } from '../../producers/event-sink.js';
import type { OrgTopCache } from '../../projections/queries/org-top.js';
import type { SpoolSink } from '../../producers/spool/spool-sink.js';
import type { TrackingHandler } from '../tracking/tracking-answer.js';

/** What every route plugin receives as its options (the KPI routes get the same object). */
export interface RouteDeps {
  config: Config;
  /** acknowledged writes to Kafka, counted in metrics */
  sink: EventSink;
  redis: Redis;
  control: ControlStore;
  metrics: ServerMetrics;
  now: () => number;
  newEventId: () => string;
  /** the org rankings, shared by the API and the dashboard */
  orgTopCache: OrgTopCache;
  /** org data keys (absent in tests that build a server without Kafka) */
  keys?: DataKeySource;
  /** the tracking endpoints' durable spool; without it they send straight to Kafka (tests) */
  spool?: SpoolSink;
  /** the one tracking handler of this server, shared by its fast path and its routes */
  tracking?: TrackingHandler;
}
