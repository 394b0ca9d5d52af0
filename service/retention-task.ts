import { createContainerClient } from '../core/blob.js';
import type { Config } from '../core/config.js';
import { createKafka } from '../core/kafka.js';
import { childLogger } from '../core/logger.js';
import { createRedis } from '../core/redis.js';
import { topicsFor } from '../core/topics.js';
import { EventProducer } from '../producers/event-producer.js';
import { keysFor } from '../projections/keys.js';
import { runRetention } from '../retention/run-retention.js';

const log = childLogger('retention');

/**
 * The periodic retention pass inside `engagement start`. A failed pass is logged and retried at
 * the next tick; passes never overlap.
 */
export async function startRetentionTask(config: Config): Promise<{ stop(): Promise<void> }> {
  const redis = createRedis(config);
  const producer = new EventProducer(createKafka(config), topicsFor(config));
  await producer.connect();
  const deps = { config, redis, producer, keys: keysFor(config.redisPrefix), container: createContainerClient(config) };
  let running: Promise<unknown> = Promise.resolve();
  const tick = (): void => {
    running = running.then(() =>
      runRetention(deps).catch((error: unknown) => log.error({ err: error }, 'retention pass failed; retrying at the next tick')),
    );
  };
  const timer = setInterval(tick, config.retentionIntervalSeconds * 1000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
      await producer.disconnect();
      redis.disconnect();
    },
  };
}
