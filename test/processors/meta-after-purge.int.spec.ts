/**
 * The projector remembers each email's send (sender, template, send time, recipients' time zones)
 * across batches. A purge deletes all of that in Redis, and a replay never folds a send the purge
 * covers: an interaction with an old email after the org was enabled again must find nothing of
 * its send in the live projector either (DESIGN §2.3, a purge starts the org over).
 */
import { describe, expect, it } from 'vitest';
import { ControlHistory } from '../../processors/gate/control-history.js';
import { projectBatch } from '../../processors/projector/project-batch.js';
import { keysFor } from '../../projections/keys.js';
import { fencePurge } from '../../projections/purge-fence.js';
import { purgeOrgFromRedis } from '../../retention/purge-redis.js';
import { fixture } from '../support/fixtures.js';
import { testRedis } from '../support/env.js';
import { redisKeysOf } from '../retention/support/purge-helpers.js';
import { kafkaRecords, testBatchTarget } from './support/redis-projection.js';

const HOUR = 3_600_000;

/** An enabled org's email sent and projected, then its subscription ended and the org purged (event and fence). */
async function sentThenPurged() {
  const { config, redis } = testRedis();
  const keys = keysFor(config.redisPrefix);
  const vk = keys.version(1);
  const orgId = 'acme';
  const t0 = Date.now() - 10 * HOUR;
  const history = new ControlHistory();
  history.apply(fixture('OrgEngagementEnabled', { orgId, occurredAt: t0 }));
  const target = testBatchTarget(redis, vk, history, { purgeFenceKey: keys.purgeFence() });
  const sent = fixture('EmailSent', { orgId, occurredAt: t0 + HOUR, acceptedAt: t0 + HOUR });
  expect((await projectBatch(target, 'emails', 0, kafkaRecords([sent]), async () => undefined)).result.applied).toBe(true);
  history.apply(fixture('SubscriptionEnded', { orgId, occurredAt: t0 + 2 * HOUR }));
  const purgedAt = t0 + 3 * HOUR;
  history.apply(fixture('OrgPurged', { orgId, occurredAt: purgedAt }));
  await fencePurge(redis, keys, orgId, purgedAt);
  return { config, redis, keys, vk, orgId, t0, history, target, sent };
}

describe('the send an org purge deleted', () => {
  it('is forgotten by the live projector too: an open after the org is enabled again is one of an unknown email', async () => {
    const { config, redis, keys, vk, orgId, t0, history, target, sent } = await sentThenPurged();
    // the purge's Redis step
    await purgeOrgFromRedis(redis, keys, orgId);
    expect(await redisKeysOf(redis, config, orgId)).toEqual([]);

    // enabled again; an open of the old email (the same projector, its memory of the send included)
    history.apply(fixture('OrgEngagementEnabled', { orgId, occurredAt: t0 + 4 * HOUR }));
    const open = fixture('EmailOpened', { orgId, occurredAt: t0 + 5 * HOUR });
    expect((await projectBatch(target, 'emails', 0, kafkaRecords([open], 1), async () => undefined)).result.applied).toBe(true);
    const written = await redisKeysOf(redis, config, orgId);
    expect(written.filter((key) => /:(senderd|senderm|templated|templatem):/.test(key))).toEqual([]);
    const email = await redis.hgetall(vk.email(orgId, sent.emailId));
    expect(email).toMatchObject({ opens: '1', uniqueOpens: '1' });
    expect(email.sentAt).toBeUndefined();
  });

  it('is not read from Redis either while the purge has not reached its redis step yet', async () => {
    const { config, redis, keys, vk, orgId, t0, history } = await sentThenPurged();
    // (the purge's Redis step still to come: a failed step waits for the next pass)
    history.apply(fixture('OrgEngagementEnabled', { orgId, occurredAt: t0 + 4 * HOUR }));
    // a projector that never had the send in memory (restarted): only Redis could answer
    const fresh = testBatchTarget(redis, vk, history, { purgeFenceKey: keys.purgeFence() });
    const open = fixture('EmailOpened', { orgId, occurredAt: t0 + 5 * HOUR });
    expect((await projectBatch(fresh, 'emails', 0, kafkaRecords([open], 1), async () => undefined)).result.applied).toBe(true);
    // the send's own sender and template rollups are still there (the redis step has not run): the open added nothing to them
    const senderDays = (await redisKeysOf(redis, config, orgId)).filter((key) => /:(senderd|templated):/.test(key));
    expect(senderDays.length).toBeGreaterThan(0);
    for (const key of senderDays) expect(await redis.hget(key, 'opens')).toBeNull();
    const day = new Date(open.occurredAt).toISOString().slice(0, 10).replaceAll('-', '');
    expect(await redis.hget(vk.orgDay(orgId, day), 'opens')).toBe('1');
  });
});
