import type { FastifyPluginAsync } from 'fastify';
import { Registry, register } from 'prom-client';
import type { RouteDeps } from './route-deps.js';

/**
 * Liveness, readiness and Prometheus metrics. Readiness needs the Kafka producer connected and
 * Redis answering PING within a short timeout, so a load balancer stops routing here quickly.
 */
export interface OpsDeps extends RouteDeps {
  kafkaConnected: () => boolean;
  /** true while a new server is still reaching Kafka for the first time (api/kafka-connection.ts): not ready yet */
  kafkaStarting?: () => boolean;
  /** Kafka refused this server for good (credentials, ACLs): not ready, whatever the spool */
  kafkaRefused?: () => boolean;
  /** the tracking spool: whether its drainer reaches Kafka, whether it takes records, its backlog */
  spoolStatus?: () => SpoolStatus;
}

export interface SpoolStatus {
  draining: boolean;
  accepting: boolean;
  records: number;
  bytes: number;
  oldestAgeSeconds: number;
  /** whether hits can be sealed without Kafka (Keyring.sealsOffline): false, an outage loses them */
  sealing: boolean;
}

const READY_TIMEOUT_MS = 1000;

export const opsRoutes: FastifyPluginAsync<OpsDeps> = async (app, deps) => {
  app.get('/healthz', async () => ({ status: 'ok' }));

  // With a spool, a Kafka outage does not make the server unready: tracking is taken by the spool
  // (`tracking: "spooling"` says so, with its backlog), and only a full spool, Redis, or no data key
  // to seal hits with (`keys_unavailable`: neither the keys topic read nor a local copy within its
  // 3-hour bound, so every hit would be lost) turns it away.
  app.get('/readyz', async (_request, reply) => {
    if (deps.kafkaStarting?.()) return reply.status(503).send({ status: 'starting', kafka: false, message: 'reaching Kafka for the first time' });
    if (deps.kafkaRefused?.()) return reply.status(503).send({ status: 'refused', kafka: false, message: 'Kafka refused this API (credentials or ACLs; see the log): restart it once fixed' });
    const spool = deps.spoolStatus?.();
    const kafka = deps.kafkaConnected() && (spool?.draining ?? true);
    const redis = await withTimeout(deps.redis.ping(), READY_TIMEOUT_MS).then(
      (pong) => pong === 'PONG',
      () => false,
    );
    const { tracking, takesTracking } = trackingState(spool, kafka);
    const ready = redis && takesTracking;
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', kafka, redis, tracking, ...(spool ? { spool } : {}) });
  });

  // The server's own registry plus the process-wide one the processors count on, so one
  // scrape of `engagement start` shows the API and the pipeline (gated out, dead letters, lag).
  app.get('/metrics', async (_request, reply) => {
    const merged = Registry.merge([deps.metrics.registry, register]);
    return reply.header('content-type', merged.contentType).send(await merged.metrics());
  });
};

/**
 * How tracking requests fare, and whether the server is ready for its traffic. Tracking turns it
 * away only when it has nowhere to go: Kafka down and the spool full, or unable to seal hits. With
 * Kafka up a full spool (Kafka slower than the hits, for a while) refuses hits, says so, and stays
 * ready: the same Kafka fills every instance's spool alike, and /readyz is the whole API's (KPI
 * reads, the dashboard, ingest), which a load balancer would take out everywhere at once. Pure.
 */
export function trackingState(spool: Pick<SpoolStatus, 'accepting' | 'sealing'> | undefined, kafka: boolean): { tracking: string; takesTracking: boolean } {
  if (!spool) return { tracking: kafka ? 'direct' : 'unavailable', takesTracking: kafka };
  if (!spool.accepting) return { tracking: 'spool_full', takesTracking: kafka };
  if (kafka) return { tracking: 'direct', takesTracking: true };
  return spool.sealing ? { tracking: 'spooling', takesTracking: true } : { tracking: 'keys_unavailable', takesTracking: false };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
