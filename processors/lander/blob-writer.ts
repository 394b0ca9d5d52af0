/**
 * Uploads a cycle's files, never replacing a fuller version with an emptier one: each blob
 * carries the partition offset its content reaches (`lastoffset` metadata) and the write is
 * conditional on the ETag read just before. So a late upload from an instance that lost the
 * partition in a rebalance can't shrink a file the new owner already completed.
 *
 * The common cases cost one request: a new name is written with `If-None-Match: *`, and a name
 * this writer already wrote is rewritten with `If-Match` on the ETag it got back (or skipped when
 * it holds no new record: a file's content is a function of its records); a file of
 * APPEND_FROM_BYTES or more is extended instead (a block staged, the block list committed on that
 * ETag: two requests, only the new records sent). Only a conflict falls back to reading the
 * blob's properties. A backlog cycle can hold thousands of small files, so
 * uploads run with bounded concurrency instead of all at once, bounded per process (every
 * partition's cycles share the slots): bounded per cycle, six partitions sealing together kept
 * ~200 uploads in flight, and in two 1M-record bench runs the local Azurite stopped reading request
 * bodies (0% CPU, full receive queues, every upload timing out); with the shared bound it did not
 * wedge again, though two processes (64 uploads) still overloaded it late in a run (bench/RESULTS.md).
 */

