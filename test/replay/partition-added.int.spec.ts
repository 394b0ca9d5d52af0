/**
 * A partition added to the emails topic while a replay builds (8112b5f, partitionsNotBuilt): the
 * build started with the partitions the topic had then; the live projector, rejoined, holds the
 * new one. The switch compares the live offsets only, so without the check it would make live a
 * version that never read the new partition (its KPIs gone). The replay must stop with a conflict
 * and leave the live version as it was; run again, it resumes with every partition and switches
 * to exactly the live KPIs.
 *
 * Deterministic: the replay's Redis client is wrapped so that its first read of the live
 * version's stored offsets (the replay's first look at where the build must end, after it fixed
 * the partitions it builds) waits while the partition is added, written to and projected live.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { isEngagementError } from '../../core/errors.js';
import { createRedis } from '../../core/redis.js';
import { emailKey, topicsFor } from '../../core/topics.js';
import { startProcessors, type ProcessorsHandle } from '../../processors/index.js';
import { keysFor } from '../../projections/keys.js';
import { readStoredOffsets } from '../../projections/projector/apply-batch.js';
import { queryEmailKpis } from '../../projections/queries/email-kpis.js';
import { diffSnapshots } from '../../replay/diff.js';
import { runReplay } from '../../replay/replay-runner.js';
import { snapshotVersion } from '../../replay/snapshot.js';
import { currentVersion, readCheckpoint } from '../../replay/versions.js';
import { encodeEvent } from '../../schemas/codec.js';
import type { EmailEvent } from '../../schemas/events.js';
import { cleanupTestResources, testConfig, waitFor } from '../support/env.js';
import { fixture } from '../support/fixtures.js';
import { generateWorkload } from '../support/workload.js';
import { liveProjection } from './support/live-projection.js';
import { waitForProjectorAtEnd } from '../processors/support/verify.js';

type HGetAll = (key: string) => Promise<Record<string, string>>;

/** `redis` whose first HGETALL of `key` runs `before` to its end first. */
function onFirstRead(redis: Redis, key: string, before: () => Promise<void>): { fired: () => boolean } {
  const original = redis.hgetall.bind(redis) as HGetAll;
  let fired = false;
  (redis as unknown as { hgetall: HGetAll }).hgetall = async (name: string) => {
    if (name === key && !fired) {
      fired = true;
      await before();
    }
    return original(name);
  };
  return { fired: () => fired };
}

describe('a partition added to the emails topic while a replay builds', () => {
  let config: Config;
  let kafka: Kafka;
  let redis: Redis;
  let handle: ProcessorsHandle | undefined;
  const workload = generateWorkload({ orgs: 1, emailsPerOrg: 30, recipients: 2, seed: 88, duplicateRate: 0, privacySwitches: false, idPrefix: 'grow' });
  const orgId = 'grow-org-0';
  const sentAt = Date.now() - 3_600_000;
  // an email whose events all go to the new partition
  const late: EmailEvent[] = [
    fixture('EmailSent', { orgId, emailId: 'e-late', eventId: randomUUID(), occurredAt: sentAt, acceptedAt: sentAt }),
    fixture('EmailOpened', { orgId, emailId: 'e-late', contactId: 'c-1', eventId: randomUUID(), occurredAt: sentAt + 60_000 }),
    fixture('EmailOpened', { orgId, emailId: 'e-late', contactId: 'c-1', eventId: randomUUID(), occurredAt: sentAt + 120_000 }),
  ];
  const emails = (): string => topicsFor(config).emails;

  beforeAll(async () => {
    config = testConfig();
    ({ kafka, redis, handle } = await liveProjection(config, workload));
  });

  afterAll(async () => {
    await handle?.stop();
    redis?.disconnect();
    if (config) await cleanupTestResources(config);
  });

  /** Partition 1 added, the late email written to it, and the live projector (restarted: it rejoins with both partitions) at its end. */
  const addPartitionHeldLive = async (): Promise<void> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createPartitions({ topicPartitions: [{ topic: emails(), count: 2 }] });
      await waitFor(async () => (await admin.fetchTopicOffsets(emails())).length === 2, { message: 'the emails topic has 2 partitions' });
    } finally {
      await admin.disconnect();
    }
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({
        topic: emails(),
        acks: -1,
        messages: late.map((e) => ({ key: emailKey(orgId, 'e-late'), value: encodeEvent(e), timestamp: String(e.occurredAt), partition: 1 })),
      });
    } finally {
      await producer.disconnect();
    }
    await handle?.stop();
    handle = undefined;
    handle = await startProcessors(config, { roles: ['projector', 'control'] });
    const live = keysFor(config.redisPrefix).version(1).offsets(emails());
    await waitFor(async () => (await redis.hget(live, '1')) === String(late.length), { timeoutMs: 60_000, message: 'the live projection holds partition 1 to its end' });
  };

  it('stops with a conflict instead of switching to a version without the new partition; run again, it completes with every partition', { timeout: 180_000 }, async () => {
    const k = keysFor(config.redisPrefix);
    const replayRedis = createRedis(config);
    try {
      const hook = onFirstRead(replayRedis, k.version(1).offsets(emails()), addPartitionHeldLive);
      const first = await runReplay({ config, kafka, redis: replayRedis }).catch((error: unknown) => error);

      expect(hook.fired()).toBe(true);
      // (without the check: { status: 'switched', version: 2 }, a live version that never read partition 1)
      expect(first).toMatchObject({ code: 'conflict', message: expect.stringMatching(/partition\(s\) 1 of .* were added while the replay ran and the live projection holds them/) });
      expect(isEngagementError(first, 'conflict')).toBe(true);
      // nothing switched: the live version still answers the new partition's email
      expect(await currentVersion(redis, k)).toBe(1);
      expect(await queryEmailKpis(redis, k, orgId, 'e-late')).toMatchObject({ opens: 2, uniqueOpens: 1 });
      expect((await readCheckpoint(redis, k, 2))?.status).toBe('building');
    } finally {
      replayRedis.disconnect();
    }

    await waitForProjectorAtEnd(kafka, redis, config, emails(), 1);
    const liveOffsets = await readStoredOffsets(redis, k.version(1).offsets(emails()));
    expect([...liveOffsets.keys()].sort()).toEqual([0, 1]);
    const baseline = await snapshotVersion(redis, k.version(1));

    const again = await runReplay({ config, kafka, redis });
    expect(again).toMatchObject({ status: 'switched', version: 2, previous: 1, resumed: true });
    expect(await currentVersion(redis, k)).toBe(2);
    expect(await readStoredOffsets(redis, k.version(2).offsets(emails()))).toEqual(liveOffsets);
    expect(diffSnapshots(baseline, await snapshotVersion(redis, k.version(2)))).toEqual([]);
    expect(await queryEmailKpis(redis, k, orgId, 'e-late')).toMatchObject({ opens: 2, uniqueOpens: 1 });
  });
});
