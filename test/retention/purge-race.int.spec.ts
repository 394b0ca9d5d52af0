/**
 * Issue 12, "why" 3: a purge is ordered with the processors. A producer keeps sending opens for
 * the org (and another org) through the real projector and lander while it is purged; batches
 * gated before the processors read OrgPurged are still in flight or buffered then. Afterwards a
 * full SCAN of the test's Redis keys and a listing of the container show nothing of the org, and
 * after (simulated) time passes, and another retention run, still nothing.
 */

import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createContainerClient } from '../../core/blob.js';
import type { Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { createRedis } from '../../core/redis.js';
import { topicsFor } from '../../core/topics.js';
import { startProcessors, type ProcessorsHandle } from '../../processors/index.js';
import type { RoleStats } from '../../processors/stats.js';
import { EventProducer } from '../../producers/event-producer.js';
import { keysFor } from '../../projections/keys.js';
import { connectRetention } from '../../retention/connect.js';
import { runRetention } from '../../retention/run-retention.js';
import { fixture } from '../support/fixtures.js';
import { cleanupTestResources, createTestTopics, randomSuffix, testConfig, waitFor } from '../support/env.js';
import { produceEvents } from '../processors/support/produce.js';
import { highWatermarkTotal, storedOffsetTotal } from '../processors/support/verify.js';
import { blobsOf, orgWithAnOpen, redisKeysOf, RETENTION_ENV, retentionJson } from './support/purge-helpers.js';

const DAY = 86_400_000;

describe('a purge while a producer keeps sending for the org', () => {
  let config: Config;
  let redis: Redis;
  let handle: ProcessorsHandle | undefined;
  let producer: EventProducer | undefined;

  afterAll(async () => {
    await producer?.disconnect().catch(() => undefined);
    await handle?.stop();
    redis?.disconnect();
    if (config) await cleanupTestResources(config);
  });

  it('leaves no Redis key and no blob of the org, then or later', { timeout: 180_000 }, async () => {
    config = testConfig({ BLOB_FLUSH_SECONDS: '1', ...RETENTION_ENV });
    redis = createRedis(config);
    await createTestTopics(config);
    handle = await startProcessors(config);
    const kafka = createKafka(config);
    const orgId = `gone-${randomSuffix()}`;
    const keep = `kept-${randomSuffix()}`;
    const at = Date.now() - 3_600_000;
    const org = orgWithAnOpen(orgId, at);
    const other = orgWithAnOpen(keep, at);
    const endedAt = Date.now() - 60_000;
    await produceEvents(kafka, config, [...org.control, ...other.control, fixture('SubscriptionEnded', { orgId, occurredAt: endedAt })]);
    await produceEvents(kafka, config, [...org.emails, ...other.emails]);

    // Opens of both orgs, without pause, until told to stop. Their times are before the purge's
    // (simulated) instant, so every one of the org's is a record of the purged past.
    producer = new EventProducer(kafka, topicsFor(config), { lingerMs: 2 });
    await producer.connect();
    let sending = true;
    let sent = 0;
    const loop = (async () => {
      while (sending) {
        const now = Date.now() - 1000;
        const batch = Array.from({ length: 20 }, (_, i) =>
          fixture('EmailOpened', { orgId: i % 2 === 0 ? orgId : keep, emailId: 'e-1', contactId: `c-${i % 4}`, occurredAt: now }),
        );
        await producer!.sendAll(batch);
        sent += batch.length;
      }
    })();

    const container = createContainerClient(config);
    const projector = (): RoleStats => handle!.stats().projector as RoleStats;
    await waitFor(async () => (await redisKeysOf(redis, config, orgId)).length > 0 && (await blobsOf(container, orgId)).length > 0, {
      timeoutMs: 30_000,
      message: 'the org projected and landed while the producer runs',
    });
    const now = endedAt + 2 * DAY;
    const { deps, close } = await connectRetention(config);
    try {
      const report = await runRetention(deps, now);
      expect(report.unfinished).toEqual([]);
      expect(report.purged.map((p) => p.orgId)).toEqual([orgId]);
      // The producer keeps going well after the purge: the processors gate the org out now.
      const after = sent;
      const collected = projector().collected;
      await waitFor(() => sent > after + 400 && projector().collected > collected + 100, { timeoutMs: 30_000, message: 'traffic after the purge' });
    } finally {
      sending = false;
      await loop;
      await close();
    }

    const topic = topicsFor(config).emails;
    const end = await highWatermarkTotal(kafka, topic);
    await waitFor(async () => (await storedOffsetTotal(redis, config, topic)) === end, { timeoutMs: 60_000, message: 'projector at the end' });
    await handle.stop(); // the lander puts everything it buffered into storage
    handle = undefined;

    expect(await redisKeysOf(redis, config, orgId)).toEqual([]);
    expect(await blobsOf(container, orgId)).toEqual([]);
    expect(await redis.sismember(keysFor(config.redisPrefix).controlOrgs(), orgId)).toBe(0);
    expect((await redisKeysOf(redis, config, keep)).length).toBeGreaterThan(0);
    expect((await blobsOf(container, keep)).length).toBeGreaterThan(0);

    // An hour of simulated time later, with the processors running again over the same log.
    handle = await startProcessors(config);
    await produceEvents(kafka, config, [fixture('EmailOpened', { orgId, emailId: 'e-1', contactId: 'c-1', occurredAt: Date.now() - 1000 })]);
    const end2 = await highWatermarkTotal(kafka, topic);
    await waitFor(async () => (await storedOffsetTotal(redis, config, topic)) === end2, { timeoutMs: 60_000, message: 'projector at the end again' });
    const later = retentionJson(config, now + 3_600_000);
    expect(later.purged).toEqual([]);
    expect(later.unfinished).toEqual([]);
    await handle.stop();
    handle = undefined;
    expect(await redisKeysOf(redis, config, orgId)).toEqual([]);
    expect(await blobsOf(container, orgId)).toEqual([]);
  });
});
