import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createRedis } from '../../core/redis.js';
import { keysFor, type Keys } from '../../projections/keys.js';
import { OrgTopCache, queryOrgTop, scanBounded, TOP_SCAN_LIMIT } from '../../projections/queries/org-top.js';
import { deleteRedisPrefix, testConfig } from '../support/env.js';

const DAY = 86_400_000;

describe('the org ranking (GET /v1/orgs/:orgId/top) against Redis', () => {
  let redis: Redis;
  let keys: Keys;
  let prefix: string;
  const now = Date.UTC(2026, 10, 25, 12);
  const org = 'org-top';

  beforeAll(async () => {
    const config = testConfig();
    prefix = config.redisPrefix;
    redis = createRedis(config);
    keys = keysFor(prefix);
    await redis.hset(keys.controlOrg(org), { enabled: '1', changedAt: '1' });
    await redis.set(keys.controlSynced(), '1');
    const v = keys.version(1);
    // Old emails whose ids sort first: the old implementation cut by key name before the date
    // filter, so with enough of them a recent range came back empty.
    const pipeline = redis.pipeline();
    for (let i = 0; i < 30; i++) {
      const key = v.email(org, `a-old-${String(i).padStart(3, '0')}`);
      pipeline.hset(key, { sentAt: String(now - 200 * DAY), uniqueOpens: '50', followedRecipients: '60' });
      pipeline.sadd(v.orgIndex(org), key);
    }
    for (const [id, opens] of [['z-new-1', 2], ['z-new-2', 7]] as const) {
      const key = v.email(org, id);
      pipeline.hset(key, { sentAt: String(now - DAY), uniqueOpens: String(opens), followedRecipients: '10', subject: id });
      pipeline.sadd(v.orgIndex(org), key);
    }
    await pipeline.exec();
  });

  afterAll(async () => {
    await deleteRedisPrefix(redis, prefix);
    await redis.quit();
  });

  it('filters by the range before ranking: a recent range finds the recent emails, best first', async () => {
    const top = await queryOrgTop(redis, keys, org, { from: '2026-11-20', to: '2026-11-25' }, 10, now);
    expect(top.emails.map((e) => [e.emailId, e.uniqueOpens, e.subject])).toEqual([
      ['z-new-2', 7, 'z-new-2'],
      ['z-new-1', 2, 'z-new-1'],
    ]);
    expect(top.truncated).toBe(false);
  });

  it('stops scanning at the stated bound and says so', async () => {
    const set = `${prefix}:scan-test`;
    await redis.sadd(set, ...Array.from({ length: 2500 }, (_, i) => `m${i}`));
    const cut = await scanBounded(redis, set, 1200);
    expect(cut.truncated).toBe(true);
    expect(cut.members).toHaveLength(1200);
    const whole = await scanBounded(redis, set, TOP_SCAN_LIMIT);
    expect(whole.truncated).toBe(false);
    expect(new Set(whole.members).size).toBe(2500);
  });

  it('reuses an answer for a few seconds, but still refuses a disabled org', async () => {
    let clock = 0;
    const cache = new OrgTopCache(5_000, () => clock);
    const range = { from: '2026-11-20', to: '2026-11-25' };
    const first = await queryOrgTop(redis, keys, org, range, 10, now, undefined, cache);
    const v = keys.version(1);
    await redis.hset(v.email(org, 'z-new-1'), 'uniqueOpens', '99');
    expect(await queryOrgTop(redis, keys, org, range, 10, now, undefined, cache)).toEqual(first);
    clock += 5_001;
    expect((await queryOrgTop(redis, keys, org, range, 10, now, undefined, cache)).emails[0]).toMatchObject({ emailId: 'z-new-1', uniqueOpens: 99 });
    await redis.hset(keys.controlOrg(org), 'enabled', '0');
    await expect(queryOrgTop(redis, keys, org, range, 10, now, undefined, cache)).rejects.toMatchObject({ code: 'engagement_disabled' });
    await redis.hset(keys.controlOrg(org), 'enabled', '1');
  });
});
