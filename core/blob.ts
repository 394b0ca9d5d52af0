import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { Config } from './config.js';
import { EngagementError } from './errors.js';

export function createContainerClient(config: Pick<Config, 'azureConnectionString' | 'blobContainer'>): ContainerClient {
  return BlobServiceClient.fromConnectionString(config.azureConnectionString).getContainerClient(config.blobContainer);
}

/** HTTP statuses of storage that a later attempt may not get again (throttled, timed out, server trouble). */
const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/**
 * A storage SDK error as ours: retriable when storage could not be reached or answered with a
 * transient status; not when it refused the request (credentials, a malformed request), which
 * no retry fixes.
 */
export function storageError(cause: unknown, what: string): EngagementError {
  const status = (cause as { statusCode?: number }).statusCode;
  const retriable = status === undefined || TRANSIENT_STATUS.has(status) || (cause as { code?: string }).code === 'ContainerNotFound';
  const message = `${what}: ${cause instanceof Error ? cause.message : String(cause)}${status === undefined ? '' : ` (HTTP ${status})`}`;
  return new EngagementError('storage_unavailable', message, { cause, retriable });
}
