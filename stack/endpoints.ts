import type { Config } from '../core/config.js';
import { EngagementError } from '../core/errors.js';

/** Where each service is expected, and whether `stack up` may start it (loopback only). */
export interface Endpoint {
  host: string;
  port: number;
  /** true when the host is a loopback address, so the local stack may start the service. */
  local: boolean;
  /** Human-readable address printed by `stack up|status`. */
  display: string;
}

export interface StackEndpoints {
  kafka: Endpoint & { controllerPort: number };
  redis: Endpoint;
  azurite: Endpoint;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]', '0.0.0.0']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function port(raw: string, what: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0 || value > 65535) {
    throw new EngagementError('config_invalid', `${what}: invalid port "${raw}"`);
  }
  return value;
}

export function kafkaEndpoint(brokers: readonly string[]): StackEndpoints['kafka'] {
  const first = brokers[0];
  if (first === undefined) throw new EngagementError('config_invalid', 'KAFKA_BROKERS is empty');
  const at = first.lastIndexOf(':');
  const host = first.slice(0, at);
  const p = port(first.slice(at + 1), 'KAFKA_BROKERS');
  // The KRaft controller listens on the next port (9092 -> 9093).
  return { host, port: p, controllerPort: p + 1, local: isLoopback(host), display: first };
}

export function redisEndpoint(redisUrl: string): Endpoint {
  const url = new URL(redisUrl);
  const host = url.hostname || '127.0.0.1';
  const p = url.port === '' ? 6379 : port(url.port, 'REDIS_URL');
  return { host, port: p, local: url.protocol === 'redis:' && isLoopback(host), display: `redis://${host}:${p}` };
}

/** Reads `BlobEndpoint=` (or `UseDevelopmentStorage=true`) from an Azure Storage connection string. */
export function blobEndpoint(connectionString: string): Endpoint {
  const parts = new Map(
    connectionString
      .split(';')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => {
        const eq = part.indexOf('=');
        return [part.slice(0, eq).toLowerCase(), part.slice(eq + 1)] as const;
      }),
  );
  const raw =
    parts.get('blobendpoint') ??
    (parts.get('usedevelopmentstorage') === 'true' ? 'http://127.0.0.1:10000/devstoreaccount1' : undefined);
  if (raw === undefined) {
    const account = parts.get('accountname') ?? 'account';
    const suffix = parts.get('endpointsuffix') ?? 'core.windows.net';
    return { host: `${account}.blob.${suffix}`, port: 443, local: false, display: `https://${account}.blob.${suffix}` };
  }
  const url = new URL(raw);
  const defaultPort = url.protocol === 'https:' ? 443 : 80;
  const p = url.port === '' ? defaultPort : port(url.port, 'AZURE_STORAGE_CONNECTION_STRING BlobEndpoint');
  return { host: url.hostname, port: p, local: isLoopback(url.hostname), display: raw.replace(/\/+$/, '') };
}

export function stackEndpoints(config: Pick<Config, 'kafkaBrokers' | 'redisUrl' | 'azureConnectionString'>): StackEndpoints {
  return {
    kafka: kafkaEndpoint(config.kafkaBrokers),
    redis: redisEndpoint(config.redisUrl),
    azurite: blobEndpoint(config.azureConnectionString),
  };
}
