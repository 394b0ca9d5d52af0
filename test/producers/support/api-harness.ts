/**
 * A producer API on the real stack for one test file: fresh topics and Redis prefix, a real
 * EventProducer and Redis client, keys for org-a / org-b, and a clock tests may pin.
 */

import type { FastifyInstance } from 'fastify';
import type { Consumer } from 'kafkajs';
import type { Redis } from 'ioredis';
import { buildServer } from '../../../api/server.js';
import type { Config } from '../../../core/config.js';
import { createKafka } from '../../../core/kafka.js';
import { createRedis } from '../../../core/redis.js';
import { topicsFor } from '../../../core/topics.js';
import { EventProducer } from '../../../producers/event-producer.js';
import { ControlStore } from '../../../projections/control/control-store.js';
import { keysFor } from '../../../projections/keys.js';
import { decodeEvent } from '../../../schemas/codec.js';
import type { AnyEvent } from '../../../schemas/events.js';
import { cleanupTestResources, createTestTopics, testConfig, testGroupId } from '../../support/env.js';
import { openWith, startTestKeyring } from '../../support/keys.js';
import type { Keyring } from '../../../core/keys/keyring.js';

export const KEYS = { admin: 'admin-key-test', a: 'key-a', b: 'key-b' } as const;

export interface ApiHarness {
  config: Config;
  app: FastifyInstance;
  redis: Redis;
  producer: EventProducer;
  /** the API's data keys (the producer seals with them) */
  keys: Keyring;
  /** pin the server's clock (undefined = real time) */
  setNow(ms: number | undefined): void;
  /** sum of the end offsets of a topic's partitions, once everything the server queued is written */
  endOffset(topic: string): Promise<number>;
  close(): Promise<void>;
}

export async function startApiHarness(env: Record<string, string> = {}): Promise<ApiHarness> {
  const config = testConfig({
    ENGAGEMENT_ADMIN_KEY: KEYS.admin,
    ENGAGEMENT_API_KEYS: `org-a:${KEYS.a},org-b:${KEYS.b}`,
    TRACKING_SECRET: 'k1:test-secret-one,k0:retired-secret',
    PUBLIC_BASE_URL: 'http://tracking.test',
    MAX_BODY_BYTES: '65536',
    ...env,
  });
  await createTestTopics(config);
  const redis = createRedis(config);
  const keys = await startTestKeyring(config);
  // wired like startServer: a purged org (not enabled again) gets no new data key
  const control = new ControlStore(redis, keysFor(config.redisPrefix), undefined, config.suppressionSecret);
  const mayCreateKey = async (orgId: string): Promise<boolean> => !(await control.purgedAndDisabled(orgId));
  const producer = new EventProducer(createKafka(config), topicsFor(config), { keys, suppressionSecret: config.suppressionSecret, mayCreateKey });
  await producer.connect();
  let pinned: number | undefined;
  const app = buildServer({ config, producer, redis, keys, control, now: () => pinned ?? Date.now() });
  await app.ready();
  const admin = createKafka(config).admin();
  await admin.connect();
  return {
    config,
    app,
    redis,
    producer,
    keys,
    setNow: (ms) => void (pinned = ms),
    async endOffset(topic) {
      await producer.flush();
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.reduce((sum, p) => sum + Number(p.high), 0);
    },
    async close() {
      await app.close();
      await admin.disconnect();
      await producer.disconnect();
      await keys.stop();
      await redis.quit();
      await cleanupTestResources(config);
    },
  };
}

export interface Received {
  topic: string;
  key: string;
  /** opened: every personal field in clear (the reader holds the keys) */
  event: AnyEvent;
  /** the record's value as it is on the topic */
  raw: Buffer;
}

/** Reads topics from the beginning into `messages`, decoding each with decodeEvent and opening it with the keys topic. */
export async function startTopicReader(config: Config, topics: string[]): Promise<{ messages: Received[]; stop(): Promise<void> }> {
  const messages: Received[] = [];
  const keyring = await startTestKeyring(config);
  const consumer: Consumer = createKafka(config).consumer({ groupId: testGroupId(config, `reader-${Math.random().toString(36).slice(2)}`) });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const event = await openWith(keyring, decodeEvent(message.value!));
      messages.push({ topic, key: message.key?.toString() ?? '', event, raw: message.value! });
    },
  });
  return {
    messages,
    stop: async () => {
      await consumer.disconnect();
      await keyring.stop();
    },
  };
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
