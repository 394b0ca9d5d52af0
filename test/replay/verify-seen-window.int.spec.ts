import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { createRedis } from '../../core/redis.js';
import { topicsFor } from '../../core/topics.js';
import { startProcessors, type ProcessorsHandle } from '../../processors/index.js';
import { dayOf, keysFor } from '../../projections/keys.js';
import { runVerify } from '../../replay/verify.js';
import { cleanupTestResources, createTestTopics, testConfig } from '../support/env.js';
import { generateWorkload } from '../support/workload.js';
import { produceEvents } from '../processors/support/produce.js';
import { waitForProjectorAtEnd } from '../processors/support/verify.js';

const DAY = 86_400_000;

/**
 * `replay --verify` on a live projection older than the de-duplication window: the live version's
 * seen sets of old days are gone (Redis expired them SEEN_TTL after the projector wrote them), the
 * rebuild writes them again. That is no difference; a seen set of a recent day still is compared.
 */
describe('verify and the seen sets past the de-duplication window', () => {
  let config: Config;
  let kafka: Kafka;
  let redis: Redis;
  let live: ProcessorsHandle | undefined;
  const old = generateWorkload({ orgs: 1, emailsPerOrg: 30, recipients: 2, seed: 51, startAt: Math.floor((Date.now() - 20 * DAY) / DAY) * DAY, privacySwitches: false });
  const recent = generateWorkload({ orgs: 1, emailsPerOrg: 10, recipients: 2, seed: 52, idPrefix: 'recent', privacySwitches: false });
  const oldDays = new Set(old.emails.map((e) => dayOf(e.occurredAt)));

  beforeAll(async () => {
    config = testConfig();
    kafka = createKafka(config);
    redis = createRedis(config);
    await createTestTopics(config);
    live = await startProcessors(config, { roles: ['projector', 'control'] });
    await produceEvents(kafka, config, [...old.control, ...recent.control]);
    await produceEvents(kafka, config, [...old.emails, ...recent.emails]);
    await waitForProjectorAtEnd(kafka, redis, config, topicsFor(config).emails);
    // what Redis does to the live version's seen sets of those days once the window has passed
    const v1 = keysFor(config.redisPrefix).version(1);
    for (const day of oldDays) expect(await redis.del(v1.seen(day))).toBe(1);
  }, 120_000);

  afterAll(async () => {
    await live?.stop();
    redis?.disconnect();
    if (config) await cleanupTestResources(config);
  });

  it('finds no difference in the seen sets of days past the window', { timeout: 120_000 }, async () => {
    expect(oldDays.size).toBeGreaterThan(0);
    const result = await runVerify({ config, kafka, redis });
    expect(result.differences).toEqual([]);
  });

  it('still compares the seen sets of recent days', { timeout: 120_000 }, async () => {
    const v1 = keysFor(config.redisPrefix).version(1);
    const today = recent.emails.map((e) => dayOf(e.occurredAt)).sort().at(-1)!;
    const member = (await redis.srandmember(v1.seen(today)))!;
    await redis.srem(v1.seen(today), member);
    const result = await runVerify({ config, kafka, redis });
    expect(result.differences.map((d) => d.key)).toEqual([`seen:${today}`]);
    await redis.sadd(v1.seen(today), member);
  });
});
