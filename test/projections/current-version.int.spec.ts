import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createRedis } from '../../core/redis.js';
import { readCurrentVersion, restoreCurrentVersion } from '../../projections/current-version.js';
import { keysFor, type Keys } from '../../projections/keys.js';
import { deleteRedisPrefix, testConfig } from '../support/env.js';

describe('the current projection version', () => {
  let redis: Redis;
  let keys: Keys;
  let prefix: string;

  beforeAll(() => {
    const config = testConfig();
    prefix = config.redisPrefix;
    redis = createRedis(config);
    keys = keysFor(prefix);
  });

  afterAll(async () => {
    await deleteRedisPrefix(redis, prefix);
    await redis.quit();
  });

  it('is version 1 before any replay, and the pointer once one switched', async () => {
    expect(await readCurrentVersion(redis, keys)).toBe(1);
    await redis.set(keys.currentVersion(), '3');
    expect(await readCurrentVersion(redis, keys)).toBe(3);
  });

  it('comes back from the list of versions when only the pointer is lost, instead of falling back to 1', async () => {
    await redis.sadd(keys.projectionVersions(), '2', '3');
    await redis.hset(keys.version(2).replay(), { status: 'building' });
    await redis.hset(keys.version(3).replay(), { status: 'live' });
    await redis.del(keys.currentVersion());
    expect(await restoreCurrentVersion(redis, keys)).toBe(3);
    expect(await readCurrentVersion(redis, keys)).toBe(3);
  });

  it('has nothing to restore when the versions are gone too', async () => {
    await redis.del(keys.currentVersion(), keys.projectionVersions());
    expect(await restoreCurrentVersion(redis, keys)).toBeNull();
    expect(await readCurrentVersion(redis, keys)).toBe(1);
  });
});
