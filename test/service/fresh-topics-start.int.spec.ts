/**
 * Starting right after the topics were created: the broker may still answer ListOffsets with
 * NOT_LEADER_FOR_PARTITION while the new partitions' leadership settles (createTopics'
 * waitForLeaders sees leaders in the metadata a moment before they serve). Each start reads topic
 * ends (the keyring's and the control reader's catch-up); the read must retry that, not fail the
 * start. Looped: one fresh set of topics fails a start without the retry only some of the time.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from '../../api/server.js';
import type { Config } from '../../core/config.js';
import { startProcessors } from '../../processors/index.js';
import { ensureTopics } from '../../stack/index.js';
import { cleanupTestResources, testConfig } from '../support/env.js';

/** Enough rounds to have failed a start most runs before the retry (about one round in three did). */
const ROUNDS = 10;

const created: Config[] = [];
afterEach(async () => {
  for (const config of created.splice(0)) await cleanupTestResources(config);
});

/** A config whose topics were created just now, as `stack up` and the bench create them (waitForLeaders, 6 partitions). */
async function freshTopics(): Promise<Config> {
  const config = testConfig({ PORT: '0' });
  created.push(config);
  await ensureTopics(config);
  return config;
}

describe('a start on topics created a moment ago', () => {
  it('the API starts every time', async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const config = await freshTopics();
      const server = await startServer(config).catch((error: unknown) => error as Error);
      if (server instanceof Error) {
        outcomes.push(`failed: ${server.message}`);
        continue;
      }
      // it listens before it reaches Kafka: ready means the control and keys topics read, too
      const reached = await Promise.race([server.kafkaReached().then(() => true, () => false), new Promise<false>((resolve) => setTimeout(() => resolve(false), 30_000))]);
      const body = (await (await fetch(`${server.url}/readyz`)).json()) as { kafka: boolean };
      outcomes.push(reached && body.kafka ? 'ready' : 'not ready');
      await server.close();
    }
    expect(outcomes).toEqual(Array(ROUNDS).fill('ready'));
  });

  it('the processors (control reader and keyring) start every time', async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const config = await freshTopics();
      const processors = await startProcessors(config, { roles: ['control', 'projector'] }).catch((error: unknown) => error as Error);
      if (processors instanceof Error) {
        outcomes.push(`failed: ${processors.message}`);
        continue;
      }
      outcomes.push('started');
      await processors.stop();
    }
    expect(outcomes).toEqual(Array(ROUNDS).fill('started'));
  });
});
