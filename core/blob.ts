import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { Config } from './config.js';

export function createContainerClient(config: Pick<Config, 'azureConnectionString' | 'blobContainer'>): ContainerClient {
  return BlobServiceClient.fromConnectionString(config.azureConnectionString).getContainerClient(config.blobContainer);
}
