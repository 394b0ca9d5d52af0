import { createContainerClient } from '../core/blob.js';
import type { Config } from '../core/config.js';
import { createKafka } from '../core/kafka.js';
import { Keyring } from '../core/keys/keyring.js';
import { createRedis } from '../core/redis.js';
import { endsOf, readTopicOffsets } from '../core/topic-offsets.js';
import { topicsFor } from '../core/topics.js';
import { EventProducer } from '../producers/event-producer.js';
import { keysFor } from '../projections/keys.js';
import type { RetentionDeps } from './run-retention.js';

/** The clients a retention pass needs (the CLI and `engagement start`'s task), and their release. */
export async function connectRetention(config: Config): Promise<{ deps: RetentionDeps; close(): Promise<void> }> {
  const kafka = createKafka(config);
  const topics = topicsFor(config);
  const redis = createRedis(config);
  const producer = new EventProducer(kafka, topics);
  const admin = kafka.admin();
  const dataKeys = new Keyring({ kafka, topic: topics.keys, masterKeys: config.masterKeys, groupPrefix: `${config.topicPrefix}.retention` });
  try {
    await Promise.all([producer.connect(), admin.connect(), dataKeys.start()]);
  } catch (error) {
    await Promise.allSettled([producer.disconnect(), admin.disconnect(), dataKeys.stop()]);
    redis.disconnect();
    throw error;
  }
  const controlEnds = async (): Promise<Map<number, number>> => endsOf(await readTopicOffsets(admin, topics.control));
  return {
    deps: { config, redis, keys: keysFor(config.redisPrefix), container: createContainerClient(config), producer, controlEnds, dataKeys },
    async close() {
      await Promise.allSettled([producer.disconnect(), admin.disconnect(), dataKeys.stop()]);
      redis.disconnect();
    },
  };
}
