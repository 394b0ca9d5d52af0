import { createServer, connect, type Server } from 'node:net';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContainerClient } from '../../core/blob.js';
import type { Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { startProcessors, type ProcessorsHandle } from '../../processors/index.js';
import { metrics } from '../../processors/metrics.js';
import type { RoleStats } from '../../processors/stats.js';
import { encodeLandedRecord, readLandedFile } from '../../processors/lander/avro-file.js';
import { BlobWriter } from '../../processors/lander/blob-writer.js';
import type { CycleSnapshot } from '../../processors/lander/cycle-buffer.js';
import { purgeOrgBlobs } from '../../retention/purge-blobs.js';
import { cleanupTestResources, createTestTopics, testConfig } from '../support/env.js';
import { fixture } from '../support/fixtures.js';
import { generateWorkload } from '../support/workload.js';
import { produceEvents } from './support/produce.js';
import { landedMismatch, waitForLanded } from './support/verify.js';

/**
 * A TCP relay in front of the stack's Azurite that counts the bytes the client sends: what an
 * upload costs on the wire, measured outside the writer.
 */
async function countingRelay(target: { host: string; port: number }): Promise<{ server: Server; port: number; sent: () => number }> {
  let sent = 0;
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
    });
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { server, port, sent: () => sent };
}

const NAME = 'org=o1/date=2026-11-27/t.emails+0+0.avro';
const record = (offset: number): Buffer =>
  encodeLandedRecord({ topic: 't.emails', partition: 0, offset, event: fixture('EmailOpened', { eventId: `00000000-0000-4000-8000-${String(offset).padStart(12, '0')}` }) });

/** The snapshot an idle flush takes of a cycle holding `records` in one file (the same Buffers each time, as CycleBuffer keeps them). */
const snapshot = (records: Buffer[], lastOffset: number): CycleSnapshot => ({
  partition: 0,
  cycleStart: 0,
  lastOffset,
  files: new Map([[NAME, [...records]]]),
  events: new Map([[NAME, []]]),
});

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** Partition `partition`'s file (a name of its own) and the snapshot of a flush of its records. */
function partitionFile(partition: number): { name: string; file: (records: Buffer[], lastOffset: number) => CycleSnapshot } {
  const name = NAME.replace('+0+0', `+${partition}+0`);
  return { name, file: (records, lastOffset) => ({ partition, cycleStart: 0, lastOffset, files: new Map([[name, [...records]]]), events: new Map([[name, []]]) }) };
}

async function offsetsIn(container: ContainerClient, name: string): Promise<number[]> {
  return (await readLandedFile(await container.getBlobClient(name).downloadToBuffer())).map((r) => r.offset);
}

