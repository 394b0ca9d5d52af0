/**
 * The purge fence on real Redis (DESIGN §2: no batch gated before a purge can write after it).
 * A batch is gated while the control history does not hold the purge yet; retention fences the
 * purge before the batch is applied: apply-batch.lua refuses it, and the batch gated again with
 * the history that holds the purge writes nothing of the org (and everything of another org).
 */

import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../core/redis.js';
import { ControlHistory } from '../../processors/gate/control-history.js';
import { projectBatch } from '../../processors/projector/project-batch.js';
import { keysFor } from '../../projections/keys.js';
import { fencePurge } from '../../projections/purge-fence.js';
import { fixture } from '../support/fixtures.js';
import { deleteRedisPrefix, randomSuffix, testConfig } from '../support/env.js';
import { redisKeysOf } from '../retention/support/purge-helpers.js';
import { kafkaRecords, testBatchTarget } from './support/redis-projection.js';

describe('purge fence', () => {
  const config = testConfig();
  let redis: Redis;

  afterAll(async () => {
    await deleteRedisPrefix(redis, config.redisPrefix);
    redis.disconnect();
  });

  it('refuses a batch gated before a fenced purge; gated again, it writes nothing of the org', async () => {
    redis = createRedis(config);
    const keys = keysFor(config.redisPrefix);
    const vk = keys.version(1);
    const orgId = `gone-${randomSuffix()}`;
    const at = Date.now() - 60_000;
    const history = new ControlHistory();
    for (const org of [orgId, 'kept']) history.apply(fixture('OrgEngagementEnabled', { orgId: org, occurredAt: at - 60_000 }));
    const events = [orgId, 'kept'].flatMap((org) => [
      fixture('EmailSent', { orgId: org, occurredAt: at }),
      fixture('EmailOpened', { orgId: org, occurredAt: at + 1000 }),
    ]);
    const target = testBatchTarget(redis, vk, history, { purgeFenceKey: keys.purgeFence() });
    const purge = fixture('OrgPurged', { orgId, occurredAt: at + 3_600_000 });

    // Retention fenced the purge after this batch was gated without it (the control reader had
    // not read OrgPurged yet): the apply is refused, nothing is written.
    await fencePurge(redis, keys, orgId, purge.occurredAt);
    const refused = await projectBatch(target, 'emails', 0, kafkaRecords(events), async () => undefined);
    expect(refused.result).toEqual({ applied: false, superseded: false, held: false, purged: orgId });
    expect(await redisKeysOf(redis, config, orgId)).toEqual([]);

    // The runner waits for the control topic (which holds the purge) and gates the batch again.
    history.apply(purge);
    const again = await projectBatch(target, 'emails', 0, kafkaRecords(events), async () => undefined);
    expect(again.result.applied).toBe(true);
    expect(again.gatedOut.get('org_purged')).toBe(2);
    expect(await redisKeysOf(redis, config, orgId)).toEqual([]);
    expect((await redisKeysOf(redis, config, 'kept')).length).toBeGreaterThan(0);
  });
});
