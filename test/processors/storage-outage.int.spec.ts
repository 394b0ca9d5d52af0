import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createContainerClient } from '../../core/blob.js';
import { DEFAULTS, type Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { stablePort } from '../support/ports.js';
import { createRedis } from '../../core/redis.js';
import { topicsFor } from '../../core/topics.js';
import { startProcessors, type ProcessorsHandle } from '../../processors/index.js';
import type { RoleStats } from '../../processors/stats.js';
import { cleanupTestResources, createTestTopics, testConfig, waitFor } from '../support/env.js';
import { generateWorkload } from '../support/workload.js';
import { produceEvents } from './support/produce.js';
import { highWatermarkTotal, landedMismatch, waitForLanded, projectionMismatches, storedOffsetTotal } from './support/verify.js';
import { startAzurite, stopAzurite } from '../support/azurite.js';

describe('blob storage outage', () => {
  const location = mkdtempSync(join(tmpdir(), 'azurite-outage-'));
  let config: Config;
  let azurite: ChildProcess | undefined;
  let handle: ProcessorsHandle | undefined;
  let redis: Redis | undefined;

  afterAll(async () => {
    await handle?.stop();
    if (azurite) await stopAzurite(azurite);
    redis?.disconnect();
    if (config) await cleanupTestResources(config).catch(() => undefined);
    rmSync(location, { recursive: true, force: true });
  });

  it('keeps projecting while storage is down, then the blobs catch up exactly once', { timeout: 180_000 }, async () => {
    const port = await stablePort();
    const connection = DEFAULTS.AZURE_STORAGE_CONNECTION_STRING.replace('127.0.0.1:10000', `127.0.0.1:${port}`);
    config = testConfig({ AZURE_STORAGE_CONNECTION_STRING: connection, BLOB_CYCLE_OFFSETS: '500', BLOB_FLUSH_SECONDS: '1' });
    const kafka = createKafka(config);
    redis = createRedis(config);
    await createTestTopics(config);
    azurite = await startAzurite(port, location);
    handle = await startProcessors(config);
    const topic = topicsFor(config).emails;
    const workload = generateWorkload({ orgs: 3, emailsPerOrg: 200, recipients: 3, seed: 5 });
    const half = Math.floor(workload.emails.length / 2);

    await produceEvents(kafka, config, workload.control);
    await produceEvents(kafka, config, workload.emails.slice(0, half));
    const lander = (): RoleStats => handle!.stats().lander as RoleStats;
    await waitFor(() => lander().blobsUploaded > 0, { timeoutMs: 30_000, message: 'first blobs uploaded' });

    await stopAzurite(azurite);
    azurite = undefined;
    await produceEvents(kafka, config, workload.emails.slice(half));
    const end = await highWatermarkTotal(kafka, topic);
    await waitFor(async () => (await storedOffsetTotal(redis!, config, topic)) === end, { timeoutMs: 60_000, message: 'projector not held back' });
    expect(await projectionMismatches(redis, config, workload.expected)).toEqual([]);
    await waitFor(() => lander().uploadRetries > 0, { timeoutMs: 30_000, message: 'lander retrying' });

    azurite = await startAzurite(port, location);
    const container = createContainerClient(config);
    const landed = await waitForLanded(container, workload.expected.landed.length, 90_000);
    expect(landedMismatch(landed, workload.expected.landed)).toBeNull();
  });
});
