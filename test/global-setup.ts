import type { TestProject } from 'vitest/node';
import { loadConfig } from '../core/config.js';
import { stackDown, stackUp } from '../stack/index.js';
import type { StackEnv } from './support/env.js';

/**
 * Gives the tests a real stack:
 * 1. KAFKA_BROKERS, REDIS_URL and AZURE_STORAGE_CONNECTION_STRING all set: use them as they are;
 * 2. otherwise the local stack (`stackUp`), stopping at teardown only what this run started, so
 *    `npm test` leaves no stray processes and a stack the user started keeps running;
 * 3. TEST_STACK=docker (or no Java but a Docker engine): testcontainers, see stack/containers.ts.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const env = process.env;
  if (env.KAFKA_BROKERS && env.REDIS_URL && env.AZURE_STORAGE_CONNECTION_STRING) {
    project.provide('stackEnv', {
      KAFKA_BROKERS: env.KAFKA_BROKERS,
      REDIS_URL: env.REDIS_URL,
      AZURE_STORAGE_CONNECTION_STRING: env.AZURE_STORAGE_CONNECTION_STRING,
    });
    return async () => undefined;
  }

  const { shouldUseContainers, startContainers } = await import('../stack/containers.js');
  if (await shouldUseContainers(env)) {
    const containers = await startContainers(loadConfig(env));
    project.provide('stackEnv', containers.env satisfies StackEnv);
    return containers.stop;
  }

  const config = loadConfig(env);
  const result = await stackUp(config);
  if (result.started.length > 0) process.stderr.write(`test stack: started ${result.started.join(', ')}\n`);
  project.provide('stackEnv', {
    KAFKA_BROKERS: config.kafkaBrokers.join(','),
    REDIS_URL: config.redisUrl,
    AZURE_STORAGE_CONNECTION_STRING: config.azureConnectionString,
  });
  return async () => {
    if (result.started.length === 0) return;
    const down = await stackDown({ services: result.started });
    process.stderr.write(`test stack: stopped ${down.stopped.map((s) => `${s.service} (${s.outcome})`).join(', ')}\n`);
  };
}
