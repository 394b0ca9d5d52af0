import { spawnSync } from 'node:child_process';
import type { Kafka } from 'kafkajs';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { createRedis } from '../../core/redis.js';
import { topicsFor } from '../../core/topics.js';
import { startProcessors, type ProcessorsHandle } from '../../processors/index.js';
import { keysFor } from '../../projections/keys.js';
import { childEnv } from '../processors/support/child.js';
import { produceEvents } from '../processors/support/produce.js';
import { highWatermarkTotal, projectionMismatches, storedOffsetTotal } from '../processors/support/verify.js';
import { cleanupTestResources, createTestTopics, testConfig, waitFor } from '../support/env.js';
import { generateWorkload } from '../support/workload.js';

/** `engagement replay` as an operator types it, against the real stack with a live projector. */
describe('engagement replay (CLI)', () => {
  let config: Config;
  let kafka: Kafka;
  let redis: Redis;
  let live: ProcessorsHandle | undefined;
  const workload = generateWorkload({ orgs: 2, emailsPerOrg: 120, recipients: 3, seed: 31 });

  const replay = (...args: string[]) =>
    spawnSync(process.execPath, ['bin/engagement.js', 'replay', ...args], { env: childEnv(config), encoding: 'utf8', timeout: 120_000, input: '' });

  beforeAll(async () => {
    config = testConfig();
    kafka = createKafka(config);
    redis = createRedis(config);
    await createTestTopics(config);
    live = await startProcessors(config, { roles: ['projector', 'control'] });
    await produceEvents(kafka, config, workload.control);
    await produceEvents(kafka, config, workload.emails);
    const end = await highWatermarkTotal(kafka, topicsFor(config).emails);
    await waitFor(async () => (await storedOffsetTotal(redis, config, topicsFor(config).emails)) === end, { timeoutMs: 60_000, message: 'live projection at the end' });
  }, 120_000);

  afterAll(async () => {
    await live?.stop();
    redis?.disconnect();
    if (config) await cleanupTestResources(config);
  });

  it('--dry-run shows what it would read and writes nothing', async () => {
    const run = replay('--dry-run');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('build version 2');
    expect(run.stdout).toContain(`${workload.emails.length} records to read`);
    expect(await redis.smembers(keysFor(config.redisPrefix).projectionVersions())).not.toContain('2');
  });

  it('refuses to run unattended without --yes, and explains', () => {
    const run = replay();
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('--yes');
  });

  it('rejects --org without --verify or --dry-run with the reason', () => {
    const run = replay('--org', 'org-0', '--yes');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('[bad_request]');
  });

  it('--yes rebuilds into version 2, switches, and the KPIs are exact', { timeout: 120_000 }, async () => {
    const run = replay('--yes');
    expect(run.status, run.stderr).toBe(0);
    expect(Number(await redis.get(keysFor(config.redisPrefix).currentVersion()))).toBe(2);
    expect(await projectionMismatches(redis, config, workload.expected, 2)).toEqual([]);
  });

  it('REPLAY_FOLD_MAX_MB=1: the fold reaches its budget, the summary says so, and the KPIs are still exact', { timeout: 120_000 }, async () => {
    const run = spawnSync(process.execPath, ['bin/engagement.js', 'replay', '--yes'], {
      env: { ...childEnv(config), REPLAY_FOLD_MAX_MB: '1' },
      encoding: 'utf8',
      timeout: 120_000,
      input: '',
    });
    expect(run.status, run.stderr).toBe(0);
    // this workload is one fetch per partition: the fold spills with its last records (replay.int.spec spills mid-build)
    expect(run.stdout).toContain('the fold reached its memory budget (REPLAY_FOLD_MAX_MB)');
    expect(Number(await redis.get(keysFor(config.redisPrefix).currentVersion()))).toBe(3);
    expect(await projectionMismatches(redis, config, workload.expected, 3)).toEqual([]);
  });

  it('--verify finds no difference with the live projection', { timeout: 120_000 }, () => {
    const run = replay('--verify');
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/keys compared, 0 difference\(s\)/);
  });
});
