import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createRedis } from '../../core/redis.js';
import { dayOf } from '../../projections/keys.js';
import { APPLY_BATCH_LUA, applyBatch } from '../../projections/projector/apply-batch.js';
import { addExpireAt, addIncr, emptyDelta } from '../../projections/projector/delta.js';
import { fixture } from '../support/fixtures.js';
import { testConfig, testRedis } from '../support/env.js';
import { RedisProjection } from '../processors/support/redis-projection.js';

/**
 * The projector's EVALSHA is encoded by us, not by ioredis (projections/projector/apply-batch.ts):
 * it must still reach the script after Redis lost its script cache, and must refuse a connection
 * whose keyPrefix it would not apply.
 */
const SHA = createHash('sha1').update(APPLY_BATCH_LUA).digest('hex');
const DAY_MS = 86_400_000;
const SENT_AT = Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS + 9 * 3_600_000;

describe('applyBatch', () => {
  it('applies a batch after SCRIPT FLUSH (NOSCRIPT: sent as EVAL once, cached again)', async () => {
    const p = RedisProjection.open();
    await p.deliver(fixture('EmailSent', { occurredAt: SENT_AT }));
    const admin = createRedis(testConfig());
    try {
      await admin.script('FLUSH');
      expect(await admin.script('EXISTS', SHA)).toEqual([0]);
      await p.deliver(fixture('EmailOpened', { occurredAt: SENT_AT + 60_000 }));
      expect(await p.get((k) => k.email('org-1', 'e-1'))).toMatchObject({ recipients: '2', opens: '1', uniqueOpens: '1' });
      expect(await p.get((k) => k.orgDay('org-1', dayOf(SENT_AT)))).toMatchObject({ emails: '1', opens: '1' });
      expect(await admin.script('EXISTS', SHA)).toEqual([1]);
    } finally {
      await admin.quit();
    }
  });

  it('refuses a connection with a keyPrefix, which the encoded command would not apply', async () => {
    const redis = createRedis({ ...testConfig() });
    const prefixed = redis.duplicate({ keyPrefix: 'x:' });
    try {
      const position = { offsetsKey: 'unused', partition: 0, firstOffset: 0, nextOffset: 1, expectedStart: 0 };
      await expect(applyBatch(prefixed, emptyDelta(), position)).rejects.toMatchObject({ code: 'internal' });
    } finally {
      prefixed.disconnect();
      redis.disconnect();
    }
  });

  it('counts a first-time flag once when Redis already holds it, after the seen set is gone (decided before the script)', async () => {
    const p = await RedisProjection.open().deliver(fixture('EmailSent', { occurredAt: SENT_AT }));
    const opened = fixture('EmailOpened', { occurredAt: SENT_AT + 60_000 });
    await p.deliver(opened);
    const redis = createRedis(testConfig());
    try {
      // the de-dup window over: only the flag remembers the recipient opened
      await redis.del(p.keys.seen(dayOf(opened.occurredAt)));
      await p.deliver(opened, { ...opened, eventId: '00000000-0000-4000-8000-00000000000a' });
      expect(await p.get((k) => k.email('org-1', 'e-1'))).toMatchObject({ opens: '3', uniqueOpens: '1' });
      expect(await p.get((k) => k.orgDay('org-1', dayOf(SENT_AT)))).toMatchObject({ opens: '3', uniqueOpens: '1' });
      expect(await p.get((k) => k.contactDay('org-1', 'c-1', dayOf(SENT_AT)))).toMatchObject({ opened: '1' });
    } finally {
      await redis.quit();
    }
  });

  it("sets a day key's expiry when it has none and leaves one it has (set once: a function of the day)", async () => {
    const p = await RedisProjection.open().deliver(fixture('EmailSent', { occurredAt: SENT_AT }));
    const redis = createRedis(testConfig());
    try {
      const day = p.keys.orgDay('org-1', dayOf(SENT_AT));
      const expiry = await redis.expiretime(day);
      expect(expiry).toBeGreaterThan(Date.now() / 1000);
      await redis.persist(day);
      await p.deliver(fixture('EmailOpened', { occurredAt: SENT_AT + 60_000 }));
      expect(await redis.expiretime(day)).toBe(expiry);
      await redis.expireat(day, expiry + 3600);
      await p.deliver(fixture('EmailOpened', { occurredAt: SENT_AT + 120_000, eventId: '00000000-0000-4000-8000-00000000000b' }));
      expect(await redis.expiretime(day)).toBe(expiry + 3600);
    } finally {
      await redis.quit();
    }
  });

  it('moves an expiry only later: sets one a key lacks (one in the past deletes it), never shortens one, moves a later one in', async () => {
    const { config, redis } = testRedis();
    const key = (name: string) => `${config.redisPrefix}:x:${name}`;
    const now = Math.floor(Date.now() / 1000);
    await redis.hset(key('shorter'), 'n', '1');
    await redis.expireat(key('shorter'), now + 7200);
    await redis.hset(key('later'), 'n', '1');
    await redis.expireat(key('later'), now + 3600);
    await redis.hset(key('kept'), 'n', '1');
    await redis.expireat(key('kept'), now + 3600);
    let next = 0;
    const apply = async (build: (delta: ReturnType<typeof emptyDelta>) => void) => {
      const delta = emptyDelta();
      build(delta);
      const position = { offsetsKey: key('offsets'), partition: 0, firstOffset: next, nextOffset: next + 1, expectedStart: 0 };
      next++;
      expect(await applyBatch(redis, delta, position)).toEqual({ applied: true });
    };
    await apply((d) => {
      addIncr(d, key('new'), 'n');
      addExpireAt(d, key('new'), now + 600);
      addIncr(d, key('past'), 'n');
      addExpireAt(d, key('past'), now - 600);
      addIncr(d, key('shorter'), 'n');
      addExpireAt(d, key('shorter'), now + 60);
      addIncr(d, key('later'), 'n');
      addExpireAt(d, key('later'), now + 86_400);
      addIncr(d, key('kept'), 'n');
      addExpireAt(d, key('kept'), now - 600);
    });
    expect(await redis.expiretime(key('new'))).toBe(now + 600);
    expect(await redis.exists(key('past'))).toBe(0);
    expect(await redis.expiretime(key('shorter'))).toBe(now + 7200);
    expect(await redis.expiretime(key('later'))).toBe(now + 86_400);
    expect(await redis.hget(key('kept'), 'n')).toBe('2');
    expect(await redis.expiretime(key('kept'))).toBe(now + 3600);
  });
});
