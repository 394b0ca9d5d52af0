import type { ContainerClient } from '@azure/storage-blob';
import { EngagementError } from '../../core/errors.js';
import { containerFile } from './avro-file.js';
import type { CycleSnapshot } from './cycle-buffer.js';

/**
 * Uploads a cycle's files, never replacing a fuller version with an emptier one: each blob
 * carries the partition offset its content reaches (`lastoffset` metadata) and the write is
 * conditional on the ETag read just before. So a late upload from an instance that lost the
 * partition in a rebalance can't shrink a file the new owner already completed.
 */
export type UploadOutcome = 'written' | 'up_to_date';

export class BlobWriter {
  private containerReady = false;

  constructor(private readonly container: ContainerClient) {}

  async uploadCycle(snapshot: CycleSnapshot): Promise<number> {
    if (!this.containerReady) {
      await this.container.createIfNotExists();
      this.containerReady = true;
    }
    let written = 0;
    try {
      await Promise.all(
        [...snapshot.files].map(async ([name, records]) => {
          if ((await this.uploadMonotonic(name, containerFile(name, records), snapshot.lastOffset, records.length)) === 'written') written++;
        }),
      );
    } catch (error) {
      // Storage came back without the container (a fresh emulator, an operator's mistake): recreate it on retry.
      if ((error as { code?: string }).code === 'ContainerNotFound') this.containerReady = false;
      throw error;
    }
    return written;
  }

  private async uploadMonotonic(name: string, body: Buffer, lastOffset: number, count: number): Promise<UploadOutcome> {
    const blob = this.container.getBlockBlobClient(name);
    for (let attempt = 0; attempt < 5; attempt++) {
      let etag: string | undefined;
      try {
        const props = await blob.getProperties();
        if (Number(props.metadata?.lastoffset ?? -1) >= lastOffset) return 'up_to_date';
        etag = props.etag;
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
      try {
        await blob.upload(body, body.length, {
          metadata: { lastoffset: String(lastOffset), records: String(count) },
          blobHTTPHeaders: { blobContentType: 'application/avro' },
          conditions: etag ? { ifMatch: etag } : { ifNoneMatch: '*' },
        });
        return 'written';
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
