import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContainerClient } from '../../core/blob.js';
import type { Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { createRedis } from '../../core/redis.js';
import { topicsFor } from '../../core/topics.js';
import { startProcessors, type ProcessorsHandle } from '../../processors/index.js';
import { keysFor, dayOf } from '../../projections/keys.js';
import { cleanupTestResources, createTestTopics, testConfig, waitFor } from '../support/env.js';
import { generateWorkload } from '../support/workload.js';
import { garbageRecords, produceEvents, produceRaw } from './support/produce.js';
import { highWatermarkTotal, landedMismatch, waitForLanded, projectionMismatches, storedOffsetTotal } from './support/verify.js';

describe('processors: a mixed workload lands exactly once in Redis and blobs', () => {
  let config: Config;
  let kafka: Kafka;
  let redis: Redis;
  let handle: ProcessorsHandle | undefined;
  const workload = generateWorkload({ orgs: 4, emailsPerOrg: 150, recipients: 3, seed: 7 });
  const garbage = garbageRecords();

  beforeAll(async () => {
    config = testConfig({ BLOB_CYCLE_OFFSETS: '300', BLOB_FLUSH_SECONDS: '1' });
    kafka = createKafka(config);
    redis = createRedis(config);
    await createTestTopics(config);
    handle = await startProcessors(config);
    await produceEvents(kafka, config, workload.control);
    await produceEvents(kafka, config, workload.emails.slice(0, 1000));
    await produceRaw(kafka, topicsFor(config).emails, garbage);
    await produceEvents(kafka, config, workload.emails.slice(1000));
  });

  afterAll(async () => {
    await handle?.stop();
    redis?.disconnect();
    if (config) await cleanupTestResources(config);
  });

  it('projects the exact KPIs, with nothing of the disabled window or after the opt-out', async () => {
    const topic = topicsFor(config).emails;
    const end = await highWatermarkTotal(kafka, topic);
    await waitFor(async () => (await storedOffsetTotal(redis, config, topic)) === end, { timeoutMs: 60_000, message: 'projector at the end of the topic' });
    expect(await projectionMismatches(redis, config, workload.expected)).toEqual([]);
    // the runner counts a batch a moment after its offsets are stored (another connection's reply)
    await waitFor(() => (handle!.stats().projector as { records: number }).records >= end, { message: 'projector runner counted every record' });
    const stats = handle!.stats().projector as { gatedOut: Record<string, number>; deadLettered: number };
    expect(stats.gatedOut).toEqual(workload.expected.gatedOutRecords);
    expect(workload.expected.gatedOutRecords.org_disabled).toBeGreaterThan(0);
    expect(workload.expected.gatedOutRecords.contact_opted_out).toBeGreaterThan(0);
    expect(stats.deadLettered).toBe(garbage.length);
    // the excluded interactions never reached Redis, not even the seen sets
    const k = keysFor(config.redisPrefix).version(1);
    const excluded = workload.emails.filter((e) => workload.expected.excluded.has(e.eventId));
    const pipeline = redis.pipeline();
    for (const e of excluded) pipeline.sismember(k.seen(dayOf(e.occurredAt)), e.eventId);
    const flags = ((await pipeline.exec()) ?? []).map(([, v]) => v);
    expect(flags.every((v) => v === 0)).toBe(true);
  });

  it('lands every gated record exactly once as Avro, and none of the excluded ones', async () => {
    const container = createContainerClient(config);
    const landed = await waitForLanded(container, workload.expected.landed.length, 60_000);
    expect(landedMismatch(landed, workload.expected.landed)).toBeNull();
    expect(landed.filter((r) => workload.expected.excluded.has(r.event.eventId))).toEqual([]);
    expect(new Set(landed.map((r) => r.event.type))).toEqual(new Set(['EmailSent', 'EmailOpened', 'LinkClicked', 'AttachmentViewed', 'EmailReplied']));
  });

  it('dead-letters garbage with its reason and keeps going', async () => {
    const consumer = kafka.consumer({ groupId: `${config.topicPrefix}.dlq-reader` });
    const letters: Array<{ key: string; headers: Record<string, string> }> = [];
    await consumer.connect();
    await consumer.subscribe({ topic: topicsFor(config).deadletter, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        letters.push({
          key: message.key?.toString() ?? '',
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([h, v]) => [h, String(v)])),
        });
      },
    });
    try {
      await waitFor(() => letters.length >= garbage.length, { timeoutMs: 30_000, message: 'dead letters' });
    } finally {
      await consumer.disconnect();
    }
    expect(letters.map((l) => l.key).sort()).toEqual(garbage.map((g) => g.key).sort());
    for (const g of garbage) {
      const letter = letters.find((l) => l.key === g.key)!;
      expect(letter.headers['dlq.code']).toBe(g.code);
      expect(letter.headers['dlq.reason']).not.toBe('');
      expect(letter.headers['dlq.topic']).toBe(topicsFor(config).emails);
      expect(letter.headers['dlq.group']).toBe(`${config.topicPrefix}.projector`);
      expect(Number(letter.headers['dlq.offset'])).toBeGreaterThanOrEqual(0);
      expect(letter.headers['dlq.partition']).toMatch(/^\d+$/);
    }
  });
});
