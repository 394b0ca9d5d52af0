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

/**
 * DESIGN §4: scale out by starting more instances. Two processors in one group split the
 * partitions; a member joining and another leaving mid-run (two rebalances) lose and double
 * nothing, in Redis and in the blobs.
 */
describe('two processor instances in one consumer group', () => {
  let config: Config;
  let kafka: Kafka;
  let redis: Redis;
  const children: ChildProcess[] = [];
  const workload = generateWorkload({ orgs: 6, emailsPerOrg: 500, recipients: 3, seed: 23 });

  beforeAll(async () => {
    config = testConfig({ BLOB_CYCLE_OFFSETS: '2000', BLOB_FLUSH_SECONDS: '1' });
    kafka = createKafka(config);
    redis = createRedis(config);
    await createTestTopics(config, 4);
  });

  afterAll(async () => {
    await Promise.all(children.map(killHard));
    redis?.disconnect();
    if (config) await cleanupTestResources(config);
  });

  async function members(groupId: string): Promise<number[][]> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const { groups } = await admin.describeGroups([groupId]);
      const { AssignerProtocol } = await import('kafkajs');
      return (groups[0]?.members ?? []).map((m) => {
        const assignment = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
        return assignment?.assignment[topicsFor(config).emails] ?? [];
      });
    } finally {
      await admin.disconnect();
    }
  }

  it('split the partitions and end with exact KPIs and one copy of every landed record', { timeout: 180_000 }, async () => {
    const topic = topicsFor(config).emails;
    await produceEvents(kafka, config, workload.control);
    const producing = produceEvents(kafka, config, workload.emails);
    const total = workload.emails.length;

    children.push(await startChild(config));
    await waitFor(async () => (await storedOffsetTotal(redis, config, topic)) >= total * 0.2, { timeoutMs: 60_000, intervalMs: 20, message: '20% projected' });
    children.push(await startChild(config));

    const split = await waitFor(
      async () => {
        const assignments = await members(`${config.topicPrefix}.projector`);
        return assignments.length === 2 && assignments.every((p) => p.length > 0) ? assignments : false;
      },
      { timeoutMs: 60_000, intervalMs: 200, message: 'both instances own partitions' },
    );
    expect(split.flat().sort()).toEqual([0, 1, 2, 3]);

    await waitFor(async () => (await storedOffsetTotal(redis, config, topic)) >= total * 0.6, { timeoutMs: 60_000, intervalMs: 20, message: '60% projected' });
    await stopGracefully(children.shift()!);

    await producing;
    await waitForProjectorAtEnd(kafka, redis, config, topic, 1, 90_000);
    expect(await projectionMismatches(redis, config, workload.expected)).toEqual([]);

    const container = createContainerClient(config);
    const landed = await waitForLanded(container, workload.expected.landed.length, 90_000);
    expect(landedMismatch(landed, workload.expected.landed)).toBeNull();
  });
});
