import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { inject, onTestFinished } from 'vitest';
import { DEFAULTS, loadConfig, type Config } from '../../core/config.js';
import { createContainerClient } from '../../core/blob.js';
import { createKafka } from '../../core/kafka.js';
import { createRedis } from '../../core/redis.js';
import { contractConfigEntries, retentionContract } from '../../core/topic-retention.js';
import { topicsFor, type Topics } from '../../core/topics.js';

/** Endpoints chosen by test/global-setup.ts (env, local stack or containers), handed to workers. */
export type StackEnv = Record<'KAFKA_BROKERS' | 'REDIS_URL' | 'AZURE_STORAGE_CONNECTION_STRING', string>;

declare module 'vitest' {
  export interface ProvidedContext {
    stackEnv: StackEnv;
  }
}

export function randomSuffix(bytes = 4): string {
  return randomBytes(bytes).toString('hex');
}

function stackEnv(): Partial<StackEnv> {
  try {
    return inject('stackEnv') ?? {};
  } catch {
    return {}; // not inside a vitest worker
  }
}

/**
 * A Config for one test file: the stack's endpoints, plus a fresh random TOPIC_PREFIX,
 * REDIS_PREFIX and BLOB_CONTAINER so tests never see each other's data.
 */
export function testConfig(overrides: Record<string, string | undefined> = {}): Config {
  const id = randomSuffix();
  return loadConfig({
    ...process.env,
    ...stackEnv(),
    TOPIC_PREFIX: `t-${id}`,
    REDIS_PREFIX: `t-${id}`,
    BLOB_CONTAINER: `t-${id}`,
    KAFKA_CLIENT_ID: `test-${id}`,
    ...overrides,
  });
}

/** A consumer group id under the test's topic prefix, so cleanup can find and delete it. */
export function testGroupId(config: Pick<Config, 'topicPrefix'>, name: string): string {
  return `${config.topicPrefix}.${name}`;
}

/**
 * Creates control, emails and deadletter topics for this config (3 partitions by default) with
 * the retention contract, as `stack up` does; `configs` overrides a topic's settings (e.g. a
 * 7-day emails topic to see `start` refuse it).
 */
export async function createTestTopics(
  config: Config,
  partitions = 3,
  configs: Partial<Record<keyof Topics, Record<string, string>>> = {},
): Promise<string[]> {
  const topics = topicsFor(config);
  const roles = Object.keys(topics) as Array<keyof Topics>;
  const contract = retentionContract(topics, config.historyDays);
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: roles.map((role) => {
        const entries = new Map(contractConfigEntries(contract.find((c) => c.topic === topics[role])!).map((e): [string, string] => [e.name, e.value]));
        for (const [name, value] of Object.entries(configs[role] ?? {})) entries.set(name, value);
        return { topic: topics[role], numPartitions: partitions, replicationFactor: 1, configEntries: [...entries].map(([name, value]) => ({ name, value })) };
      }),
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
  return Object.values(topics);
}

/**
 * Deletes what a test created under its prefixes: topics and consumer groups under TOPIC_PREFIX,
 * Redis keys starting with REDIS_PREFIX (SCAN, never KEYS), and the blob container.
 */
export async function cleanupTestResources(config: Config): Promise<void> {
  if (config.topicPrefix === DEFAULTS.TOPIC_PREFIX || config.redisPrefix === DEFAULTS.REDIS_PREFIX || config.blobContainer === DEFAULTS.BLOB_CONTAINER) {
    throw new Error('cleanupTestResources refuses to delete the default (non-test) prefixes');
  }
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(`${config.topicPrefix}.`));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${config.topicPrefix}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
  } finally {
    await admin.disconnect();
  }

  const redis = createRedis(config);
  try {
    await deleteRedisPrefix(redis, config.redisPrefix);
  } finally {
    redis.disconnect();
  }

  await createContainerClient(config).deleteIfExists();
}

/** Deletes the Redis keys of one test prefix (SCAN, never KEYS); refuses the default prefix. */
export async function deleteRedisPrefix(redis: Redis, prefix: string): Promise<void> {
  if (prefix === DEFAULTS.REDIS_PREFIX) throw new Error('deleteRedisPrefix refuses to delete the default (non-test) prefix');
  // Projection keys start with their cluster hash tag `{prefix:vN}`, control keys with the prefix.
  for (const pattern of [`${prefix}:*`, `{${prefix}:*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  }
}

/** Call inside a test: a Redis client under a fresh prefix; its keys and the connection go when the test finishes. */
export function testRedis(): { config: Config; redis: Redis } {
  const config = testConfig();
  const redis = createRedis(config);
  onTestFinished(async () => {
    try {
      await deleteRedisPrefix(redis, config.redisPrefix);
    } finally {
      await redis.quit();
    }
  });
  return { config, redis };
}

/**
 * Polls until `predicate` returns a value other than undefined/null/false, and returns it.
 * A throwing predicate counts as "not yet"; its last error is reported on timeout.
 * Tests synchronise with this, never with sleeps.
 */
export async function waitFor<T>(
  predicate: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  { timeoutMs = 15_000, intervalMs = 50, message = 'condition' }: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `: last error: ${lastError.message}` : '';
      throw new Error(`waitFor: ${message} not met within ${timeoutMs} ms${why}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
