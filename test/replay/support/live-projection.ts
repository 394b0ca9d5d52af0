import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { Config } from '../../../core/config.js';
import { createKafka } from '../../../core/kafka.js';
import { createRedis } from '../../../core/redis.js';
import { topicsFor } from '../../../core/topics.js';
import { startProcessors, type ProcessorsHandle } from '../../../processors/index.js';
import type { AnyEvent } from '../../../schemas/events.js';
import { createTestTopics } from '../../support/env.js';
import { produceEvents } from '../../processors/support/produce.js';
import { waitForProjectorAtEnd } from '../../processors/support/verify.js';

export interface LiveProjection {
  kafka: Kafka;
  redis: Redis;
  handle: ProcessorsHandle;
}

/** What a replay test starts from: a one-partition emails topic, the live projector and control role, and `workload` projected to its end. */
export async function liveProjection(config: Config, workload: { control: readonly AnyEvent[]; emails: readonly AnyEvent[] }): Promise<LiveProjection> {
  const kafka = createKafka(config);
  const redis = createRedis(config);
  await createTestTopics(config, 1);
  const handle = await startProcessors(config, { roles: ['projector', 'control'] });
  await produceEvents(kafka, config, workload.control);
  await produceEvents(kafka, config, workload.emails);
  await waitForProjectorAtEnd(kafka, redis, config, topicsFor(config).emails, 1);
  return { kafka, redis, handle };
}
