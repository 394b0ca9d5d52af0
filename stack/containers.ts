/**
 * The same three services as docker-compose.yml, through testcontainers, for machines with a
 * Docker engine but no local Java/Redis. Chosen by TEST_STACK=docker, or automatically when
 * `java` is missing and Docker answers. TEST_STACK=local forces the local stack.
 */

import { connect } from 'node:net';
import type { Config } from '../core/config.js';
import { freePort } from '../core/net.js';
import { findExecutable } from './dependencies.js';
import { kafkaContainerEnv } from './kafka/properties.js';

export const IMAGES = {
  kafka: 'apache/kafka:3.9.1',
  redis: 'redis:7',
  azurite: 'mcr.microsoft.com/azure-storage/azurite',
} as const;

const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export async function shouldUseContainers(env: NodeJS.ProcessEnv): Promise<boolean> {
  if (env.TEST_STACK === 'local') return false;
  if (env.TEST_STACK === 'docker') return true;
  return findExecutable('java') === undefined && (await dockerAnswers(env));
}

function dockerAnswers(env: NodeJS.ProcessEnv): Promise<boolean> {
  if (env.DOCKER_HOST !== undefined && !env.DOCKER_HOST.startsWith('unix://')) return Promise.resolve(true);
  const socketPath = env.DOCKER_HOST?.replace('unix://', '') ?? '/var/run/docker.sock';
  return new Promise((resolve) => {
    const socket = connect({ path: socketPath });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('GET /_ping HTTP/1.0\r\n\r\n'));
    socket.once('data', (chunk) => done(chunk.toString().includes(' 200 ')));
  });
}

export async function startContainers(
  config: Pick<Config, 'kafkaPartitions'>,
): Promise<{ env: Record<'KAFKA_BROKERS' | 'REDIS_URL' | 'AZURE_STORAGE_CONNECTION_STRING', string>; stop: () => Promise<void> }> {
  const { GenericContainer, Wait } = await import('testcontainers');
  // Kafka advertises the address clients use, so the host port must be known before start.
  const kafkaPort = await freePort();
  const kafkaEnv = {
    ...kafkaContainerEnv({
      host: '127.0.0.1',
      listenHost: '0.0.0.0',
      port: kafkaPort,
      controllerPort: 9093,
      dataDir: '/var/lib/kafka/data',
      partitions: config.kafkaPartitions,
    }),
    KAFKA_HEAP_OPTS: '-Xmx512m -Xms256m',
  };
  const [kafka, redis, azurite] = await Promise.all([
    new GenericContainer(IMAGES.kafka)
      .withEnvironment(kafkaEnv)
      .withExposedPorts({ container: kafkaPort, host: kafkaPort })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .withStartupTimeout(120_000)
      .start(),
    new GenericContainer(IMAGES.redis).withCommand(['redis-server', '--save', '', '--appendonly', 'no']).withExposedPorts(6379).start(),
    new GenericContainer(IMAGES.azurite)
      .withCommand(['azurite-blob', '--blobHost', '0.0.0.0', '--disableTelemetry', '--skipApiVersionCheck', '--loose'])
      .withExposedPorts(10000)
      .start(),
  ]);
  const blobEndpoint = `http://${azurite.getHost()}:${azurite.getMappedPort(10000)}/devstoreaccount1`;
  return {
    env: {
      KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
      REDIS_URL: `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`,
      AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};BlobEndpoint=${blobEndpoint};`,
    },
    stop: async () => {
      await Promise.all([kafka.stop(), redis.stop(), azurite.stop()]);
    },
  };
}