describe('blob writer: a file rewritten by every idle flush of a long cycle', () => {
  let config: Config;
  let relay: Awaited<ReturnType<typeof countingRelay>>;
  let direct: ContainerClient;
  let relayed: ContainerClient;

  beforeAll(async () => {
    config = testConfig();
    const endpoint = new URL(/BlobEndpoint=([^;]+)/.exec(config.azureConnectionString)![1]!);
    relay = await countingRelay({ host: endpoint.hostname, port: Number(endpoint.port) });
    const viaRelay = config.azureConnectionString.replace(`${endpoint.hostname}:${endpoint.port}`, `127.0.0.1:${relay.port}`);
    direct = BlobServiceClient.fromConnectionString(config.azureConnectionString).getContainerClient(config.blobContainer);
    relayed = BlobServiceClient.fromConnectionString(viaRelay).getContainerClient(config.blobContainer);
    await direct.createIfNotExists();
  });

  afterAll(async () => {
    relay?.server.close();
    if (config) await cleanupTestResources(config).catch(() => undefined);
    await direct?.deleteIfExists().catch(() => undefined);
  });

  it('sends each record about once, not the whole file again at every flush', { timeout: 60_000 }, async () => {
    const writer = new BlobWriter(relayed);
    const records: Buffer[] = [];
    const flushes = 20;
    for (let flush = 0; flush < flushes; flush++) {
      for (let i = 0; i < 100; i++) records.push(record(records.length));
      await writer.uploadCycle(snapshot(records, records.length - 1));
      // every flush leaves a complete file: all records so far, in order, once
      expect(await offsetsIn(direct, NAME)).toEqual(range(0, records.length));
    }
    const size = (await direct.getBlobClient(NAME).getProperties()).contentLength!;
    // Rewriting the whole file each time sends ~flushes/2 times its final size (10.5× here).
    expect(relay.sent() / size).toBeLessThan(2.5);
  });

  it('never shrinks a fuller version another writer completed after a rebalance, and that writer goes on from it', { timeout: 60_000 }, async () => {
    const { name, file } = partitionFile(1);
    const offsets = () => offsetsIn(direct, name);
    const old = new BlobWriter(direct, { appendFromBytes: 0 });
    const records = range(0, 300).map(record);
    await old.uploadCycle(file(records.slice(0, 100), 99));
    await old.uploadCycle(file(records.slice(0, 150), 149));
    // the partition moved: its new owner read the cycle again and wrote it further
    const owner = new BlobWriter(direct, { appendFromBytes: 0 });
    await owner.uploadCycle(file(records.slice(0, 250), 249));
    // the old owner's late flush (its append is refused: the blob is not the one it wrote)
    await old.uploadCycle(file(records.slice(0, 200), 199));
    expect(await offsets()).toEqual(range(0, 250));
    await owner.uploadCycle(file(records.slice(0, 300), 299));
    expect(await offsets()).toEqual(range(0, 300));
  });

  it('does not shrink a file it wrote with a view of the cycle older than the one it wrote before', { timeout: 60_000 }, async () => {
    // the partition came back to this process: the earlier generation's last upload reached offset
    // 99, the new generation re-reads the cycle from its start and flushes at offset 49 first
    const { name, file } = partitionFile(6);
    const writer = new BlobWriter(direct);
    const records = range(0, 100).map(record);
    await writer.uploadCycle(file(records, 99));
    const again = range(0, 100).map(record);
    expect(await writer.uploadCycle(file(again.slice(0, 50), 49))).toBe(0);
    expect(await offsetsIn(direct, name)).toEqual(range(0, 100));
    await writer.uploadCycle(file(again, 99));
    expect(await offsetsIn(direct, name)).toEqual(range(0, 100));
  });

  it('at a seal, writes again a file storage lost since it was written, which a flush skips as unchanged', { timeout: 60_000 }, async () => {
    const { name, file } = partitionFile(7);
    const writer = new BlobWriter(direct);
    const records = range(0, 20).map(record);
    await writer.uploadCycle(file(records, 19));
    await direct.getBlobClient(name).delete();
    expect(await writer.uploadCycle(file(records, 19))).toBe(0); // an idle flush: nothing new to write
    expect(await writer.uploadCycle({ ...file(records, 19), final: true })).toBe(1);
    expect(await offsetsIn(direct, name)).toEqual(range(0, 20));
    expect(await writer.uploadCycle({ ...file(records, 19), final: true })).toBe(0); // still there: nothing written
  });

  it('writes again, whole, a file deleted between two flushes (and leaves no block staged)', { timeout: 60_000 }, async () => {
    const { name, file } = partitionFile(3);
    const writer = new BlobWriter(direct, { appendFromBytes: 0 });
    const records = range(0, 90).map(record);
    await writer.uploadCycle(file(records.slice(0, 30), 29));
    await writer.uploadCycle(file(records.slice(0, 60), 59));
    // retention (or an operator) deletes it; the next flush's append is refused after its block was staged
    await direct.getBlobClient(name).delete();
    await writer.uploadCycle(file(records, 89));
    expect((await offsetsIn(direct, name))).toEqual(range(0, 90));
    const { uncommittedBlocks } = await direct.getBlockBlobClient(name).getBlockList('all');
    expect(uncommittedBlocks ?? []).toEqual([]);
    // and a writer that never knew the file (a restarted lander) is not stuck on what one left staged
    const staged = NAME.replace('+0+0', '+4+0');
    await direct.getBlockBlobClient(staged).stageBlock(Buffer.from('0123456789ab0000000000000000').toString('base64'), Buffer.from('left by a crash'), 15); // an id as a lander makes them
    await new BlobWriter(direct).uploadCycle({ ...file(records.slice(0, 10), 9), partition: 4, files: new Map([[staged, records.slice(0, 10)]]) });
    expect((await offsetsIn(direct, staged))).toEqual(range(0, 10));
    expect((await direct.getBlockBlobClient(staged).getBlockList('all')).uncommittedBlocks ?? []).toEqual([]);
  });

  it("writes whole a file a purge's gate filtered, though its last record written is in place", { timeout: 60_000 }, async () => {
    const name = NAME.replace('+0+0', '+5+0');
    const writer = new BlobWriter(direct, { appendFromBytes: 0 });
    const [r0, r1, r2, r3, r4] = range(0, 5).map(record) as [Buffer, Buffer, Buffer, Buffer, Buffer];
    const file = (records: Buffer[]): CycleSnapshot => ({ ...snapshot(records, 4), partition: 5, files: new Map([[name, records]]), events: new Map([[name, []]]), whole: new Set([name]) });
    await writer.uploadCycle(file([r0, r2]));
    await writer.uploadCycle(file([r0, r2, r3]));
    // gated again: r0 now out, r1 back in, r3 still the third record
    await writer.uploadCycle(file([r1, r2, r3, r4]));
    expect((await offsetsIn(direct, name))).toEqual([1, 2, 3, 4]);
    // gated again: r1 out, r0 back in, as many records as written and the same last one
    await writer.uploadCycle(file([r0, r2, r3, r4]));
    expect((await offsetsIn(direct, name))).toEqual([0, 2, 3, 4]);
  });

  it('leaves nothing of a purged org, not even a blob of blocks a lander staged and never committed', { timeout: 60_000 }, async () => {
    const landed = 'org=o9/date=2026-11-27/t.emails+0+0.avro';
    const staged = 'org=o9/date=2026-11-27/t.emails+1+0.avro';
    await new BlobWriter(direct).uploadCycle({ ...snapshot([record(0)], 0), files: new Map([[landed, [record(0)]]]) });
    const block = record(1);
    await direct.getBlockBlobClient(staged).stageBlock(Buffer.from('0123456789ab0000000000000000').toString('base64'), block, block.length);
    const names = async () => {
      const all: string[] = [];
      for await (const blob of direct.listBlobsFlat({ prefix: 'org=o9/', includeUncommitedBlobs: true })) all.push(blob.name);
      return all.sort();
    };
    expect(await names()).toEqual([landed, staged]);
    await purgeOrgBlobs(direct, 'org=o9/');
    expect(await names()).toEqual([]);
  });

  it('writes the file whole again when a record it already wrote is gone (a purge gated it again)', { timeout: 60_000 }, async () => {
    const { name, file } = partitionFile(2);
    const writer = new BlobWriter(direct, { appendFromBytes: 0 });
    const records = range(0, 60).map(record);
    await writer.uploadCycle(file(records.slice(0, 20), 19));
    await writer.uploadCycle(file(records.slice(0, 40), 39));
    const kept = [...records.slice(0, 10), ...records.slice(11, 60)];
    await writer.uploadCycle(file(kept, 59));
    expect((await offsetsIn(direct, name))).toEqual([...range(0, 10), ...range(11, 60)]);
  });
});

