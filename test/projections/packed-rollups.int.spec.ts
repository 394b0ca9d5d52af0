import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../core/redis.js';
import { keysFor, PACKED } from '../../projections/keys.js';
import { markPackedIfEmpty } from '../../projections/packed-rollups.js';
import { deleteRedisPrefix, testConfig } from '../support/env.js';

/**
 * Version 1 is marked packed (its org and contact reads take the month hashes) only when the
 * projector finds it holding nothing: a version with data and no offsets (lost, or written before
 * month hashes) must keep being read from its day hashes, at the level it was written with.
 */
const config = testConfig();
const redis = createRedis(config);
const keys = keysFor(config.redisPrefix);

afterAll(async () => {
  await deleteRedisPrefix(redis, config.redisPrefix);
  await redis.quit();
});

describe('markPackedIfEmpty', () => {
  it('marks a version that holds nothing', async () => {
    const v = keys.version(11);
    expect(await markPackedIfEmpty(redis, v)).toBe(PACKED.all);
    expect(await redis.get(v.packedRollups())).toBe(String(PACKED.all));
  });

  it('leaves a version that holds data unmarked, and says so', async () => {
    const v = keys.version(12);
    await redis.hset(v.orgDay('org-1', '20261101'), 'emails', '3');
    await redis.sadd(v.orgIndex('org-1'), v.orgDay('org-1', '20261101'));
    expect(await markPackedIfEmpty(redis, v)).toBe(0);
    expect(await redis.exists(v.packedRollups())).toBe(0);
  });

  it('keeps a mark already there, whatever the version holds: a version packed before contact months stays at rollups', async () => {
    const v = keys.version(13);
    await redis.sadd(v.orgIndex('org-1'), v.orgDay('org-1', '20261101'));
    await redis.set(v.packedRollups(), '1');
    expect(await markPackedIfEmpty(redis, v)).toBe(PACKED.rollups);
    expect(await redis.get(v.packedRollups())).toBe('1');
  });
});