import { randomBytes } from 'node:crypto';
import type { BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import { storageError } from '../../core/blob.js';
import { EngagementError, isEngagementError } from '../../core/errors.js';
import { Slots } from '../../core/slots.js';
import { metrics } from '../metrics.js';
import { containerFile, dataBlock } from './avro-file.js';
import type { CycleSnapshot } from './cycle-buffer.js';

export type UploadOutcome = 'written' | 'up_to_date';

/** uploads in flight per writer (per lander process), all partitions together */
export const UPLOAD_CONCURRENCY = 32;
/** The storage SDK has no request timeout of its own: a request that never answers would stall the partition. */
export const REQUEST_TIMEOUT_MS = 30_000;
/**
 * A file this writer wrote at least this large is extended by one block per flush (two requests:
 * stage, commit) instead of written whole again (one request). Below it the second request
 * costs more than the bytes it saves: against the local Azurite, files of ~32 KiB took about
 * 1.2× as long to flush extended from 16 KiB on, no longer from 64 KiB on (`engagement bench landing`).
 */
export const APPEND_FROM_BYTES = 64 * 1024;
/** Azure allows 50,000 committed blocks per blob: past this many the file is written whole again, in one block. */
export const MAX_BLOCKS = 1000;
const MAX_REMEMBERED = 200_000;

interface Written {
  etag: string;
  count: number;
  /** the partition offset the file reached as written (its `lastoffset` metadata) */
  lastOffset: number;
  /**
   * The last record written, the very Buffer the cycle holds: while the cycle's file still holds
   * it at `count - 1`, the records before it are those written (a purge gating records again
   * removes some; a cycle read again holds other Buffers), and only the ones after are new. Weak:
   * a Buffer keeps its 8 KiB pool slab alive, and the names of completed cycles stay remembered.
   */
  last: WeakRef<Buffer>;
  size: number;
  /**
   * The blob's committed blocks when this writer built it from blocks (their ids are
   * blockId(blockPrefix, 0 … blocks - 1)); 0 when it was written whole.
   */
  blocks: number;
  blockPrefix: string;
}

export interface BlobWriterOptions {
  /** APPEND_FROM_BYTES; 0 extends every file from its second write on */
  appendFromBytes?: number;
}

export class BlobWriter {
  private containerReady = false;
  private readonly written = new Map<string, Written>();
  private readonly slots = new Slots(UPLOAD_CONCURRENCY);
  private readonly appendFromBytes: number;
  /** Block ids are this writer's alone: an id staged by another writer of the blob is never committed as ours. */
  private readonly writerId = randomBytes(6).toString('hex');
  /** a new series of block ids each time a file is staged whole */
  private series = 0;

  constructor(
    private readonly container: ContainerClient,
    options: BlobWriterOptions = {},
  ) {
    this.appendFromBytes = options.appendFromBytes ?? APPEND_FROM_BYTES;
  }

  async uploadCycle(snapshot: CycleSnapshot): Promise<number> {
    if (!this.containerReady) {
      await this.container.createIfNotExists();
      this.containerReady = true;
    }
    const files = [...snapshot.files];
    let written = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < files.length) {
        const [name, records] = files[next++]!;
        const mine = this.written.get(name);
        const whole = snapshot.whole?.has(name) ?? false;
        // a file a purge's gate filtered may hold other records with the same count and last one
        if (!whole && mine?.count === records.length && mine.last.deref() === records[records.length - 1]) {
          if (!snapshot.final || (await this.slots.run(() => this.stillWritten(name, mine.etag)))) continue;
          this.written.delete(name);
        }
        const outcome = await this.slots.run(() => this.write(name, records, snapshot.lastOffset, whole));
        if (outcome === 'written') written++;
      }
    };
    try {
      // Settled, not the first failure: an attempt is over only when none of its writes is in
      // flight (the lander's purge acknowledgement counts on it).
      const results = await Promise.allSettled(Array.from({ length: Math.min(UPLOAD_CONCURRENCY, files.length) }, worker));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    } catch (error) {
      // Storage came back without the container (a fresh emulator, an operator's mistake): recreate
      // it and forget what was written there, so the retry writes every file again.
      if ((error as { code?: string }).code === 'ContainerNotFound') {
        this.containerReady = false;
        this.written.clear();
      }
      throw isEngagementError(error) ? error : storageError(error, 'blob upload failed');
    }
    return written;
  }

  /** Storage still holds the version this writer wrote (a seal commits the next cycle's start only once it does). */
  private async stillWritten(name: string, etag: string): Promise<boolean> {
    try {
      return (await this.container.getBlockBlobClient(name).getProperties({ abortSignal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).etag === etag;
    } catch (error) {
      if (statusOf(error) === 404 && (error as { code?: string }).code !== 'ContainerNotFound') return false;
      throw error;
    }
  }

  /**
   * An idle flush writes a cycle's files again as they grow: written whole each time, a file
   * kept growing through a long cycle (a quiet partition, BLOB_CYCLE_OFFSETS apart) went over the
   * wire about (flushes / 2) times. A file this writer wrote, still holding what it wrote, gets
   * its new records as one more Avro block instead.
   */
  private async write(name: string, records: readonly Buffer[], lastOffset: number, whole: boolean): Promise<UploadOutcome> {
    const mine = this.written.get(name);
    // A view of the cycle older than the one written (the partition came back to this process and
    // its cycle is read again from the start, while the earlier upload went further): the If-Match
    // on this writer's own ETag would let it shrink the file. A purge's re-gating may shrink it.
    if (!whole && mine && lastOffset < mine.lastOffset) return 'up_to_date';
    if (!whole && mine && records.length > mine.count && records[mine.count - 1] === mine.last.deref() && mine.size >= this.appendFromBytes) {
      if (await this.append(name, mine, records, lastOffset)) return 'written';
    }
    return this.uploadMonotonic(name, records, lastOffset);
  }

  /**
   * Stages the new records as a block and commits the blob's blocks with it, on the ETag this
   * writer got back: false (nothing changed) when the blob is no longer the one it wrote. A blob
   * written whole has no blocks to keep: its first extension stages it whole, as one block.
   */
  private async append(name: string, mine: Written, records: readonly Buffer[], lastOffset: number): Promise<boolean> {
    const blob = this.container.getBlockBlobClient(name);
    const whole = mine.blocks === 0 || mine.blocks >= MAX_BLOCKS;
    const body = whole ? containerFile(name, records) : dataBlock(name, records.slice(mine.count));
    const prefix = whole ? this.nextSeries() : mine.blockPrefix;
    const count = whole ? 1 : mine.blocks + 1;
    try {
      await this.stageAndCommit(blob, prefix, count, body, { ifMatch: mine.etag }, records, lastOffset, whole ? body.length : mine.size + body.length);
      return true;
    } catch (error) {
      // Whatever failed, this series is not staged again: a stage that timed out may still land
      // late and replace a block staged under the same id since, which a commit would then take.
      this.written.delete(name);
      const status = statusOf(error);
      // 412: someone else wrote it; 404: it is gone; InvalidBlockList: its blocks are not ours any more
      const moved = status === 412 || status === 409 || status === 404 || (error as { code?: string }).code === 'InvalidBlockList';
      if (!moved) throw error;
      return false;
    }
  }

  private nextSeries(): string {
    return `${this.writerId}${String(this.series++).padStart(8, '0')}`;
  }

  private remember(name: string, etag: string | undefined, records: readonly Buffer[], lastOffset: number, size: number, blocks: number, blockPrefix = ''): void {
    this.written.delete(name); // re-inserted last: the map forgets the names written longest ago first
    if (this.written.size >= MAX_REMEMBERED) this.written.delete(this.written.keys().next().value!);
    if (etag) this.written.set(name, { etag, count: records.length, lastOffset, last: new WeakRef(records[records.length - 1]!), size, blocks, blockPrefix });
  }

  private async uploadMonotonic(name: string, records: readonly Buffer[], lastOffset: number): Promise<UploadOutcome> {
    const body = containerFile(name, records);
    const blob = this.container.getBlockBlobClient(name);
    const upload = async (conditions: { ifMatch: string } | { ifNoneMatch: string }): Promise<UploadOutcome> => {
      const response = await blob.upload(body, body.length, { ...writeOptions(lastOffset, records.length), conditions });
      metrics.blobBytes.inc(body.length);
      this.remember(name, response.etag, records, lastOffset, body.length, 0);
      return 'written';
    };

    const mine = this.written.get(name);
    try {
      return await upload(mine ? { ifMatch: mine.etag } : { ifNoneMatch: '*' });
    } catch (error) {
      const status = statusOf(error);
      if (status !== 412 && status !== 409 && status !== 404) throw error;
      this.written.delete(name); // someone else wrote it, or it is gone: look before writing
    }

    for (let attempt = 0; attempt < 5; attempt++) {
      let etag: string | undefined;
      try {
        const props = await blob.getProperties({ abortSignal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        if (Number(props.metadata?.lastoffset ?? -1) >= lastOffset) return 'up_to_date';
        etag = props.etag;
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
      try {
        return await upload(etag ? { ifMatch: etag } : { ifNoneMatch: '*' });
      } catch (error) {
        const status = statusOf(error);
        if (status !== 412 && status !== 409) throw error; // someone wrote in between: look again
        // No version to read, yet the name is taken: a blob of uncommitted blocks only (a block
        // staged by a lander that crashed before its commit, or whose blob was deleted under it).
        // Azurite refuses Put Blob's If-None-Match on it for ever; a block list committed with
        // If-None-Match is judged on committed blobs only, and drops the blocks left staged.
        if (!etag && (await this.commitWhole(blob, body, lastOffset, records))) return 'written';
      }
    }
    throw new EngagementError('storage_unavailable', `blob ${name} kept changing under concurrent writers`, { retriable: true });
  }

  /** The whole file as one block, committed only where no committed version exists; false when one does. */
  private async commitWhole(blob: BlockBlobClient, body: Buffer, lastOffset: number, records: readonly Buffer[]): Promise<boolean> {
    try {
      await this.stageAndCommit(blob, this.nextSeries(), 1, body, { ifNoneMatch: '*' }, records, lastOffset, body.length);
      return true;
    } catch (error) {
      const status = statusOf(error);
      if (status !== 412 && status !== 409) throw error;
      return false;
    }
  }

  /**
   * Stages `body` as block `count - 1` of the series `prefix` and commits blocks 0 … count - 1 on
   * `conditions`; remembers the blob as written (`size` bytes) when the commit is taken.
   */
  private async stageAndCommit(
    blob: BlockBlobClient,
    prefix: string,
    count: number,
    body: Buffer,
    conditions: { ifMatch: string } | { ifNoneMatch: string },
    records: readonly Buffer[],
    lastOffset: number,
    size: number,
  ): Promise<void> {
    const ids = Array.from({ length: count }, (_, i) => blockId(prefix, i));
    await blob.stageBlock(ids[count - 1]!, body, body.length, { abortSignal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    metrics.blobBytes.inc(body.length);
    const { etag } = await blob.commitBlockList(ids, { ...writeOptions(lastOffset, records.length), conditions });
    this.remember(blob.name, etag, records, lastOffset, size, count, prefix);
  }
}

/** What every write of a file carries: the offset its content reaches and its record count (the monotonic guard reads them). */
function writeOptions(lastOffset: number, records: number) {
  return {
    metadata: { lastoffset: String(lastOffset), records: String(records) },
    blobHTTPHeaders: { blobContentType: 'application/avro' },
    abortSignal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  };
}

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

/** Fixed length (Azure wants every block id of a blob equally long): 12 hex + 8 + 8 digits, base64. */
function blockId(prefix: string, index: number): string {
  return Buffer.from(`${prefix}${String(index).padStart(8, '0')}`).toString('base64');
}
