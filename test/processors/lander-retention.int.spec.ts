/**
 * The landing zone keeps raw blobs BLOB_RETENTION_DAYS by their date (DESIGN §2): retention deletes
 * older ones, and the lander must never write them back. A cycle stays open until it fills, on a
 * quiet partition longer than that, and a lander restarted reads it again from its start: the
 * files of days already past the retention are left out, the others land.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createContainerClient } from '../../core/blob.js';
import type { Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { startProcessors, type ProcessorsHandle } from '../../processors/index.js';
import { blobDate } from '../../processors/lander/blob-names.js';
import { cleanupTestResources, createTestTopics, randomSuffix, testConfig, waitFor } from '../support/env.js';
import { blobsOf, orgWithAnOpen } from '../retention/support/purge-helpers.js';
import { produceEvents } from './support/produce.js';

const DAY = 86_400_000;

describe('the lander and the landing-zone retention', () => {
  let config: Config;
  let handle: ProcessorsHandle | undefined;
  afterAll(async () => {
    await handle?.stop();
    if (config) await cleanupTestResources(config);
  });

  it('does not write the files of days past BLOB_RETENTION_DAYS (read again after a restart), and writes the rest', { timeout: 90_000 }, async () => {
    config = testConfig({ BLOB_FLUSH_SECONDS: '1', BLOB_RETENTION_DAYS: '2', HISTORY_DAYS: '30' });
    await createTestTopics(config, 1);
    const oldOrg = `old-${randomSuffix()}`;
    const newOrg = `new-${randomSuffix()}`;
    const old = orgWithAnOpen(oldOrg, Date.now() - 5 * DAY);
    const recent = orgWithAnOpen(newOrg, Date.now() - 60_000);
    await produceEvents(createKafka(config), config, [...old.control, ...recent.control]);
    await produceEvents(createKafka(config), config, [...old.emails, ...recent.emails]);
    handle = await startProcessors(config, { roles: ['lander', 'control'] });
    const container = createContainerClient(config);
    await waitFor(async () => (await blobsOf(container, newOrg)).length > 0, { timeoutMs: 30_000, message: 'the recent org landed' });
    // the same cycle, uploaded early once more by the next flush, and after a restart of the lander
    await handle.stop();
    handle = await startProcessors(config, { roles: ['lander', 'control'] });
    await waitFor(async () => ((handle!.stats().lander as { records?: number } | undefined)?.records ?? 0) >= 4, { timeoutMs: 30_000, message: 'the cycle read again' });
    const landed = await blobsOf(container, newOrg);
    expect(landed.every((name) => name.includes(`date=${blobDate(Date.now() - 60_000)}/`))).toBe(true);
    expect(await blobsOf(container, oldOrg)).toEqual([]);
  });
});
