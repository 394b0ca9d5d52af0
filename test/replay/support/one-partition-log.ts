import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll } from 'vitest';
import type { Config } from '../../../core/config.js';
import { createKafka } from '../../../core/kafka.js';
import { createRedis } from '../../../core/redis.js';
import type { AnyEvent } from '../../../schemas/events.js';
import { produceEvents } from '../../processors/support/produce.js';
import { cleanupTestResources, createTestTopics, testConfig } from '../../support/env.js';

export interface OnePartitionLog {
  config: Config;
  kafka: Kafka;
  redis: Redis;
}

/**
 * For the describe block it is called in: a fresh test config (`env` on top), its topics with one
 * partition, and `produces` written in order, each produce its own record batch (a 1-byte fetch
 * sees them apart); everything is deleted after the block. The fields are set once the block's
 * beforeAll has run.
 */
export function onePartitionLog(env: Record<string, string>, produces: () => ReadonlyArray<readonly AnyEvent[]>): OnePartitionLog {
  const log = {} as OnePartitionLog;
  beforeAll(async () => {
    log.config = testConfig(env);
    log.kafka = createKafka(log.config);
    log.redis = createRedis(log.config);
    await createTestTopics(log.config, 1);
    for (const events of produces()) await produceEvents(log.kafka, log.config, events);
  });
  afterAll(async () => {
    log.redis?.disconnect();
    if (log.config) await cleanupTestResources(log.config);
  });
  return log;
}
