import type { ContainerClient } from '@azure/storage-blob';
import { storageError } from '../core/blob.js';
import { isBlobExpired } from './plan.js';

const CONCURRENCY = 16;

async function deleteAll(container: ContainerClient, names: AsyncIterable<string>): Promise<number> {
  let deleted = 0;
  let batch: string[] = [];
  const flush = async (): Promise<void> => {
    await Promise.all(batch.map((name) => container.deleteBlob(name, { deleteSnapshots: 'include' }).catch(ignoreMissing)));
    deleted += batch.length;
    batch = [];
  };
  try {
    for await (const name of names) {
      batch.push(name);
      if (batch.length >= CONCURRENCY) await flush();
    }
    await flush();
  } catch (cause) {
    if ((cause as { statusCode?: number }).statusCode === 404) return deleted;
    throw storageError(cause, 'blob deletion failed');
  }
  return deleted;
}

function ignoreMissing(error: { statusCode?: number }): void {
  if (error.statusCode !== 404) throw error;
}

/**
 * Uncommitted blobs too: a lander that staged a block and then crashed, or whose commit was
 * refused, leaves a blob of uncommitted blocks only, invisible to a plain listing, holding records.
 */
async function* names(container: ContainerClient, prefix?: string): AsyncIterable<string> {
  for await (const blob of container.listBlobsFlat({ includeUncommitedBlobs: true, ...(prefix === undefined ? {} : { prefix }) })) yield blob.name;
}

async function* filter(source: AsyncIterable<string>, keep: (name: string) => boolean): AsyncIterable<string> {
  for await (const name of source) if (keep(name)) yield name;
}

/** Blob paths are `org=<orgId>/…` (processors/lander/blob-names.ts), so one prefix holds an org. */
export async function purgeOrgBlobs(container: ContainerClient, orgPrefix: string): Promise<number> {
  return deleteAll(container, names(container, orgPrefix));
}

export async function countExpiredBlobs(container: ContainerClient, now: number, blobRetentionDays: number): Promise<number> {
  let count = 0;
  try {
    for await (const name of names(container)) if (isBlobExpired(name, now, blobRetentionDays)) count++;
  } catch (cause) {
    if ((cause as { statusCode?: number }).statusCode === 404) return count;
    throw storageError(cause, 'blob listing failed');
  }
  return count;
}

export async function deleteExpiredBlobs(container: ContainerClient, now: number, blobRetentionDays: number): Promise<number> {
  return deleteAll(container, filter(names(container), (name) => isBlobExpired(name, now, blobRetentionDays)));
}
