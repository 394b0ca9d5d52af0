import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ContainerClient } from '@azure/storage-blob';
import type { Redis } from 'ioredis';
import type { Config } from '../../../core/config.js';
import { scanKeys } from '../../../core/redis-scan.js';
import { orgBlobPrefix } from '../../../processors/lander/blob-names.js';
import { escapeId, keysFor } from '../../../projections/keys.js';
import type { RetentionReport } from '../../../retention/run-retention.js';
import type { AnyEvent } from '../../../schemas/events.js';
import { childEnv } from '../../processors/support/child.js';
import { fixture } from '../../support/fixtures.js';
import { createContainerClient } from '../../../core/blob.js';
import { createKafka } from '../../../core/kafka.js';
import { startProcessors, type ProcessorsHandle } from '../../../processors/index.js';
import { cleanupTestResources, createTestTopics, randomSuffix, testConfig, waitFor } from '../../support/env.js';
import { createRedis } from '../../../core/redis.js';
import { produceEvents } from '../../processors/support/produce.js';

const CHILD = fileURLToPath(new URL('./retention-child.ts', import.meta.url));

/** Retention settings of these tests: a 1-day purge delay, and landing blobs that never expire. */
export const RETENTION_ENV = { RETENTION_DAYS: '1', BLOB_RETENTION_DAYS: '3650' };

function env(config: Config): Record<string, string> {
  return { ...childEnv(config), ...RETENTION_ENV, LOG_LEVEL: 'fatal' };
}

/** `engagement retention run --now` as an operator runs it. */
export function retentionCli(config: Config, now: number, json = false, extra: readonly string[] = []): { status: number | null; stdout: string; stderr: string } {
  const args = ['bin/engagement.js', 'retention', 'run', '--now', new Date(now).toISOString(), ...(json ? ['--json'] : []), ...extra];
  const run = spawnSync('node', args, { env: env(config), encoding: 'utf8', timeout: 120_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

export function retentionJson(config: Config, now: number): RetentionReport {
  const run = retentionCli(config, now, true);
  if (run.status !== 0 && run.stdout.trim() === '') throw new Error(`retention run failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as RetentionReport;
}

/** A retention pass in a child process that SIGKILLs itself right after recording `step`. */
export function retentionKilledAfter(config: Config, now: number, step: string): Promise<NodeJS.Signals | number | null> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: { ...env(config), RETENTION_NOW: new Date(now).toISOString(), KILL_AFTER_STEP: step },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
}

/** Every Redis key under the config's prefix whose name holds the org id (a full SCAN). */
export async function redisKeysOf(redis: Redis, config: Config, orgId: string): Promise<string[]> {
  const found = new Set<string>();
  for (const pattern of keysFor(config.redisPrefix).patterns()) {
    for await (const batch of scanKeys(redis, pattern)) for (const key of batch) if (key.includes(escapeId(orgId))) found.add(key);
  }
  return [...found].sort();
}

/** Every blob of the container whose name holds the org id (a full listing). */
export async function blobsOf(container: ContainerClient, orgId: string): Promise<string[]> {
  const names: string[] = [];
  if (!(await container.exists())) return names;
  for await (const blob of container.listBlobsFlat()) if (blob.name.startsWith(orgBlobPrefix(orgId)) || blob.name.includes(orgId)) names.push(blob.name);
  return names;
}

/** An enabled org with one followed email to c-1, opened once. */
export function orgWithAnOpen(orgId: string, at: number): { control: AnyEvent[]; emails: AnyEvent[] } {
  return {
    control: [fixture('OrgEngagementEnabled', { orgId, occurredAt: at - 60_000 })],
    emails: [
      fixture('EmailSent', { orgId, emailId: 'e-1', occurredAt: at }),
      fixture('EmailOpened', { orgId, emailId: 'e-1', contactId: 'c-1', occurredAt: at + 1000 }),
    ],
  };
}

/** Starts the processors on `config` with an org that has Redis keys and a landed blob, then ends its subscription. */
export async function landedOrg(config: Config, redis: Redis, orgId: string, keep: string): Promise<{ handle: ProcessorsHandle; endedAt: number }> {
  await createTestTopics(config);
  const handle = await startProcessors(config);
  const at = Date.now() - 3_600_000;
  const org = orgWithAnOpen(orgId, at);
  const other = orgWithAnOpen(keep, at);
  const endedAt = Date.now() - 60_000;
  await produceEvents(createKafka(config), config, [...org.control, ...other.control, fixture('SubscriptionEnded', { orgId, occurredAt: endedAt })]);
  await produceEvents(createKafka(config), config, [...org.emails, ...other.emails]);
  const container = createContainerClient(config);
  await waitFor(async () => (await redisKeysOf(redis, config, orgId)).length > 0 && (await blobsOf(container, orgId)).length > 0, {
    timeoutMs: 30_000,
    message: 'the org projected and landed',
  });
  await waitFor(async () => (await blobsOf(container, keep)).length > 0, { timeoutMs: 30_000, message: 'the other org landed' });
  return { handle, endedAt };
}

export interface LandedOrgRun {
  config: Config;
  redis: Redis;
  /** the org whose subscription ended, and one that keeps everything */
  orgId: string;
  keep: string;
  endedAt: number;
  container: ContainerClient;
  /** stops the processors and releases what the run created */
  stop(): Promise<void>;
}

/** `landedOrg` on a fresh config with these tests' retention settings (RETENTION_ENV). */
export async function landedOrgRun(): Promise<LandedOrgRun> {
  const config = testConfig({ BLOB_FLUSH_SECONDS: '1', ...RETENTION_ENV });
  const redis = createRedis(config);
  const orgId = `gone-${randomSuffix()}`;
  const keep = `kept-${randomSuffix()}`;
  let handle: ProcessorsHandle | undefined;
  const stop = async (): Promise<void> => {
    await handle?.stop();
    redis.disconnect();
    await cleanupTestResources(config);
  };
  try {
    const started = await landedOrg(config, redis, orgId, keep);
    handle = started.handle;
    return { config, redis, orgId, keep, endedAt: started.endedAt, container: createContainerClient(config), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

