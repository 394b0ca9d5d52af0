import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { topicsFor } from '../../core/topics.js';
import type { ProcessorsHandle } from '../../processors/index.js';
import { keysFor } from '../../projections/keys.js';
import { queryEmailKpis } from '../../projections/queries/email-kpis.js';
import { diffSnapshots } from '../../replay/diff.js';
import { runReplay } from '../../replay/replay-runner.js';
import { snapshotVersion } from '../../replay/snapshot.js';
import { currentVersion } from '../../replay/versions.js';
import { cleanupTestResources, testConfig, waitFor } from '../support/env.js';
import { generateWorkload } from '../support/workload.js';
import { liveProjection } from './support/live-projection.js';
import { produceEvents } from '../processors/support/produce.js';
import { highWatermarkTotal, projectionMismatches, storedOffsetTotal } from '../processors/support/verify.js';

/**
 * The replay switch is exact: it happens only when the new version holds the live version's
 * offsets, so the KPIs read the instant `replay` returns equal those read before — on a quiet
 * system too, where no new event comes to make the live projector move.
 */
describe('replay on a quiet system', () => {
  let config: Config;
  let kafka: Kafka;
  let redis: Redis;
  let handle: ProcessorsHandle | undefined;
  const workload = generateWorkload({ orgs: 1, emailsPerOrg: 3, recipients: 2, seed: 41, duplicateRate: 0, privacySwitches: false });
  const sends = workload.emails.filter((e) => e.type === 'EmailSent');
  const later = generateWorkload({ orgs: 1, emailsPerOrg: 2, recipients: 2, seed: 42, idPrefix: 'later', duplicateRate: 0, privacySwitches: false });

  const readAll = async (): Promise<string> =>
    JSON.stringify(await Promise.all(sends.map((e) => queryEmailKpis(redis, keysFor(config.redisPrefix), e.orgId, e.emailId))));

  beforeAll(async () => {
    config = testConfig();
    ({ kafka, redis, handle } = await liveProjection(config, workload));
  });

  afterAll(async () => {
    await handle?.stop();
    redis?.disconnect();
    if (config) await cleanupTestResources(config);
  });

  it('switches only once the new version holds the live offsets: every read equals the one before', { timeout: 60_000 }, async () => {
    const end = await highWatermarkTotal(kafka, topicsFor(config).emails);
    expect(end).toBeLessThan(500); // below the lag threshold that used to switch an empty version
    const before = await readAll();
    const live = await snapshotVersion(redis, keysFor(config.redisPrefix).version(1));

    const result = await runReplay({ config, kafka, redis });

    expect(result).toMatchObject({ status: 'switched', version: 2, previous: 1 });
    expect(result.counters.records).toBe(end);
    expect(await currentVersion(redis, keysFor(config.redisPrefix))).toBe(2);
    expect(await readAll()).toBe(before);
    expect(diffSnapshots(live, await snapshotVersion(redis, keysFor(config.redisPrefix).version(2)))).toEqual([]);
    expect(await storedOffsetTotal(redis, config, topicsFor(config).emails, 2)).toBe(end);
    expect(await redis.exists(keysFor(config.redisPrefix).projectionHold())).toBe(0);
  });

  it('the live projector follows the new version and projects what comes next into it', { timeout: 60_000 }, async () => {
    await produceEvents(kafka, config, later.control);
    await produceEvents(kafka, config, later.emails);
    const end = await highWatermarkTotal(kafka, topicsFor(config).emails);
    await waitFor(async () => (await storedOffsetTotal(redis, config, topicsFor(config).emails, 2)) === end, { timeoutMs: 30_000, message: 'v2 at the end' });
    expect(await projectionMismatches(redis, config, later.expected, 2)).toEqual([]);
    expect(await projectionMismatches(redis, config, workload.expected, 2)).toEqual([]);
  });
});
