/**
 * A stop of `engagement start` during a retention pass that waits for a lander: the pass stops
 * waiting at once (its purge is left at the landers step, for the next pass), so the stop is not
 * held for LANDER_WAIT_MS (30 s, longer than STOP_TIMEOUT_SECONDS).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { publishLanderAck } from '../../processors/lander/lander-acks.js';
import { keysFor } from '../../projections/keys.js';
import { connectRetention } from '../../retention/connect.js';
import { runRetention } from '../../retention/run-retention.js';
import { cleanupTestResources, createTestTopics, testConfig } from '../support/env.js';

describe('a retention pass when the service stops', () => {
  let config: Config;
  beforeAll(async () => {
    config = testConfig();
    await createTestTopics(config, 1);
  });
  afterAll(async () => {
    if (config) await cleanupTestResources(config);
  });

  it('stops waiting for a lagging lander at once and leaves the purge at its landers step', { timeout: 60_000 }, async () => {
    const { deps, close } = await connectRetention(config);
    const keys = keysFor(config.redisPrefix);
    try {
      const record = { eventId: 'e-stop', purgedAt: Date.now() - 1_000, subscriptionEndedAt: Date.now() - 100 * 86_400_000, step: 'landers', controlEnds: { '0': 10 } };
      await deps.redis.hset(keys.purges(), 'org-stop', JSON.stringify(record));
      await publishLanderAck(deps.redis, keys, 'lagging-lander', new Map([[0, 3]])); // behind the purge's control position
      const stopping = new AbortController();
      // the stop comes once the pass has begun waiting: at its first look at the landers
      const redis = new Proxy(deps.redis, {
        get(target, property) {
          if (property === 'smembers') {
            return async (key: string) => {
              const members = await target.smembers(key);
              if (key === keys.landers()) stopping.abort();
              return members;
            };
          }
          const value = Reflect.get(target, property, target) as unknown;
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
      const began = performance.now();
      const report = await runRetention({ ...deps, redis, landerWaitMs: 30_000, signal: stopping.signal });
      expect(stopping.signal.aborted).toBe(true);
      expect(performance.now() - began).toBeLessThan(10_000);
      expect(report.unfinished).toMatchObject([{ orgId: 'org-stop', status: 'waiting', step: 'landers' }]);
      expect(JSON.parse((await deps.redis.hget(keys.purges(), 'org-stop'))!)).toMatchObject({ step: 'landers' });
    } finally {
      await close();
    }
  });
});
