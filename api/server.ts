import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../core/config.js';
import { createKafka } from '../core/kafka.js';
import { childLogger } from '../core/logger.js';
import { createRedis } from '../core/redis.js';
import { topicsFor } from '../core/topics.js';
import { EventProducer } from '../producers/event-producer.js';
import { countingSink, type EventSink } from '../producers/event-sink.js';
import { controlRoutes } from './routes/control-routes.js';
import { emailRoutes } from './routes/email-routes.js';
import { ingestRoutes } from './routes/ingest-routes.js';
import type { RouteDeps } from './routes/route-deps.js';
import { trackingRoutes } from './routes/tracking-routes.js';
import { MAX_TOKEN_CHARS } from '../producers/tracking/tokens.js';
import { kpiRoutes } from './routes/kpi-routes.js';
import { keysFor } from '../projections/keys.js';
import { ControlReader } from '../processors/control/control-reader.js';
import { ControlStore } from '../projections/control/control-store.js';
import { EventCodec } from '../schemas/codec.js';
import { errorHandler } from './error-handler.js';
import { createServerMetrics, type ServerMetrics } from './metrics.js';
import { opsRoutes } from './routes/ops-routes.js';
import { registerOpenApi } from './openapi/openapi-plugin.js';
import { OrgTopCache } from '../projections/queries/org-top.js';
import { insightRoutes } from './routes/insight-routes.js';
import { dashboardRoutes } from './routes/dashboard-routes.js';

/**
 * The one HTTP server (DESIGN.md §6). `buildServer` wires routes to given clients and never
 * listens (tests use `app.inject` or `listen({port: 0})`); `startServer` owns the clients.
 */
const API_VERSION = '0.1.0';

export type RoutePlugin = FastifyPluginAsync<RouteDeps>;

export interface ServerDeps {
  config: Config;
  /** connected producer; anything with `send`/`sendAll` resolving on Kafka's ack */
  producer: EventSink & { readonly isConnected: boolean };
  redis: Redis;
  control?: ControlStore;
  metrics?: ServerMetrics;
  logger?: Logger;
  /** more route plugins, registered after the producer routes with the same RouteDeps */
  plugins?: readonly RoutePlugin[];
  now?: () => number;
}

/** Route plugins every server registers. The KPI query routes join here. */
const ROUTE_PLUGINS: readonly RoutePlugin[] = [
  emailRoutes,
  trackingRoutes,
  ingestRoutes,
  controlRoutes,
  kpiRoutes,
  insightRoutes,
  dashboardRoutes,
];

export function buildServer(deps: ServerDeps): FastifyInstance {
  const { config } = deps;
  const log = deps.logger ?? childLogger('http');
  const metrics = deps.metrics ?? createServerMetrics();
  const app = Fastify({
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.maxBodyBytes,
    trustProxy: config.trustProxy,
    return503OnClosing: true,
    // Tracking tokens carry the target URL: far longer than fastify's default of 100.
    routerOptions: { maxParamLength: MAX_TOKEN_CHARS },
  }) as unknown as FastifyInstance;

  const routeDeps: RouteDeps = {
    config,
    sink: countingSink(deps.producer, (event) => metrics.eventsWritten.inc({ type: event.type })),
    redis: deps.redis,
    control: deps.control ?? new ControlStore(deps.redis, keysFor(config.redisPrefix), undefined, config.suppressionSecret),
    metrics,
    now: deps.now ?? Date.now,
    newEventId: randomUUID,
    orgTopCache: new OrgTopCache(),
  };

  app.setErrorHandler(errorHandler(log));
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  // first: every route registered after it is described in /openapi.json
  registerOpenApi(app, API_VERSION);
  void app.register(opsRoutes, { ...routeDeps, kafkaConnected: () => deps.producer.isConnected });
  for (const plugin of [...ROUTE_PLUGINS, ...(deps.plugins ?? [])]) void app.register(plugin, routeDeps);
  return app;
}

export interface RunningServer {
  app: FastifyInstance;
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  /** the server's own counters (readable after `close()`, which flushes the producer) */
  metrics: ServerMetrics;
  /** stops accepting requests, then flushes and disconnects the producer and Redis */
  close(): Promise<void>;
}

export async function startServer(
  config: Config,
  options: { plugins?: readonly RoutePlugin[]; metrics?: ServerMetrics } = {},
): Promise<RunningServer> {
  const redis = createRedis(config);
  const kafka = createKafka(config);
  const producer = new EventProducer(kafka, topicsFor(config));
  // The API's own copy of the control topic: it answers enablement questions when Redis has lost
  // the control store, until the control role has rewritten it.
  const controlTopic = new ControlReader({ kafka, topic: topicsFor(config).control, groupPrefix: `${config.topicPrefix}.api`, codec: new EventCodec() });
  const metrics = options.metrics ?? createServerMetrics();
  try {
    await Promise.all([producer.connect(), controlTopic.start()]);
    await controlTopic.caughtUp();
    const control = new ControlStore(redis, keysFor(config.redisPrefix), controlTopic, config.suppressionSecret);
    const app = buildServer({ config, producer, redis, control, metrics, ...(options.plugins ? { plugins: options.plugins } : {}) });
    const url = await app.listen({ port: config.port, host: config.host });
    childLogger('http').info({ url }, 'engagement API listening');
    let closing: Promise<void> | undefined;
    return {
      app,
      url,
      metrics,
      close() {
        closing ??= (async () => {
          await app.close();
          await producer.disconnect();
          await controlTopic.stop();
          await redis.quit();
        })();
        return closing;
      },
    };
  } catch (error) {
    await producer.disconnect().catch(() => undefined);
    await controlTopic.stop().catch(() => undefined);
    redis.disconnect();
    throw error;
  }
}
