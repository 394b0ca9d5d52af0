import 'kafkajs';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { installFastProduce } from '../../core/kafkajs-fast-produce.js';
import { topicsFor } from '../../core/topics.js';
import { cleanupTestResources, createTestTopics, testConfig } from '../support/env.js';
import { readTopic } from '../support/read-topic.js';

/** kafkajs with the Produce encoding of core/kafka-produce-encoding.ts, against the real broker (which checks every batch's CRC). */
let config: Config;

beforeAll(async () => {
  config = testConfig();
  await createTestTopics(config, 3);
});

afterAll(async () => {
  await cleanupTestResources(config);
});

interface ThreadReport {
  grouping: boolean;
  counts: { fast: number; kafkajs: number; failed: number };
}

function runThread(topic: string, batches: Array<Array<{ key: string | null; value: string | null; timestamp?: string }>>): Promise<ThreadReport> {
  const worker = new Worker(new URL('../support/fast-produce-thread.mjs', import.meta.url), {
    workerData: { config: { kafkaBrokers: config.kafkaBrokers, kafkaClientId: config.kafkaClientId }, topic, batches },
  });
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`thread exited (${code}) before answering`)));
  });
}

describe('kafkajs with the fast Produce encoding installed (core/kafkajs-fast-produce.ts)', () => {
  it('sends records the broker accepts and a consumer reads back as sent: keys, values, timestamps, in order per key', async () => {
    const topic = topicsFor(config).emails;
    const base = 1_764_300_000_000;
    const batches = Array.from({ length: 4 }, (_, b) =>
      Array.from({ length: 250 }, (_, i) => {
        const n = b * 250 + i;
        return {
          key: n % 50 === 0 ? null : `contact-${n % 7}-é€𝄞`,
          value: n % 97 === 0 ? 'x'.repeat(20_000) + n : `value-${n}-ü`,
          // one in ten without a timestamp: kafkajs stamps it with the time of sending
          ...(n % 10 === 3 ? {} : { timestamp: String(base + ((n * 7919) % 60_000)) }),
        };
      }),
    );
    const sentAt = Date.now();
    // every Produce request (kafkajs asks the broker's version: v7 here) was encoded by the fast path
    const report = await runThread(topic, batches);
    expect(report.grouping).toBe(true);
    expect(report.counts.fast).toBeGreaterThanOrEqual(batches.length);
    expect(report.counts).toMatchObject({ kafkajs: 0, failed: 0 });

    const records = await readTopic(config, topic, 1000);
    expect(records).toHaveLength(1000);
    const sent = batches.flat();
    const byValue = new Map(records.map((r) => [r.value, r]));
    for (const message of sent) {
      const read = byValue.get(message.value!);
      expect(read, message.value!.slice(0, 20)).toBeDefined();
      expect(read!.key).toBe(message.key ?? '');
      if (message.timestamp) expect(read!.timestamp).toBe(message.timestamp);
      else expect(Number(read!.timestamp)).toBeGreaterThanOrEqual(sentAt);
    }
    // each key's records in the order they were sent (one partition per key)
    for (const key of new Set(sent.map((m) => m.key))) {
      expect(records.filter((r) => r.key === (key ?? '') && key !== null).map((r) => r.value)).toEqual(key === null ? [] : sent.filter((m) => m.key === key).map((m) => m.value));
    }
  });

  it('refuses to install once kafkajs is loaded: it would keep its own modules without a word', () => {
    expect(() => installFastProduce()).toThrow(/kafkajs was loaded before it/);
  });
});
