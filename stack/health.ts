/** One-shot health probes; each answers quickly and never throws. */

import { logLevel } from 'kafkajs';
import { Redis } from 'ioredis';
import { BlobServiceClient } from '@azure/storage-blob';
import type { Config } from '../core/config.js';
import { createKafka } from '../core/kafka.js';
import { meetsMinimumRedis, MIN_REDIS_VERSION, redisVersionOf } from '../core/redis.js';

export interface Probe {
  healthy: boolean;
  detail: string;
}

const failed = (error: unknown): Probe => ({ healthy: false, detail: error instanceof Error ? error.message : String(error) });

export async function probeKafka(config: Pick<Config, 'kafkaBrokers' | 'kafkaClientId'>): Promise<Probe> {
  const admin = createKafka(config, {
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1500,
    requestTimeout: 3000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return { healthy: true, detail: `cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s)` };
  } catch (error) {
    return failed(error);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function probeRedis(config: Pick<Config, 'redisUrl'>): Promise<Probe> {
  const redis = new Redis(config.redisUrl, {
    lazyConnect: true,
    connectTimeout: 1500,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const pong = await redis.ping();
    const version = redisVersionOf(await redis.info('server'));
    if (version !== null && !meetsMinimumRedis(version)) {
      return { healthy: false, detail: `Redis ${version}: the projection needs ${MIN_REDIS_VERSION.join('.')} or later` };
    }
    return { healthy: pong === 'PONG', detail: version === null ? pong : `${pong}, Redis ${version}` };
  } catch (error) {
    return failed(error);
  } finally {
    redis.disconnect();
  }
}

/** With `create`, also creates the container (idempotent), which is what `stack up` waits for. */
export async function probeBlob(
  config: Pick<Config, 'azureConnectionString' | 'blobContainer'>,
  { create = false }: { create?: boolean } = {},
): Promise<Probe> {
  try {
    const container = BlobServiceClient.fromConnectionString(config.azureConnectionString, {
      retryOptions: { maxTries: 1, tryTimeoutInMs: 3000 },
    }).getContainerClient(config.blobContainer);
    if (create) {
      await container.createIfNotExists();
      return { healthy: true, detail: `container ${config.blobContainer} ready` };
    }
    const exists = await container.exists();
    return { healthy: true, detail: `container ${config.blobContainer} ${exists ? 'exists' : 'missing'}` };
  } catch (error) {
    return failed(error);
  }
}
