/**
 * The bench's isolation: random topic / Redis / container prefixes on the local real stack,
 * brought up when it is not running, and everything deleted afterwards.
 */

import { randomBytes } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { loadConfig, type Config } from '../core/config.js';
import { createKafka } from '../core/kafka.js';
import { createRedis } from '../core/redis.js';
import { unlinkMatching } from '../core/redis-scan.js';
import { ensureTopics, stackUp } from '../stack/index.js';
import { progress } from './progress.js';

export function benchConfig(overrides: Record<string, string> = {}): Config {
  const id = randomBytes(4).toString('hex');
  return loadConfig({
    ...process.env,
    TOPIC_PREFIX: `bench-${id}`,
    REDIS_PREFIX: `bench-${id}`,
    BLOB_CONTAINER: `bench-${id}`,
    KAFKA_CLIENT_ID: `bench-${id}`,
    PORT: '0',
    ...overrides,
  });
}

/** A config on the same topics with a fresh Redis prefix and container: a second, independent pipeline. */
export function freshSinks(config: Config): Config {
  const id = randomBytes(4).toString('hex');
  return { ...config, redisPrefix: `${config.topicPrefix}-${id}`, blobContainer: `${config.topicPrefix}-${id}` };
}

export async function ensureStack(config: Config): Promise<void> {
  const result = await stackUp(config, { reporter: { step: (m) => progress(`stack: ${m}`) } });
  if (result.started.length > 0) progress(`stack: started ${result.started.join(', ')} (left running)`);
}

/** The bench's topics, created the way `stack up` creates them (only the missing ones). */
export async function createTopics(config: Config): Promise<void> {
  await ensureTopics(config);
}

/** Forgets the processors' consumer groups so the next run on the same topics starts from the beginning. */
export async function deleteGroups(config: Config, filter: (group: string) => boolean = () => true): Promise<void> {
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(`${config.topicPrefix}.`) && filter(g));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

/** Cleanup deletes only what a bench run made: the prefix must be one benchConfig makes. */
function requireRunPrefix(prefix: string): void {
  if (!/^bench-[0-9a-f]{8}$/.test(prefix)) throw new Error(`bench cleanup refuses the prefix "${prefix}"`);
}

/**
 * Deletes everything of a bench run, at its end or, once it died, at the next run's start
 * (bench/leftovers.ts): every topic, group, Redis key and container whose name starts with its
 * prefix, its scenarios' sinks included (`<prefix>-<id>`, `<prefix>.tracking`, …). Never anything
 * but a bench run's: the prefix must be one benchConfig makes.
 */
export async function deleteRun(base: Config, prefix: string): Promise<void> {
  requireRunPrefix(prefix);
  const config = { ...base, topicPrefix: prefix };
  await deleteGroups(config);
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
  } finally {
    await admin.disconnect();
  }
  const redis = createRedis(config);
  try {
    for (const pattern of [`${prefix}*`, `{${prefix}*`]) await unlinkMatching(redis, pattern);
  } finally {
    redis.disconnect();
  }
  await deleteContainers(config, prefix);
}

/**
 * Deletes a bench run's containers (every one starts with its prefix). Also between scenarios and
 * before each drain with child processes: no scenario reads another's blobs, and Azurite (one
 * thread) rewrites its whole metadata file every few seconds, so blobs left from earlier
 * scenarios slow every later upload (three 1M runs stalled on it: bench/RESULTS.md).
 */
export async function deleteContainers(config: Config, prefix: string): Promise<void> {
  requireRunPrefix(prefix);
  const service = BlobServiceClient.fromConnectionString(config.azureConnectionString);
  for await (const container of service.listContainers({ prefix })) await service.deleteContainer(container.name);
}
