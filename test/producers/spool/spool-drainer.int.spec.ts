import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../core/config.js';
import { topicsFor } from '../../../core/topics.js';
import { SegmentSpool } from '../../../producers/spool/segment-spool.js';
import { SpoolDrainer } from '../../../producers/spool/spool-drainer.js';
import { ThreadSpoolSender } from '../../../producers/spool/spool-sender.js';
import { cleanupTestResources, createTestTopics, testConfig, waitFor } from '../../support/env.js';
import { readTopic } from '../../support/read-topic.js';
import { startPrivateKafka, type PrivateKafka } from '../../support/private-kafka.js';

/** The drainer with its sender thread against real brokers: the shared one, and a private one it stalls. */
let config: Config;
const dirs: string[] = [];
const spools: SegmentSpool[] = [];

beforeAll(async () => {
  config = testConfig();
  await createTestTopics(config, 1);
});

afterEach(() => {
  for (const s of spools.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

afterAll(async () => {
  await cleanupTestResources(config);
});

function openSpool(segmentBytes: number): SegmentSpool {
  const dir = mkdtempSync(path.join(tmpdir(), 'spool-drainer-'));
  dirs.push(dir);
  const spool = SegmentSpool.open({ dir, maxBytes: 50_000_000, segmentBytes, fsyncMs: 5 });
  spools.push(spool);
  return spool;
}

const sender = (brokers: string[]) => new ThreadSpoolSender({ kafkaBrokers: brokers, kafkaClientId: config.kafkaClientId, requestTimeout: 10_000 });

describe('SpoolDrainer', () => {
  it('drains everything across segments that start while a batch is in flight', async () => {
    // Segments of a few records and a trickle of appends: a batch often ends at the end of the last
    // segment it saw, and the next segment starts before Kafka acknowledges it (that segment is then
    // deleted by the acknowledgement, and the next read must go on with the following one).
    const spool = openSpool(1024);
    const drainer = new SpoolDrainer(spool, sender(config.kafkaBrokers));
    drainer.start();
    const topic = topicsFor(config).emails;
    const n = 600;
    for (let i = 0; i < n; i++) {
      spool.append({ topic, key: `k${i % 3}`, timestamp: 1_700_000_000_000 + i, value: Buffer.from(`value-${i}-${'x'.repeat(60)}`) });
      if (i % 3 === 2) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await waitFor(() => spool.stats().records === 0, { timeoutMs: 30_000, message: `the spool drained (${spool.stats().records} of ${n} waiting)` });
    await drainer.stop();
    const values = (await readTopic(config, topic, n)).map((r) => r.value);
    // at least once: a retried batch may repeat records, never lose or reorder them
    const firsts = [...new Set(values.map((v) => v.split('-').slice(0, 2).join('-')))];
    expect(firsts).toEqual(Array.from({ length: n }, (_, i) => `value-${i}`));
  });

  it.each([
    { capped: 'by records', batchRecords: 100, valueBytes: 60 },
    { capped: 'by bytes', batchRecords: 2000, valueBytes: 2048 },
  ])('sends a backlog request after request without pausing while each request is full ($capped)', async ({ batchRecords, valueBytes }) => {
    // paceMs of a minute: a pause after any of the backlog's full requests would outlast the wait
    const spool = openSpool(16 * 1_048_576);
    const topic = topicsFor(config).emails;
    // 1,050: the last full request leaves fewer than a batch waiting, where a pause would first show
    const n = 1050;
    for (let i = 0; i < n; i++) spool.append({ topic, key: `k${i % 5}`, timestamp: 1_700_000_000_000 + i, value: Buffer.from(`backlog-${i}-${'y'.repeat(valueBytes)}`) });
    const requests: number[] = [];
    const drainer = new SpoolDrainer(spool, sender(config.kafkaBrokers), { batchRecords, paceMs: 60_000, onSent: (records) => requests.push(records) });
    drainer.start();
    await waitFor(() => spool.stats().records === 0, { timeoutMs: 20_000, message: `the backlog drained (${spool.stats().records} of ${n} waiting)` });
    await drainer.stop();
    // several full requests, every record acknowledged
    expect(requests.length).toBeGreaterThanOrEqual(4);
    expect(requests.reduce((a, b) => a + b, 0)).toBe(n);
  });

  describe('with a stalled broker', () => {
    let kafka: PrivateKafka;
    beforeAll(async () => {
      kafka = await startPrivateKafka();
      await createTestTopics({ ...config, kafkaBrokers: [kafka.brokers] }, 1);
    }, 120_000);
    afterAll(async () => {
      await kafka?.stop();
    });

    it('stops within its bound while a batch waits for the broker, and keeps the batch for the next start', async () => {
      const spool = openSpool(1 << 20);
      const failures: string[] = [];
      const drainer = new SpoolDrainer(spool, sender([kafka.brokers]), { onError: (error) => failures.push(error.message) });
      drainer.start();
      const topic = topicsFor(config).emails;
      spool.append({ topic, key: 'k', timestamp: 1_700_000_000_000, value: Buffer.from('sent before the stall') });
      await waitFor(() => spool.stats().records === 0, { timeoutMs: 30_000, message: 'the first record sent' });

      kafka.pause();
      try {
        spool.append({ topic, key: 'k', timestamp: 1_700_000_000_001, value: Buffer.from('waits in the spool') });
        await waitFor(() => !drainer.healthy, { timeoutMs: 10_000, message: 'the batch seen stalled' });
        const started = Date.now();
        // the server's drain time: a stalled batch ends the drain wait at once, then has 2 s
        await drainer.stop({ drainMs: 15_000 });
        expect(Date.now() - started).toBeLessThan(8_000);
        expect(spool.stats().records).toBe(1);
        expect(failures).toEqual([]); // ended by the stop, not reported as Kafka's failure
      } finally {
        kafka.resume();
      }
      // the next start sends it, on a new thread
      const next = new SpoolDrainer(spool, sender([kafka.brokers]));
      next.start();
      await waitFor(() => spool.stats().records === 0, { timeoutMs: 30_000, message: 'the kept record sent once the broker is back' });
      await next.stop();
    }, 60_000);

    it('sends again, on a new thread, the batch of a sender thread that died while Kafka had not answered', async () => {
      const spool = openSpool(1 << 20);
      const threads = sender([kafka.brokers]);
      const failures: string[] = [];
      const drainer = new SpoolDrainer(spool, threads, { onError: (error) => failures.push(error.message) });
      drainer.start();
      const topic = topicsFor(config).deadletter;
      kafka.pause();
      try {
        spool.append({ topic, key: 'k', timestamp: 1_700_000_000_002, value: Buffer.from('held by the thread that died') });
        await waitFor(() => !drainer.healthy, { timeoutMs: 10_000, message: 'the batch in flight, stalled' });
        await threads.abort(); // the thread ends mid-send, as a crash of it would
        await waitFor(() => failures.length > 0, { timeoutMs: 10_000, message: 'the drainer told of the lost thread' });
        expect(failures[0]).toMatch(/spool sender thread exited/);
        expect(spool.stats().records).toBe(1);
      } finally {
        kafka.resume();
      }
      await waitFor(() => spool.stats().records === 0, { timeoutMs: 30_000, message: 'the batch sent again once the broker is back' });
      await drainer.stop();
      const values = (await readTopic({ ...config, kafkaBrokers: [kafka.brokers] }, topic, 1)).map((r) => r.value);
      expect(values).toContain('held by the thread that died');
    }, 60_000);
  });
});
