/**
 * Uploads a cycle's files, never replacing a fuller version with an emptier one: each blob
 * carries the partition offset its content reaches (`lastoffset` metadata) and the write is
 * conditional on the ETag read just before. So a late upload from an instance that lost the
 * partition in a rebalance can't shrink a file the new owner already completed.
 *
 * The common cases cost one request: a new name is written with `If-None-Match: *`, and a name
 * this writer already wrote is rewritten with `If-Match` on the ETag it got back (or skipped when
 * it holds no new record: a file's content is a function of its records). Only a conflict falls
 * back to reading the blob's properties. A backlog cycle can hold thousands of small files, so
 * uploads run with bounded concurrency instead of all at once, bounded per process (every
 * partition's cycles share the slots): bounded per cycle, six partitions sealing together kept
 * ~200 uploads in flight, and in two 1M-record bench runs the local Azurite stopped reading request
 * bodies (0% CPU, full receive queues, every upload timing out); with the shared bound it did not
 * wedge again, though two processes (64 uploads) still overloaded it late in a run (bench/RESULTS.md).
 */

import type { ContainerClient } from '@azure/storage-blob';
import { storageError } from '../../core/blob.js';
import { EngagementError, isEngagementError } from '../../core/errors.js';
import { Slots } from '../../core/slots.js';
import { containerFile } from './avro-file.js';
import type { CycleSnapshot } from './cycle-buffer.js';

export type UploadOutcome = 'written' | 'up_to_date';

/** uploads in flight per writer (per lander process), all partitions together */
export const UPLOAD_CONCURRENCY = 32;
/** The storage SDK has no request timeout of its own: a request that never answers would stall the partition. */
export const REQUEST_TIMEOUT_MS = 30_000;
const MAX_REMEMBERED = 200_000;

interface Written {
  etag: string;
  count: number;
}

export class BlobWriter {
  private containerReady = false;
  private readonly written = new Map<string, Written>();
  private readonly slots = new Slots(UPLOAD_CONCURRENCY);

  constructor(private readonly container: ContainerClient) {}

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
        if (this.written.get(name)?.count === records.length) continue;
        const outcome = await this.slots.run(() => this.uploadMonotonic(name, containerFile(name, records), snapshot.lastOffset, records.length));
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

  private async uploadMonotonic(name: string, body: Buffer, lastOffset: number, count: number): Promise<UploadOutcome> {
    const blob = this.container.getBlockBlobClient(name);
    const upload = (conditions: { ifMatch: string } | { ifNoneMatch: string }) =>
      blob.upload(body, body.length, {
        metadata: { lastoffset: String(lastOffset), records: String(count) },
        blobHTTPHeaders: { blobContentType: 'application/avro' },
        conditions,
        abortSignal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    const remember = (etag: string | undefined): UploadOutcome => {
      if (this.written.size >= MAX_REMEMBERED) this.written.delete(this.written.keys().next().value!);
      if (etag) this.written.set(name, { etag, count });
      return 'written';
    };

    const mine = this.written.get(name);
    try {
      return remember((await upload(mine ? { ifMatch: mine.etag } : { ifNoneMatch: '*' })).etag);
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
        return remember((await upload(etag ? { ifMatch: etag } : { ifNoneMatch: '*' })).etag);
      } catch (error) {
        const status = statusOf(error);
        if (status !== 412 && status !== 409) throw error; // someone wrote in between: look again
      }
    }
    throw new EngagementError('storage_unavailable', `blob ${name} kept changing under concurrent writers`, { retriable: true });
  }
}

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}
