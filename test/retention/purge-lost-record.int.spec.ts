/**
 * A purge whose record (`P:purges`) was lost before its key step (Redis flushed between two
 * retention passes) is resumed by nothing: the control role writes the org's purge fence again from
 * the control topic, but the org is no longer due. Its data key must not outlive the purge for good
 * (the org's records in the log would stay readable): the next retention pass destroys the keys of
 * every org purged after they were created, and keeps a generation created after the purge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { Keyring } from '../../core/keys/keyring.js';
import { createRedis } from '../../core/redis.js';
import { topicsFor } from '../../core/topics.js';
import { keysFor } from '../../projections/keys.js';
import { fencePurge } from '../../projections/purge-fence.js';
import { connectRetention } from '../../retention/connect.js';
import { runRetention } from '../../retention/run-retention.js';
import { cleanupTestResources, createTestTopics, randomSuffix, testConfig, testGroupId } from '../support/env.js';

describe('a purge whose record was lost before its key step', () => {
  let config: Config;
  const rings: Keyring[] = [];
  const ring = async (name: string): Promise<Keyring> => {
    const keyring = new Keyring({ kafka: createKafka(config), topic: topicsFor(config).keys, masterKeys: config.masterKeys, groupPrefix: testGroupId(config, name) });
    rings.push(keyring);
    await keyring.start();
    return keyring;
  };

  beforeAll(async () => {
    config = testConfig();
    await createTestTopics(config, 1);
  });
  afterAll(async () => {
    for (const keyring of rings) await keyring.stop();
    if (config) await cleanupTestResources(config);
  });

  it('has its data key destroyed by the next retention pass; an org enabled again after its purge keeps its new key', { timeout: 60_000 }, async () => {
    const gone = `gone-${randomSuffix()}`;
    const back = `back-${randomSuffix()}`;
    const writer = await ring('writer');
    await writer.ensure(gone);
    await writer.ensure(back);
    const redis = createRedis(config);
    const keys = keysFor(config.redisPrefix);
    try {
      // what the control role writes from the control topic: `gone` purged after its key was made,
      // `back` purged an hour before it was enabled again (and given a new key)
      await fencePurge(redis, keys, gone, Date.now() + 1_000);
      await fencePurge(redis, keys, back, Date.now() - 3_600_000);
      expect(await redis.hlen(keys.purges())).toBe(0);

      const retention = await connectRetention(config);
      try {
        const report = await runRetention(retention.deps, Date.now() + 2_000);
        expect(report.staleKeysDestroyed).toEqual([gone]);
        // no control role here, so no synced control store: no purge is decided, the sweep runs all the same
        expect(report.purgesDeferred).toMatch(/not synced/);
        expect(report.purged).toEqual([]);
        // idempotent
        expect((await runRetention(retention.deps, Date.now() + 3_000)).staleKeysDestroyed).toEqual([]);
      } finally {
        await retention.close();
      }
      // a process reading the keys topic now
      const reader = await ring('reader');
      expect(reader.current(gone)).toBeUndefined();
      expect(reader.current(back)).toBeDefined();
    } finally {
      redis.disconnect();
    }
  });
});
