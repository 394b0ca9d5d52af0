import { randomBytes } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteRun } from '../../bench/env.js';
import { createContainerClient } from '../../core/blob.js';
import { createKafka } from '../../core/kafka.js';
import { createRedis } from '../../core/redis.js';
import { createTestTopics, testConfig } from '../support/env.js';

/** What a bench run that died left on the real stack is deleted by the next run, and nothing else. */
describe('bench leftovers', () => {
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const config = testConfig({ TOPIC_PREFIX: prefix, REDIS_PREFIX: prefix, BLOB_CONTAINER: prefix });
  // another run, alive: its prefix shares the first characters with the dead one's, its sinks too
  const other = `${prefix.slice(0, -2)}${prefix.endsWith('00') ? '01' : '00'}`;
  const bystander = testConfig({ TOPIC_PREFIX: other, REDIS_PREFIX: other, BLOB_CONTAINER: other });
  const redis = createRedis(config);

  afterAll(async () => {
    await deleteRun(config, prefix).catch(() => undefined);
    await deleteRun(bystander, other);
    redis.disconnect();
  });

  it('deletes every topic, Redis key and container under the dead run\'s prefix, its sinks\' included', { timeout: 60_000 }, async () => {
    await createTestTopics(config);
    await createTestTopics(bystander);
    await redis.set(`${prefix}:proj:current`, '1');
    await redis.set(`{${prefix}-0a1b:v1}:email:o:e`, 'x');
    await redis.set(`${bystander.redisPrefix}:proj:current`, '1');
    await redis.set(`{${bystander.redisPrefix}-0a1b:v1}:email:o:e`, 'x');
    const sink = createContainerClient({ ...config, blobContainer: `${prefix}-0a1b` });
    await sink.createIfNotExists();
    await createContainerClient(bystander).createIfNotExists();

    await deleteRun(config, prefix);

    const admin = createKafka(config).admin();
    await admin.connect();
    const topics = await admin.listTopics().finally(() => admin.disconnect());
    expect(topics.filter((t) => t.startsWith(`${prefix}.`))).toEqual([]);
    expect(topics.filter((t) => t.startsWith(`${bystander.topicPrefix}.`)).length).toBeGreaterThan(0);
    expect(await redis.exists(`${prefix}:proj:current`, `{${prefix}-0a1b:v1}:email:o:e`)).toBe(0);
    expect(await redis.exists(`${bystander.redisPrefix}:proj:current`, `{${bystander.redisPrefix}-0a1b:v1}:email:o:e`)).toBe(2);
    const service = BlobServiceClient.fromConnectionString(config.azureConnectionString);
    const containers: string[] = [];
    for await (const c of service.listContainers()) containers.push(c.name);
    expect(containers.filter((c) => c.startsWith(prefix))).toEqual([]);
    expect(containers).toContain(bystander.blobContainer);
  });

  it('refuses a prefix that is not one a bench run makes', async () => {
    for (const wrong of ['engagement', 'bench-a', `${prefix}0`, `${prefix}-0a1b`]) await expect(deleteRun(config, wrong)).rejects.toThrow(/refuses the prefix/);
  });
});
