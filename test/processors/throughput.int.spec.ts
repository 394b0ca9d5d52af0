import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createContainerClient } from '../../core/blob.js';
import { createKafka } from '../../core/kafka.js';
import { createRedis } from '../../core/redis.js';
import { topicsFor } from '../../core/topics.js';
import { startProcessors, type ProcessorsHandle } from '../../processors/index.js';
import type { RoleStats } from '../../processors/stats.js';
import { cleanupTestResources, createTestTopics, testConfig, waitFor } from '../support/env.js';
import { generateWorkload } from '../support/workload.js';
import { produceEvents } from './support/produce.js';
import { highWatermarkTotal, storedOffsetTotal } from './support/verify.js';

/** Measures one processor (all roles) draining a pre-produced topic; prints events/s. */
describe('processor throughput', () => {
  const config = testConfig({ BLOB_CYCLE_OFFSETS: '10000', BLOB_FLUSH_SECONDS: '1' });
  let redis: Redis | undefined;
  let handle: ProcessorsHandle | undefined;

  afterAll(async () => {
    await handle?.stop();
    redis?.disconnect();
    await cleanupTestResources(config);
  });

  it('drains 100k events with projector + lander + control in one process', { timeout: 180_000 }, async () => {
    const kafka = createKafka(config);
    redis = createRedis(config);
    await createTestTopics(config);
    const workload = generateWorkload({ orgs: 10, emailsPerOrg: 1800, recipients: 3, seed: 23, privacySwitches: false });
    await produceEvents(kafka, config, workload.events);
    const topic = topicsFor(config).emails;
    const end = await highWatermarkTotal(kafka, topic);
    const started = Date.now();
    handle = await startProcessors(config);
    await waitFor(async () => (await storedOffsetTotal(redis!, config, topic)) === end, { timeoutMs: 120_000, intervalMs: 20 });
    const projected = Date.now();
    await waitFor(() => (handle!.stats().lander as RoleStats).records >= end, { timeoutMs: 120_000, intervalMs: 20 });
    const landedAt = Date.now();
    const blobs: string[] = [];
    for await (const b of createContainerClient(config).listBlobsFlat()) blobs.push(b.name);
    const seconds = (t: number): number => (t - started) / 1000;
    console.log(
      `throughput: ${end} events; projector done in ${seconds(projected).toFixed(1)} s (${Math.round(end / seconds(projected))} ev/s), ` +
        `lander consumed in ${seconds(landedAt).toFixed(1)} s (${Math.round(end / seconds(landedAt))} ev/s), ${blobs.length} blobs (startup included)`,
    );
    expect(blobs.length).toBeGreaterThan(0);
  });
});
