import type { FastifyPluginAsync } from 'fastify';
import { Registry, register } from 'prom-client';
import type { RouteDeps } from './route-deps.js';

/**
 * Liveness, readiness and Prometheus metrics. Readiness needs the Kafka producer connected and
 * Redis answering PING within a short timeout, so a load balancer stops routing here quickly.
 */
export interface OpsDeps extends RouteDeps {
  kafkaConnected: () => boolean;
}

const READY_TIMEOUT_MS = 1000;

export const opsRoutes: FastifyPluginAsync<OpsDeps> = async (app, deps) => {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const kafka = deps.kafkaConnected();
    const redis = await withTimeout(deps.redis.ping(), READY_TIMEOUT_MS).then(
      (pong) => pong === 'PONG',
      () => false,
    );
    const ready = kafka && redis;
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', kafka, redis });
  });

  // The server's own registry plus the process-wide one the processors count on, so one
  // scrape of `engagement start` shows the API and the pipeline (gated out, dead letters, lag).
  app.get('/metrics', async (_request, reply) => {
    const merged = Registry.merge([deps.metrics.registry, register]);
    return reply.header('content-type', merged.contentType).send(await merged.metrics());
  });
};

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
