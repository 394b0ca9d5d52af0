/**
 * Issue 12, "why" 2: a purge is complete and resumable. A retention run killed (SIGKILL) between
 * the OrgPurged event and the deletions, and a run that meets blob storage down, leave the purge
 * recorded; the next `retention run` resumes it, says so, and leaves nothing of the org in Redis
 * (a full SCAN) or in the container (a full listing).
 */

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createContainerClient } from '../../core/blob.js';
import { DEFAULTS, type Config } from '../../core/config.js';
import { stablePort } from '../support/ports.js';
import { createRedis } from '../../core/redis.js';
import type { ProcessorsHandle } from '../../processors/index.js';
import { keysFor } from '../../projections/keys.js';
import { connectRetention } from '../../retention/connect.js';
import { runRetention } from '../../retention/run-retention.js';
import { cleanupTestResources, randomSuffix, testConfig } from '../support/env.js';
import { blobsOf, landedOrg, redisKeysOf, RETENTION_ENV, retentionCli, retentionJson, retentionKilledAfter } from './support/purge-helpers.js';
import { startAzurite, stopAzurite } from '../support/azurite.js';

const DAY = 86_400_000;

describe('a purge killed between its event and its deletions', () => {
  let config: Config;
  let redis: Redis;
  let handle: ProcessorsHandle | undefined;

  afterAll(async () => {
    await handle?.stop();
    redis?.disconnect();
    if (config) await cleanupTestResources(config);
  });

  it('is finished by the next retention run, which reports it resumed', { timeout: 120_000 }, async () => {
    config = testConfig({ BLOB_FLUSH_SECONDS: '1', ...RETENTION_ENV });
    redis = createRedis(config);
    const orgId = `gone-${randomSuffix()}`;
    const keep = `kept-${randomSuffix()}`;
    const started = await landedOrg(config, redis, orgId, keep);
    handle = started.handle;
    const container = createContainerClient(config);
    const keysBefore = await redisKeysOf(redis, config, keep);
    const now = started.endedAt + 2 * DAY;

    expect(await retentionKilledAfter(config, now, 'event')).toBe('SIGKILL');
    // The event is out and the org no longer due by its control state, but nothing is deleted yet:
    // the purge record is what carries it to the next run.
    const keys = keysFor(config.redisPrefix);
    // stamped with the real clock, not the simulated one (retention-clock.int.spec.ts)
    const recorded = JSON.parse((await redis.hget(keys.purges(), orgId))!) as { step: string; purgedAt: number };
    expect(recorded.step).toBe('fence');
    expect(recorded.purgedAt).toBeLessThanOrEqual(Date.now());
    expect((await redisKeysOf(redis, config, orgId)).filter((k) => k.includes(':v1}:')).length).toBeGreaterThan(0);
    expect((await blobsOf(container, orgId)).length).toBeGreaterThan(0);

    const run = retentionCli(config, now);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`${orgId}.*from fence`));

    expect(await redisKeysOf(redis, config, orgId)).toEqual([]);
    expect(await blobsOf(container, orgId)).toEqual([]);
    expect(await redis.hexists(keys.purges(), orgId)).toBe(0);
    expect(await redis.sismember(keys.controlOrgs(), orgId)).toBe(0);
    // The other org keeps everything.
    expect(await redisKeysOf(redis, config, keep)).toEqual(keysBefore);
    expect((await blobsOf(container, keep)).length).toBeGreaterThan(0);

    // Idempotent: the next pass finds nothing to do, and nothing came back.
    const again = retentionJson(config, now + 3_600_000);
    expect(again.purged).toEqual([]);
    expect(again.unfinished).toEqual([]);
    expect(await redisKeysOf(redis, config, orgId)).toEqual([]);
    expect(await blobsOf(container, orgId)).toEqual([]);
  });
});

describe('a purge that meets blob storage down', () => {
  const location = mkdtempSync(join(tmpdir(), 'azurite-purge-'));
  let config: Config;
  let redis: Redis;
  let handle: ProcessorsHandle | undefined;
  let azurite: ChildProcess | undefined;

  afterAll(async () => {
    await handle?.stop();
    if (!azurite && config) azurite = await startAzurite(Number(/:(\d+)\//.exec(config.azureConnectionString)![1]), location).catch(() => undefined);
    redis?.disconnect();
    if (config) await cleanupTestResources(config).catch(() => undefined);
    if (azurite) await stopAzurite(azurite);
    rmSync(location, { recursive: true, force: true });
  });

  it('is left unfinished at its blob step, and the next run after storage is back finishes it', { timeout: 240_000 }, async () => {
    const port = await stablePort();
    const connection = DEFAULTS.AZURE_STORAGE_CONNECTION_STRING.replace('127.0.0.1:10000', `127.0.0.1:${port}`);
    config = testConfig({ AZURE_STORAGE_CONNECTION_STRING: connection, BLOB_FLUSH_SECONDS: '1', ...RETENTION_ENV });
    redis = createRedis(config);
    azurite = await startAzurite(port, location);
    const orgId = `gone-${randomSuffix()}`;
    const started = await landedOrg(config, redis, orgId, `kept-${randomSuffix()}`);
    handle = started.handle;
    const now = started.endedAt + 2 * DAY;

    await stopAzurite(azurite);
    azurite = undefined;
    const { deps, close } = await connectRetention(config);
    const report = await runRetention(deps, now).finally(close);
    expect(report.purged).toEqual([]);
    expect(report.unfinished).toMatchObject([{ orgId, status: 'failed', step: 'blobs', resumedFrom: null }]);
    // Redis is already clean; the purge stays recorded for its blobs.
    expect(await redisKeysOf(redis, config, orgId)).toEqual([]);
    const recorded = JSON.parse((await redis.hget(keysFor(config.redisPrefix).purges(), orgId))!) as { step: string; purgedAt: number };
    expect(recorded.step).toBe('blobs');

    azurite = await startAzurite(port, location);
    const container = createContainerClient(config);
    expect((await blobsOf(container, orgId)).length).toBeGreaterThan(0);
    const resumed = retentionJson(config, now + 3_600_000);
    expect(resumed.purged).toMatchObject([{ orgId, status: 'completed', resumedFrom: 'blobs', purgedAt: new Date(recorded.purgedAt).toISOString() }]);
    expect(resumed.unfinished).toEqual([]);
    expect(await blobsOf(container, orgId)).toEqual([]);
    expect(await redisKeysOf(redis, config, orgId)).toEqual([]);
  });
});
