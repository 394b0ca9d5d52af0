import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../core/config.js';
import { createKafka } from '../core/kafka.js';
import { Keyring, type DataKeySource } from '../core/keys/keyring.js';
import { KeySnapshot } from '../core/keys/key-snapshot.js';
import { EngagementError } from '../core/errors.js';
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
import { ControlStore, type ControlFallback } from '../projections/control/control-store.js';
import { EventCodec } from '../schemas/codec.js';
import { isControlEvent, type AnyEvent } from '../schemas/events.js';
import { isSealed, sealEvent } from '../schemas/sealing.js';
import { errorHandler } from './error-handler.js';
import { createServerMetrics, type ServerMetrics } from './metrics.js';
import { registerOpenApi } from './openapi/openapi-plugin.js';
import { OrgTopCache } from '../projections/queries/org-top.js';
import { insightRoutes } from './routes/insight-routes.js';
import { dashboardRoutes } from './routes/dashboard-routes.js';
import { opsRoutes, type SpoolStatus } from './routes/ops-routes.js';
import { SegmentSpool } from '../producers/spool/segment-spool.js';
import { SpoolDrainer } from '../producers/spool/spool-drainer.js';
import { ThreadSpoolSender } from '../producers/spool/spool-sender.js';
import { SpoolSink } from '../producers/spool/spool-sink.js';
import { registerSpoolGauges } from './metrics.js';
import { trackingHandler } from './tracking/tracking-endpoint.js';
import { trackingFastPath } from './tracking/tracking-fast-path.js';
import { connectInBackground, type KafkaConnection } from './kafka-connection.js';
import { settleWithin } from '../core/retry.js';

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
  /** the org data keys: an org's key is created when it is enabled */
  keys?: DataKeySource;
  /** the tracking spool and its status for /readyz (startServer always gives one) */
  spool?: { sink: SpoolSink; status: () => SpoolStatus };
  /** the connection startServer makes in the background (readiness: starting, reached) */
  kafka?: Pick<KafkaConnection, 'ready' | 'starting' | 'refused'>;
}

/**
 * Tracking hits are sealed into the spool with the org's data key when this process holds it (it
 * reads every key from the keys topic); without one, nothing personal is spooled in clear: the
 * route falls back to the producer, which fetches or creates the key.
 */
function sealWithKnownKey(keys: Pick<Keyring, 'sealingKey'>): (event: AnyEvent) => AnyEvent | undefined {
  return (event) => {
    if (isControlEvent(event) || isSealed(event)) return event;
    const key = keys.sealingKey(event.orgId);
    return key ? sealEvent(event, key) : undefined;
  };
}

/**
 * The API's copy of the control topic answers for a Redis that lost the control store only once it
 * has read the topic to its end: before that (Kafka unreachable since the start) it could miss a
 * disable or an opt-out, so such a request fails with 503 instead of guessing.
 */
function readFallback(reader: ControlReader, caughtUp: () => boolean): ControlFallback {
  const check = (): void => {
    if (!caughtUp()) {
      throw new EngagementError('kafka_unavailable', 'the control store in Redis is not synced and this API has not read the control topic yet: Kafka is not reachable', { retriable: true });
    }
  };
  return {
    orgState: (orgId) => (check(), reader.orgState(orgId)),
    contactAllows: (orgId, contactId, type) => (check(), reader.contactAllows(orgId, contactId, type)),
    orgIds: () => (check(), reader.orgIds()),
    remember: (events) => reader.remember(events),
  };
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
  // The tracking requests are answered before fastify (api/tracking/tracking-fast-path.ts); set
  // once the routes' dependencies exist, which is before the server listens.
  let fastPath: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  let closing = false;
  const app = Fastify({
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.maxBodyBytes,
    trustProxy: config.trustProxy,
    return503OnClosing: true,
    // Tracking tokens carry the target URL: far longer than fastify's default of 100.
    routerOptions: { maxParamLength: MAX_TOKEN_CHARS },
    serverFactory: (handler, fastifyOptions) => {
      const options = fastifyOptions as { keepAliveTimeout?: number; requestTimeout?: number; connectionTimeout?: number };
      const server = createServer((req, res) => {
        if (!fastPath?.(req, res)) handler(req, res);
      });
      // what fastify sets on a server it creates itself
      server.keepAliveTimeout = options.keepAliveTimeout ?? 72_000;
      server.requestTimeout = options.requestTimeout ?? 0;
      server.setTimeout(options.connectionTimeout ?? 0);
      return server;
    },
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
    ...(deps.keys ? { keys: deps.keys } : {}),
    ...(deps.spool ? { spool: deps.spool.sink } : {}),
  };

  const tracking = trackingHandler(routeDeps, log);
  routeDeps.tracking = tracking;
  const afterWrite = (then: () => void): void => (deps.spool ? deps.spool.sink.afterWrite(then) : then());
  fastPath = trackingFastPath({ handle: tracking, trustProxy: config.trustProxy, httpDuration: metrics.httpDuration, closing: () => closing, afterWrite });
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });

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
  void app.register(opsRoutes, {
    ...routeDeps,
    kafkaConnected: () => deps.producer.isConnected && (deps.kafka?.ready() ?? true),
    ...(deps.kafka ? { kafkaStarting: deps.kafka.starting, kafkaRefused: deps.kafka.refused } : {}),
    ...(deps.spool ? { spoolStatus: deps.spool.status } : {}),
  });
  for (const plugin of [...ROUTE_PLUGINS, ...(deps.plugins ?? [])]) void app.register(plugin, routeDeps);
  return app;
}

