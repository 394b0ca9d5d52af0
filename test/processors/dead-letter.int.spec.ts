/**
 * Dead letters of a whole batch reach the topic, however large the batch: the projector fetches up
 * to 4 MiB per partition, and a broker refuses a record batch over its message.max.bytes (1 MiB by
 * default), so the writer sends them in slices (processors/dead-letter.ts).
 */
import type { KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { EngagementError } from '../../core/errors.js';
import { createKafka } from '../../core/kafka.js';
import { topicsFor } from '../../core/topics.js';
import { DEAD_LETTER_SEND_BYTES, DeadLetterWriter, deadLetterBytes, deadLetterMessage } from '../../processors/dead-letter.js';
import type { RejectedRecord } from '../../processors/decode-records.js';
import { cleanupTestResources, createTestTopics, testConfig } from '../support/env.js';
import { highWatermarkTotal } from './support/verify.js';

const rejected = (offset: number, bytes: number): RejectedRecord => ({
  offset,
  message: { offset: String(offset), key: Buffer.from('org-1\u0000e-1'), value: Buffer.alloc(bytes, 7), timestamp: '0', attributes: 0, headers: {}, size: bytes } as unknown as KafkaMessage,
  error: new EngagementError('decode_failed', 'not an Avro single-object record'),
});

describe('dead letters of a large batch', () => {
  let config: Config;
  beforeAll(async () => {
    config = testConfig();
    await createTestTopics(config, 1);
  });
  afterAll(async () => {
    if (config) await cleanupTestResources(config);
  });

  it('sizes a dead letter with its key, value and headers', () => {
    const message = deadLetterMessage(rejected(3, 1000), { topic: 'emails', partition: 0, group: 'g' });
    expect(deadLetterBytes(message)).toBeGreaterThan(1000 + 'org-1\u0000e-1'.length + 'dlq.reason'.length);
  });

  it('writes 3 MiB of dead letters of one partition in sends below the broker limit', { timeout: 60_000 }, async () => {
    const kafka = createKafka(config);
    const writer = new DeadLetterWriter(kafka, topicsFor(config).deadletter);
    await writer.connect();
    try {
      const records = Array.from({ length: 60 }, (_, i) => rejected(i, 50_000));
      expect(records.length * 50_000).toBeGreaterThan(2 * 1_048_576);
      expect(DEAD_LETTER_SEND_BYTES).toBeLessThan(1_048_576);
      await writer.send(records, { topic: topicsFor(config).emails, partition: 0, group: 'g' });
      expect(await highWatermarkTotal(kafka, topicsFor(config).deadletter)).toBe(60);
    } finally {
      await writer.disconnect();
    }
  });

  it('dead-letters a record read again (a batch refused and read anew) once, whatever the order of its offsets', { timeout: 60_000 }, async () => {
    const kafka = createKafka(config);
    const topic = topicsFor(config).deadletter;
    const writer = new DeadLetterWriter(kafka, topic);
    await writer.connect();
    try {
      const before = await highWatermarkTotal(kafka, topic);
      const source = { topic: topicsFor(config).emails, partition: 1, group: 'g' };
      // a decode failure, then a key failure of an earlier offset found later in the same batch
      await writer.send([rejected(7, 100)], source);
      await writer.send([rejected(3, 100)], source);
      // the batch read again: both once more, and one new
      await writer.send([rejected(3, 100), rejected(7, 100), rejected(9, 100)], source);
      // another group's (or partition's) record at the same offset is its own
      await writer.send([rejected(7, 100)], { ...source, group: 'control' });
      expect(await highWatermarkTotal(kafka, topic)).toBe(before + 4);
    } finally {
      await writer.disconnect();
    }
  });
});
