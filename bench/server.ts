import { buildServer } from '../api/server.js';
import { createServerMetrics, type ServerMetrics } from '../api/metrics.js';
import type { Config } from '../core/config.js';
import { createKafka } from '../core/kafka.js';
import { createRedis } from '../core/redis.js';
import { topicsFor } from '../core/topics.js';
import { EventProducer } from '../producers/event-producer.js';
import type { FastifyInstance } from 'fastify';

/**
 * The real API server in the bench process, like `startServer` (real EventProducer, Redis,
 * listening on a free loopback port), but handing back its metrics so a scenario can read the
 * server's own counters after `close()` (which flushes the producer).
 */
export interface BenchServer {
  app: FastifyInstance;
  url: string;
  metrics: ServerMetrics;
  close(): Promise<void>;
}

export async function startBenchServer(config: Config): Promise<BenchServer> {
  const redis = createRedis(config);
  const producer = new EventProducer(createKafka(config), topicsFor(config));
  const metrics = createServerMetrics({ defaultMetrics: false });
  try {
    await producer.connect();
    const app = buildServer({ config, producer, redis, metrics });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    let closed = false;
    return {
      app,
      url,
      metrics,
      async close() {
        if (closed) return;
        closed = true;
        await app.close();
        await producer.disconnect();
        await redis.quit();
      },
    };
  } catch (error) {
    await producer.disconnect().catch(() => undefined);
    redis.disconnect();
    throw error;
  }
}

/** Sum of a counter's values whose labels match. */
export async function counterSum(counter: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, string | number | undefined> }> }> }, labels: Record<string, string>): Promise<number> {
  const { values } = await counter.get();
  return values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((s, v) => s + v.value, 0);
}