const SPOOL_DRAIN_ON_CLOSE_MS = 15_000;
/** A request that needs the keys topic waits this long for a keyring not started yet (Kafka not reached), then 503. */
const KEYS_START_WAIT_MS = 5_000;

export interface RunningServer {
  app: FastifyInstance;
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  /** the server's own counters (readable after `close()`, which flushes the producer) */
  metrics: ServerMetrics;
  /** stops accepting requests, then flushes and disconnects the producer and Redis */
  close(): Promise<void>;
  /** resolves once Kafka is reached (the control and keys topics read to their end): it is reached in the background, the server listens before */
  kafkaReached(): Promise<void>;
}

/** How long a stop waits for the API's Kafka clients once its spool has had its turn. */
const KAFKA_CLIENTS_STOP_MS = 3_000;

export async function startServer(
  config: Config,
  /** `unsealedForBench`: email events written in clear, as before encryption; only the bench's same-run baseline uses it (no configuration reaches it) */
  options: { plugins?: readonly RoutePlugin[]; metrics?: ServerMetrics; unsealedForBench?: boolean } = {},
): Promise<RunningServer> {
  const metrics = options.metrics ?? createServerMetrics();
  const log = childLogger('spool');
  // Opened first: what a previous run left (a crash, a kill -9) starts draining at once; and a
  // directory another process holds refuses this start before any client is open to keep it alive.
  const spool = SegmentSpool.open({
    dir: config.spoolDir,
    maxBytes: config.spoolMaxBytes,
    segmentBytes: config.spoolSegmentBytes,
    fsyncMs: config.spoolFsyncMs,
    onSyncError: (err) => log.error({ err }, 'spool fdatasync failed; retried at the next group commit'),
    onWriteError: (records, err) => {
      metrics.spoolWriteLosses.inc(records);
      log.error({ err, records }, 'spool write failed: these tracking records are lost');
    },
    onCallbackError: (err) => log.error({ err }, 'a tracking answer sent after the spool write threw'),
  });
  const redis = createRedis(config);
  const kafka = createKafka(config);
  const keySnapshot = new KeySnapshot(config.spoolDir);
  const keys = new Keyring({ kafka, topic: topicsFor(config).keys, masterKeys: config.masterKeys, groupPrefix: `${config.topicPrefix}.api`, snapshot: keySnapshot, startWaitMs: KEYS_START_WAIT_MS });
  // Set once the control store exists: until then no key is created by a late event.
  let controlForKeys: ControlStore | undefined;
  const mayCreateKey = async (orgId: string): Promise<boolean> => controlForKeys !== undefined && !(await controlForKeys.purgedAndDisabled(orgId));
  const producer = new EventProducer(
    kafka,
    topicsFor(config),
    options.unsealedForBench ? {} : { keys, suppressionSecret: config.suppressionSecret, mayCreateKey },
  );
  // The API's own copy of the control topic: it answers enablement questions when Redis has lost
  // the control store, until the control role has rewritten it.
  const controlTopic = new ControlReader({ kafka, topic: topicsFor(config).control, groupPrefix: `${config.topicPrefix}.api`, codec: new EventCodec(), keys, suppressionSecret: config.suppressionSecret });
  // Once the spool holds its LOCK (a second process on the directory is refused before it reads the
  // copy), before anything reaches Kafka: an API started while Kafka is down seals tracking hits with the
  // data keys it last read (its local copy) instead of waiting for the keys topic.
  const restored = keys.restore();
  if ('orgs' in restored) log.info({ file: keySnapshot.file, orgs: restored.orgs, confirmedAt: new Date(restored.confirmedAt).toISOString() }, 'data keys restored from the local copy until the keys topic is read');
  else if (restored.unusable !== 'missing') log.warn({ file: keySnapshot.file, reason: restored.unusable }, 'local copy of the data keys not used');
  if (spool.recovery.ackedIgnored) log.warn({ dir: config.spoolDir, acked: spool.recovery.ackedIgnored }, `spool ACKED ignored (${spool.recovery.ackedIgnored.reason}): everything present is sent again`);
  if (spool.recovery.records > 0 || spool.recovery.corruptTails > 0) log.warn({ dir: config.spoolDir, ...spool.recovery }, 'spool recovered');
  registerSpoolGauges(metrics, spool);
  // A short request timeout: a stalled broker is noticed (and /readyz says "spooling") within seconds.
  const drainer = new SpoolDrainer(spool, new ThreadSpoolSender({ kafkaBrokers: config.kafkaBrokers, kafkaClientId: config.kafkaClientId, requestTimeout: 10_000 }), {
    onSent: (records) => metrics.spoolSent.inc(records),
    onError: (err, records) => {
      metrics.spoolSendFailures.inc();
      log.warn({ err, records, waiting: spool.stats().records }, 'spool batch not acknowledged by Kafka; retrying');
    },
  });
  drainer.start();
  const spoolStatus = (): SpoolStatus => {
    const stats = spool.stats();
    return {
      draining: drainer.healthy,
      accepting: spool.hasRoom(),
      records: stats.records,
      bytes: stats.bytes,
      oldestAgeSeconds: stats.oldestAt === null ? 0 : Math.max(0, (Date.now() - stats.oldestAt) / 1000),
      sealing: keys.sealsOffline(),
    };
  };
  // On a graceful stop the spool is sent while Kafka takes it (up to SPOOL_DRAIN_ON_CLOSE_MS); the
  // rest waits on disk for the next start.
  let stopConnection = (): void => undefined;
  const stopSpool = async (drainMs = 0): Promise<void> => {
    await drainer.stop({ drainMs });
    spool.close();
  };
  try {
    // allSettled: an attempt never starts a piece whose previous attempt is still running
    const connection = connectInBackground(async () => {
      const results = await Promise.allSettled([producer.connect(), controlTopic.startAndCatchUp(), keys.start()]);
      const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ piece: ['producer', 'control topic', 'keys topic'][i]!, reason: r.reason as unknown }] : []));
      if (failed.length > 0) {
        const message = failed.map((f) => `${f.piece}: ${(f.reason as Error)?.message ?? String(f.reason)}`).join('; ');
        throw new AggregateError(failed.map((f) => f.reason), message);
      }
    }, config.kafkaBrokers);
    stopConnection = () => connection.stop();
    const control = new ControlStore(redis, keysFor(config.redisPrefix), readFallback(controlTopic, () => connection.ready()), config.suppressionSecret);
    controlForKeys = control;
    const spoolSink = new SpoolSink(spool, topicsFor(config), new EventCodec(), { seal: sealWithKnownKey(keys) });
    const app = buildServer({
      config,
      producer,
      redis,
      control,
      metrics,
      keys,
      spool: { sink: spoolSink, status: spoolStatus },
      kafka: connection,
      ...(options.plugins ? { plugins: options.plugins } : {}),
    });
    const url = await app.listen({ port: config.port, host: config.host });
    childLogger('http').info({ url }, 'engagement API listening');
    let closed: Promise<void> | undefined;
    return {
      app,
      url,
      metrics,
      kafkaReached: () => connection.reached(),
      close() {
        closed ??= (async () => {
          connection.stop();
          await app.close();
          // a per-process spool is never picked up again: nor is its copy of the keys (and the
          // spool then leaves an empty directory behind it, which it removes)
          if (config.spoolPerProcess) keys.dropSnapshot();
          await stopSpool(SPOOL_DRAIN_ON_CLOSE_MS);
          // Every request was answered before this (app.close), so these clients hold nothing of
          // anyone's: a stalled broker must not keep the stop waiting out their request timeouts.
          const clients = Promise.allSettled([producer.disconnect(), controlTopic.stop(), keys.stop()]).then(() => 'stopped' as const);
          if ((await settleWithin(clients, KAFKA_CLIENTS_STOP_MS, 'late' as const)) === 'late') log.warn({ ms: KAFKA_CLIENTS_STOP_MS }, 'the API\'s Kafka clients did not disconnect in time (Kafka not answering); left behind');
          await redis.quit();
        })();
        return closed;
      },
    };
  } catch (error) {
    stopConnection();
    await stopSpool().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await controlTopic.stop().catch(() => undefined);
    await keys.stop().catch(() => undefined);
    redis.disconnect();
    throw error;
  }
}
