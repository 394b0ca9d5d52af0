import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../core/config.js';
import { topicsFor } from '../../../core/topics.js';
import { SegmentSpool } from '../../../producers/spool/segment-spool.js';
import { ThreadSpoolSender } from '../../../producers/spool/spool-sender.js';
import { cleanupTestResources, createTestTopics, testConfig } from '../../support/env.js';
import { readTopic } from '../../support/read-topic.js';

/** The spool's sender thread against the real broker: what a plan holds reaches the topic, in order. */
let config: Config;
let dir: string;
let spool: SegmentSpool;
let sender: ThreadSpoolSender;

beforeAll(async () => {
  config = testConfig();
  await createTestTopics(config, 1);
  dir = mkdtempSync(path.join(tmpdir(), 'spool-sender-'));
  // small segments: the plans span several files
  spool = SegmentSpool.open({ dir, maxBytes: 10_000_000, segmentBytes: 4096, fsyncMs: 5 });
  sender = new ThreadSpoolSender({ kafkaBrokers: config.kafkaBrokers, kafkaClientId: config.kafkaClientId, requestTimeout: 10_000 });
});

afterAll(async () => {
  await sender?.close();
  spool?.close();
  rmSync(dir, { recursive: true, force: true });
  await cleanupTestResources(config);
});

describe('ThreadSpoolSender', () => {
  it('sends a plan of the spool from its worker thread, in order, and says where it ended', async () => {
    const topic = topicsFor(config).emails;
    for (let i = 0; i < 300; i++) spool.append({ topic, key: `k${i % 5}`, timestamp: 1_700_000_000_000 + i, value: Buffer.from(`value-${i}`) });

    const first = spool.plan();
    expect(first.segments.length).toBeGreaterThan(2);
    const sent = await sender.send(first, 200);
    expect(sent).toMatchObject({ records: 200, exhausted: false, lastTimestamp: 1_700_000_000_199, corruptTails: 0 });
    spool.advance(first, sent);
    spool.ack(sent.end, sent.records, sent.lastTimestamp);
    expect(spool.unread).toBe(100);

    const second = spool.plan();
    expect(second.from).toEqual(sent.end);
    const rest = await sender.send(second, 1000);
    expect(rest).toMatchObject({ records: 100, exhausted: true, lastTimestamp: 1_700_000_000_299 });
    spool.advance(second, rest);
    spool.ack(rest.end, rest.records, rest.lastTimestamp);
    expect(spool.unread).toBe(0);
    expect(spool.stats()).toMatchObject({ records: 0, oldestAt: null, segments: 1 });

    const records = await readTopic(config, topic, 300);
    expect(records).toHaveLength(300);
    expect(records.map((r) => r.value)).toEqual(Array.from({ length: 300 }, (_, i) => `value-${i}`));
    expect(records[7]).toEqual({ key: 'k2', value: 'value-7', timestamp: String(1_700_000_000_007) });
  });

  it('fails a send it cannot read with the reason, keeps the position, and the next send goes through', async () => {
    const topic = topicsFor(config).deadletter;
    spool.append({ topic, key: 'k', timestamp: 1_700_000_001_000, value: Buffer.from('after-the-failure') });
    const plan = spool.plan();
    // a segment deleted under the reader (nothing else deletes segments but the spool's ack)
    const missing = { from: { seq: 999_999, offset: 0 }, segments: [{ seq: 999_999, file: path.join(dir, 'gone.seg'), size: 100 }], written: 0 };
    await expect(sender.send(missing, 10)).rejects.toThrow(/ENOENT/);
    expect(spool.unread).toBe(1);

    const again = spool.plan();
    expect(again.from).toEqual(plan.from);
    const sent = await sender.send(again, 10);
    expect(sent.records).toBe(1);
    spool.advance(again, sent);
    expect(spool.unread).toBe(0);
    expect((await readTopic(config, topic, 1)).map((r) => r.value)).toEqual(['after-the-failure']);
  });

  it('counts what was written after a plan as unread when the plan is read to its end', async () => {
    const topic = topicsFor(config).emails;
    spool.append({ topic, key: 'k', timestamp: 1_700_000_002_000, value: Buffer.from('in-the-plan') });
    const plan = spool.plan();
    spool.append({ topic, key: 'k', timestamp: 1_700_000_002_001, value: Buffer.from('after-the-plan') });
    spool.flush();
    const sent = await sender.send(plan, 1000);
    expect(sent).toMatchObject({ records: 1, exhausted: true });
    spool.advance(plan, sent);
    expect(spool.unread).toBe(1);
    const next = spool.plan();
    const rest = await sender.send(next, 1000);
    expect(rest).toMatchObject({ records: 1, exhausted: true, lastTimestamp: 1_700_000_002_001 });
    spool.advance(next, rest);
    expect(spool.unread).toBe(0);
  });

  it('sends a batch larger than the broker takes in one record batch (every record to one partition) in slices', async () => {
    // after an outage a campaign's clicks wait in the spool, most of them under one email's key:
    // 2,000 sealed clicks of ~650 B are ~1.3 MB for one partition, over the broker's 1 MiB limit
    const topic = topicsFor(config).deadletter;
    const pad = 'x'.repeat(700);
    for (let i = 0; i < 2500; i++) spool.append({ topic, key: 'one-email', timestamp: 1_700_000_003_000 + i, value: Buffer.from(`big-${i}-${pad}`) });
    let left = 2500;
    while (left > 0) {
      const plan = spool.plan();
      const sent = await sender.send(plan, 2000);
      expect(sent.records).toBeGreaterThan(0);
      spool.advance(plan, sent);
      spool.ack(sent.end, sent.records, sent.lastTimestamp);
      left -= sent.records;
    }
    expect(spool.unread).toBe(0);
    const records = (await readTopic(config, topic, 2501)).slice(1);
    expect(records).toHaveLength(2500);
    expect(records.map((r) => r.value.slice(0, r.value.indexOf('-x')))).toEqual(Array.from({ length: 2500 }, (_, i) => `big-${i}`));
  }, 60_000);
});
