import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { createRedis } from '../../core/redis.js';
import { startProcessors, type ProcessorsHandle } from '../../processors/index.js';
import type { RoleStats } from '../../processors/stats.js';
import { cleanupTestResources, createTestTopics, testConfig, waitFor } from '../support/env.js';
import { generateWorkload } from '../support/workload.js';
import { produceEvents } from './support/produce.js';
import { projectionMismatches } from './support/verify.js';

/**
 * Redis loses the projection (FLUSHDB of the service's database, as a failover to an empty or
 * stale replica would): the projector notices — by the two-sided fence while events flow, by its
 * watchdog while idle — says so, and rebuilds from the log to the exact counts by itself.
 * The test owns a Redis database of its own, so flushing it touches no other test.
 */
const OWN_DB = 13;

describe('the projector rebuilds what Redis lost', () => {
  let config: Config;
  let kafka: Kafka;
  let redis: Redis;
  let handle: ProcessorsHandle | undefined;
  const first = generateWorkload({ orgs: 2, emailsPerOrg: 60, recipients: 3, seed: 51 });
  const second = generateWorkload({ orgs: 2, emailsPerOrg: 60, recipients: 3, seed: 52, idPrefix: 'second' });
  const rebuilds = (): number => (handle?.stats().projector as RoleStats | undefined)?.rebuilds ?? 0;

  beforeAll(async () => {
    const base = testConfig();
    const url = new URL(base.redisUrl);
    url.pathname = `/${OWN_DB}`;
    config = testConfig({ REDIS_URL: url.toString(), TOPIC_PREFIX: base.topicPrefix, REDIS_PREFIX: base.redisPrefix, BLOB_CONTAINER: base.blobContainer });
    kafka = createKafka(config);
    redis = createRedis(config);
    await redis.flushdb();
    await createTestTopics(config);
    handle = await startProcessors(config, { roles: ['projector', 'control'] });
    await produceEvents(kafka, config, first.control);
    await produceEvents(kafka, config, first.emails);
    await waitFor(async () => (await projectionMismatches(redis, config, first.expected)).length === 0, { timeoutMs: 30_000, message: 'first workload projected' });
  });

  afterAll(async () => {
    await handle?.stop();
    await redis?.flushdb().catch(() => undefined);
    redis?.disconnect();
    if (config) await cleanupTestResources(config);
  });

  it('while idle: the watchdog notices the flush and the KPIs come back exactly, with no new event', { timeout: 60_000 }, async () => {
    const before = rebuilds();
    await redis.flushdb();
    await waitFor(async () => (await projectionMismatches(redis, config, first.expected)).length === 0, { timeoutMs: 30_000, message: 'rebuilt after an idle flush' });
    expect(rebuilds()).toBeGreaterThan(before);
  });

  it('while events flow: nothing before the flush is lost, nothing is counted twice', { timeout: 60_000 }, async () => {
    const before = rebuilds();
    const half = Math.floor(second.emails.length / 2);
    await produceEvents(kafka, config, second.control);
    await produceEvents(kafka, config, second.emails.slice(0, half));
    const flushed = redis.flushdb();
    await produceEvents(kafka, config, second.emails.slice(half));
    await flushed;
    await waitFor(
      async () =>
        (await projectionMismatches(redis, config, first.expected)).length === 0 && (await projectionMismatches(redis, config, second.expected)).length === 0,
      { timeoutMs: 45_000, message: 'both workloads exact after a flush under load' },
    );
    expect(rebuilds()).toBeGreaterThan(before);
  });
});
