import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../core/redis.js';
import { keysFor } from '../../projections/keys.js';
import { scanKeys } from '../../core/redis-scan.js';
import { pruneOrgIndexes } from '../../retention/prune-index.js';
import { purgeOrgFromRedis } from '../../retention/purge-redis.js';
import type { EmailEvent } from '../../schemas/events.js';
import { RedisProjection } from '../processors/support/redis-projection.js';
import { deleteRedisPrefix, testConfig } from '../support/env.js';
import { fixture } from '../support/fixtures.js';

/**
 * The projector lists every key it writes in its org's index and never removes one; retention
 * removes the entries whose key expired, in every version, and only those (real Redis).
 */
const config = testConfig();
const redis = createRedis(config);
const keys = keysFor(config.redisPrefix);

afterAll(async () => {
  await deleteRedisPrefix(redis, config.redisPrefix);
  redis.disconnect();
});

describe('pruneOrgIndexes', () => {
  it('removes the entries of keys that are gone, from every version, and keeps every key that exists', async () => {
    await redis.sadd(keys.projectionVersions(), '2');
    const live = [1, 2].flatMap((v) => [keys.version(v).email('org-1', 'e-live'), keys.version(v).orgDay('org-1', '20261101')]);
    for (const key of live) await redis.hset(key, 'opens', '1');
    // a key that expired at the horizon (PX 1: gone before the pass)
    await redis.hset(keys.version(1).email('org-1', 'e-expired'), 'opens', '1');
    await redis.pexpire(keys.version(1).email('org-1', 'e-expired'), 1);
    // 1,200 entries of keys long gone: more than one scan chunk
    const gone = Array.from({ length: 1200 }, (_, i) => keys.version(1).email('org-1', `e-gone-${i}`));
    await redis.sadd(keys.version(1).orgIndex('org-1'), ...gone, keys.version(1).email('org-1', 'e-expired'), ...live.filter((k) => k.includes(':v1}')));
    await redis.sadd(keys.version(2).orgIndex('org-1'), ...live.filter((k) => k.includes(':v2}')), keys.version(2).email('org-1', 'e-gone'));
    await redis.sadd(keys.version(1).orgIndex('org-2'), keys.version(1).email('org-2', 'e-gone'));

    expect(await pruneOrgIndexes(redis, keys, ['org-1', 'org-2'])).toBe(1200 + 1 + 1 + 1);
    expect(new Set(await redis.smembers(keys.version(1).orgIndex('org-1')))).toEqual(new Set(live.filter((k) => k.includes(':v1}'))));
    expect(new Set(await redis.smembers(keys.version(2).orgIndex('org-1')))).toEqual(new Set(live.filter((k) => k.includes(':v2}'))));
    expect(await redis.exists(keys.version(1).orgIndex('org-2'))).toBe(0);
    // a second pass has nothing to remove
    expect(await pruneOrgIndexes(redis, keys, ['org-1', 'org-2'])).toBe(0);
  });

  it('while the projector writes the same keys again, leaves every key it writes listed: a purge afterwards leaves nothing of the org', { timeout: 60_000 }, async () => {
    const p = RedisProjection.open();
    const all = keysFor(p.prefix);
    const now = Date.now();
    const sent = (e: number): EmailEvent => fixture('EmailSent', { emailId: `e-${e}`, occurredAt: now - 3_600_000 });
    const opened = (e: number, round: number): EmailEvent => fixture('EmailOpened', { emailId: `e-${e}`, eventId: randomUUID(), occurredAt: now - 60_000 + round });
    const emails = Array.from({ length: 30 }, (_, e) => e);
    await p.deliver(...emails.map(sent));
    const projectionKeys = async (): Promise<string[]> => {
      const found: string[] = [];
      for await (const batch of scanKeys(p.redis, `${p.keys.base}*org-1*`)) found.push(...batch.filter((k) => !k.startsWith(p.keys.orgIndex('org-1'))));
      return found;
    };
    // Rounds: the email hashes "expire" (as at the horizon), the index keeps their entries; retention prunes
    // while a batch writes the same emails again.
    let pruned = 0;
    for (let round = 1; round <= 15; round++) {
      for (const e of emails) if (e % 3 === round % 3) await p.redis.unlink(p.keys.email('org-1', `e-${e}`));
      const [removed] = await Promise.all([pruneOrgIndexes(p.redis, all, ['org-1']), p.deliver(...emails.map((e) => opened(e, round)))]);
      pruned += removed;
      const index = await p.members((k) => k.orgIndex('org-1'));
      for (const key of await projectionKeys()) expect(index.has(key), `${key} listed after round ${round}`).toBe(true);
    }
    expect(pruned).toBeGreaterThan(0); // the passes raced the batches, and did remove entries
    expect(await projectionKeys()).not.toEqual([]);
    await purgeOrgFromRedis(p.redis, all, 'org-1');
    expect(await projectionKeys()).toEqual([]);
  });
});
