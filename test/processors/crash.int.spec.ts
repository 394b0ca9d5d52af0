import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContainerClient } from '../../core/blob.js';
import type { Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { createRedis } from '../../core/redis.js';
import { topicsFor } from '../../core/topics.js';
import { cleanupTestResources, createTestTopics, testConfig, waitFor } from '../support/env.js';
import { generateWorkload } from '../support/workload.js';
import { killHard, startChild, stopGracefully } from './support/child.js';
import { produceEvents } from './support/produce.js';
import { landedMismatch, waitForLanded, projectionMismatches, storedOffsetTotal, waitForProjectorAtEnd } from './support/verify.js';

describe('processors killed with SIGKILL under load still end exactly once', () => {
  let config: Config;
  let kafka: Kafka;
  let redis: Redis;
  let child: ChildProcess | undefined;
  const workload = generateWorkload({ orgs: 10, emailsPerOrg: 1800, recipients: 3, seed: 11 });

  beforeAll(async () => {
    config = testConfig({ BLOB_CYCLE_OFFSETS: '5000', BLOB_FLUSH_SECONDS: '2' });
    kafka = createKafka(config);
    redis = createRedis(config);
    await createTestTopics(config);
  });

  afterAll(async () => {
    if (child) await killHard(child);
    redis?.disconnect();
    if (config) await cleanupTestResources(config);
  });

  it(`projects and lands ${workload.events.length} events exactly once across kill -9 restarts`, { timeout: 240_000 }, async () => {
    expect(workload.events.length).toBeGreaterThanOrEqual(100_000);
    const topic = topicsFor(config).emails;
    await produceEvents(kafka, config, workload.control);
    const producing = produceEvents(kafka, config, workload.emails);
    const total = workload.emails.length;
    child = await startChild(config);
    for (const share of [0.15, 0.4, 0.65]) {
      await waitFor(async () => (await storedOffsetTotal(redis, config, topic)) >= total * share, { timeoutMs: 90_000, intervalMs: 20, message: `${share} projected` });
      await killHard(child);
      child = await startChild(config);
    }
    await producing;
    await waitForProjectorAtEnd(kafka, redis, config, topic, 1, 90_000);
    expect(await projectionMismatches(redis, config, workload.expected)).toEqual([]);

    const container = createContainerClient(config);
    const landed = await waitForLanded(container, workload.expected.landed.length, 90_000);
    expect(landedMismatch(landed, workload.expected.landed)).toBeNull();
    await stopGracefully(child);
    child = undefined;
  });
});
