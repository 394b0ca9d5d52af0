import type { Config } from '../core/config.js';
import { stackEndpoints, type StackEndpoints } from './endpoints.js';
import { probeBlob, probeKafka, probeRedis, type Probe } from './health.js';
import { pidFile, SERVICES, stackPaths, type ServiceName, type StackPaths } from './paths.js';
import { runningPid } from './processes.js';
import { AZURITE_MARKER } from './services/azurite.js';
import { KAFKA_MARKER } from './services/kafka.js';
import { REDIS_MARKER } from './services/redis.js';
import type { ServiceState, StackOptions, StackStatus } from './types.js';

export type StackConfig = Pick<
  Config,
  'kafkaBrokers' | 'kafkaClientId' | 'kafkaPartitions' | 'redisUrl' | 'azureConnectionString' | 'blobContainer' | 'topicPrefix' | 'historyDays'
>;

const MARKERS: Record<ServiceName, string> = { kafka: KAFKA_MARKER, redis: REDIS_MARKER, azurite: AZURITE_MARKER };

/** The pid of a service this stack started and that is still running. */
export function managedPid(paths: StackPaths, service: ServiceName): number | undefined {
  return runningPid(pidFile(paths, service), MARKERS[service]);
}

/** Services this stack started that are still running, e.g. to say what outlives `engagement start`. */
export function runningManaged(options: StackOptions = {}): Array<{ service: ServiceName; pid: number }> {
  const paths = options.paths ?? stackPaths();
  return SERVICES.flatMap((service) => {
    const pid = managedPid(paths, service);
    return pid === undefined ? [] : [{ service, pid }];
  });
}

/** The lines shown when `start` stops while the local stack it brought up keeps running. */
export function stillRunningMessage(running: ReadonlyArray<{ service: ServiceName; pid: number }>): string {
  if (running.length === 0) return '';
  const list = running.map((r) => `${r.service} (pid ${r.pid})`).join(', ');
  return `the local stack keeps running: ${list}\nstop it with: npx engagement stack down   (add --purge to delete its data)\n`;
}

export function probeService(config: StackConfig, service: ServiceName, options: { createContainer?: boolean } = {}): Promise<Probe> {
  switch (service) {
    case 'kafka':
      return probeKafka(config);
    case 'redis':
      return probeRedis(config);
    case 'azurite':
      return probeBlob(config, { create: options.createContainer ?? false });
    default: {
      const unreachable: never = service;
      throw new Error(`unknown service ${String(unreachable)}`);
    }
  }
}

export function serviceState(service: ServiceName, endpoints: StackEndpoints, probe: Probe, pid: number | undefined): ServiceState {
  return {
    service,
    endpoint: endpoints[service].display,
    healthy: probe.healthy,
    detail: probe.detail,
    managed: pid !== undefined,
    ...(pid === undefined ? {} : { pid }),
  };
}

/** Health of kafka, redis and azurite at the configured endpoints; never throws on an unhealthy one. */
export async function stackStatus(config: StackConfig, options: StackOptions = {}): Promise<StackStatus> {
  const paths = options.paths ?? stackPaths();
  const endpoints = stackEndpoints(config);
  const services = await Promise.all(
    SERVICES.map(async (service) => serviceState(service, endpoints, await probeService(config, service), managedPid(paths, service))),
  );
  return { healthy: services.every((s) => s.healthy), services };
}