describe('lander: a cycle that fills slowly, flushed many times before it completes', () => {
  let config: Config;
  let handle: ProcessorsHandle | undefined;

  afterAll(async () => {
    await handle?.stop();
    if (config) await cleanupTestResources(config).catch(() => undefined);
  });

  it('lands every record exactly once and sends the files about once, not once per flush', { timeout: 120_000 }, async () => {
    // the default cycle (50,000 offsets a partition) does not complete: only idle flushes write
    config = testConfig({ BLOB_FLUSH_SECONDS: '1' });
    await createTestTopics(config);
    const kafka = createKafka(config);
    // one org, one day: a file per partition, each growing with every slice
    const day = Math.floor(Date.now() / 86_400_000 - 2) * 86_400_000;
    const workload = generateWorkload({ orgs: 1, emailsPerOrg: 3000, recipients: 3, seed: 11, startAt: day + 3_600_000, periodMs: 6 * 3_600_000, duplicateRate: 0, privacySwitches: false });
    const container = createContainerClient(config);
    // the control history first: the processors start caught up with it
    await produceEvents(kafka, config, workload.control);
    handle = await startProcessors(config);
    const bytesBefore = (await metrics.blobBytes.get()).values[0]?.value ?? 0;
    const slices = 8;
    const per = Math.ceil(workload.emails.length / slices);
    for (let i = 0; i < slices; i++) {
      await produceEvents(kafka, config, workload.emails.slice(i * per, (i + 1) * per));
      // this slice is in storage before the next is produced: the next flush writes the files again
      await waitForLanded(container, Math.min((i + 1) * per, workload.emails.length), 30_000);
    }
    const landed = await waitForLanded(container, workload.expected.landed.length, 30_000);
    expect(landedMismatch(landed, workload.expected.landed)).toBeNull();
    expect((handle.stats().lander as RoleStats).uploadRetries).toBe(0);
    let stored = 0;
    for await (const blob of container.listBlobsFlat()) stored += blob.properties.contentLength ?? 0;
    const sent = ((await metrics.blobBytes.get()).values[0]?.value ?? 0) - bytesBefore;
    // written whole at every flush, the files went over the wire ~4.5 times (1/8 + 2/8 + … + 8/8)
    expect(sent / stored).toBeLessThan(2);
  });
});
