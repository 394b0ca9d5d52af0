/**
 * The keys topic reader after a crash kafkajs does not restart (a non-retriable error; one was
 * seen in CI during a rebalance): it starts again, so the keyring goes on seeing new keys and
 * tombstones instead of holding what it had until the process restarts.
 */
import { KafkaJSNonRetriableError, type ConsumerConfig, type ConsumerRunConfig, type Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../core/config.js';
import { createKafka } from '../../../core/kafka.js';
import { Keyring } from '../../../core/keys/keyring.js';
import { topicsFor } from '../../../core/topics.js';
import { cleanupTestResources, createTestTopics, randomSuffix, testConfig, testGroupId, waitFor } from '../../support/env.js';

/** `kafka` whose consumers' first batch throws an error kafkajs does not retry. */
function crashOnFirstBatch(kafka: Kafka, crashes: { count: number }): Kafka {
  return new Proxy(kafka, {
    get(target, prop, receiver) {
      if (prop !== 'consumer') return Reflect.get(target, prop, receiver) as unknown;
      return (config: ConsumerConfig) => {
        const consumer = target.consumer(config);
        const run = consumer.run.bind(consumer);
        consumer.run = (options?: ConsumerRunConfig) =>
          run({
            ...options,
            eachBatch: async (payload) => {
              if (crashes.count === 0) {
                crashes.count++;
                throw new KafkaJSNonRetriableError('injected: a crash kafkajs does not restart');
              }
              await options!.eachBatch!(payload);
            },
          });
        return consumer;
      };
    },
  });
}

describe('Keyring after its consumer crashed', () => {
  let config: Config;
  const rings: Keyring[] = [];
  beforeAll(async () => {
    config = testConfig();
    await createTestTopics(config, 1);
  });
  afterAll(async () => {
    for (const ring of rings) await ring.stop().catch(() => undefined);
    if (config) await cleanupTestResources(config);
  });

  it('starts its reader again and goes on seeing new keys and tombstones', { timeout: 60_000 }, async () => {
    const kafka = createKafka(config);
    const ring = (name: string, via: Kafka) => {
      const keyring = new Keyring({ kafka: via, topic: topicsFor(config).keys, masterKeys: config.masterKeys, groupPrefix: testGroupId(config, name) });
      rings.push(keyring);
      return keyring;
    };
    const writer = ring('writer', kafka);
    await writer.start();
    const first = `org-${randomSuffix()}`;
    const k1 = await writer.ensure(first);

    const crashes = { count: 0 };
    const reader = ring('reader', crashOnFirstBatch(kafka, crashes));
    void reader.start().catch(() => undefined); // its first start may fail with the crash
    await waitFor(() => crashes.count === 1, { message: 'the injected crash' });
    await waitFor(() => reader.current(first)?.keyId === k1.keyId, { timeoutMs: 30_000, message: 'the key read after the crash' });

    const second = `org-${randomSuffix()}`;
    const k2 = await writer.ensure(second);
    await writer.destroy(first);
    await waitFor(() => reader.current(second)?.keyId === k2.keyId && reader.current(first) === undefined, { timeoutMs: 30_000, message: 'a new key and a tombstone read' });
    expect(crashes.count).toBe(1);
  });
});
