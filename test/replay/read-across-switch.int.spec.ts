/**
 * Reads of several round trips (the org's top emails, a recipient's heatmap and daily series, a
 * contact's KPIs on a version written before contact months)
 * straddling a REAL replay's switch: the read opens the live version, then, between two of its
 * round trips, `runReplay` builds the next version, switches to it and drops the old one's keys.
 * The read must still answer the full, correct result (a26c5c0, readLive), not the empty or zero
 * entries (or not_found) of the version deleted under it.
 *
 * Deterministic: the reader's own Redis client is wrapped so that its first pipeline after the
 * opening round trip waits for a whole replay (switch and drop included) before it is sent. The
 * replay runs with its own client, the live projector keeps running all along.
 */
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { createRedis } from '../../core/redis.js';
import { topicsFor } from '../../core/topics.js';
import { startProcessors, type ProcessorsHandle } from '../../processors/index.js';
import { keysFor, PACKED, type Keys } from '../../projections/keys.js';
import { queryContactKpis } from '../../projections/queries/contact-kpis.js';
import { queryOrgTop } from '../../projections/queries/org-top.js';
import { queryRecipientDaily } from '../../projections/queries/recipient-daily.js';
import { queryRecipientHeatmap } from '../../projections/queries/recipient-heatmap.js';
import { runReplay, type ReplayResult } from '../../replay/replay-runner.js';
import { snapshotVersion } from '../../replay/snapshot.js';
import { currentVersion } from '../../replay/versions.js';
import { cleanupTestResources, createTestTopics, testConfig } from '../support/env.js';
import { generateWorkload } from '../support/workload.js';
import { produceEvents } from '../processors/support/produce.js';
import { waitForProjectorAtEnd } from '../processors/support/verify.js';

type Pipeline = ReturnType<Redis['pipeline']>;

/**
 * A Redis client for the reader whose next pipeline, once `armed`, runs `between` to its end
 * before it is sent (the read's first round trip, the version check, has gone already).
 */
function straddlingClient(config: Config): { redis: Redis; arm(between: () => Promise<void>): { fired: () => boolean } } {
  const redis = createRedis(config);
  const original = redis.pipeline.bind(redis) as (...args: unknown[]) => Pipeline;
  let pending: (() => Promise<void>) | undefined;
  (redis as unknown as { pipeline: (...args: unknown[]) => Pipeline }).pipeline = (...args: unknown[]) => {
    const pipeline = original(...args);
    const between = pending;
    if (!between) return pipeline;
    pending = undefined;
    const exec = pipeline.exec.bind(pipeline);
    (pipeline as unknown as { exec: () => ReturnType<Pipeline['exec']> }).exec = async () => {
      await between();
      return exec();
    };
    return pipeline;
  };
  return {
    redis,
    arm(between) {
      let ran = false;
      pending = async () => {
        ran = true;
        await between();
      };
      return { fired: () => ran };
    },
  };
}

/** Opens per contact in the workload's expected hour-of-week slots (`hl:*` fields, per month). */
function opensByContact(contactHours: ReadonlyMap<string, Record<string, string>>): Map<string, number> {
  const opens = new Map<string, number>();
  for (const [id, fields] of contactHours) {
    const contact = id.split('/')[1]!;
    const n = Object.entries(fields).reduce((sum, [field, value]) => sum + (field.startsWith('hl:') ? Number(value) : 0), 0);
    opens.set(contact, (opens.get(contact) ?? 0) + n);
  }
  return opens;
}

/** The contact with the most opens. */
function mostOpened(contactHours: ReadonlyMap<string, Record<string, string>>): string {
  return [...opensByContact(contactHours)].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]![0];
}

function expectedOpens(contactHours: ReadonlyMap<string, Record<string, string>>, contactId: string): number {
  return opensByContact(contactHours).get(contactId) ?? 0;
}

describe('a read of several round trips across a real replay switch', () => {
  let config: Config;
  let kafka: Kafka;
  let redis: Redis;
  let reader: ReturnType<typeof straddlingClient>;
  let keys: Keys;
  let handle: ProcessorsHandle | undefined;
  const now = Date.now();
  const workload = generateWorkload({ orgs: 1, emailsPerOrg: 40, recipients: 3, seed: 77, duplicateRate: 0, privacySwitches: false, idPrefix: 'straddle' });
  const orgId = 'straddle-org-0';
  const range = { from: new Date(now - 5 * 86_400_000).toISOString().slice(0, 10), to: new Date(now).toISOString().slice(0, 10) };
  // the contact with the most opens in the workload (its heatmap and daily series are not empty)
  const contactId = mostOpened(workload.expected.contactHours);

  /** A whole replay (build, switch, drop of the old version), checked to have switched. */
  const replaySwitch = (results: ReplayResult[]) => async (): Promise<void> => {
    const result = await runReplay({ config, kafka, redis });
    expect(result.status).toBe('switched');
    results.push(result);
  };

  beforeAll(async () => {
    config = testConfig();
    kafka = createKafka(config);
    redis = createRedis(config);
    keys = keysFor(config.redisPrefix);
    reader = straddlingClient(config);
    await createTestTopics(config);
    handle = await startProcessors(config, { roles: ['projector', 'control'] });
    await produceEvents(kafka, config, workload.control);
    await produceEvents(kafka, config, workload.emails);
    await waitForProjectorAtEnd(kafka, redis, config, topicsFor(config).emails, 1);
  });

  afterAll(async () => {
    await handle?.stop();
    reader?.redis.disconnect();
    redis?.disconnect();
    if (config) await cleanupTestResources(config);
  });

  it('the org\'s top emails: the full ranking, read again on the new version', { timeout: 120_000 }, async () => {
    const before = await queryOrgTop(reader.redis, keys, orgId, range, 10, now);
    expect(before.emails).toHaveLength(10);
    expect(before.emails[0]!.uniqueOpens).toBeGreaterThan(0);
    expect(before.senders.length).toBeGreaterThan(0);

    const live = await currentVersion(redis, keys);
    const switches: ReplayResult[] = [];
    // the ranking's first pipeline (the narrow read of the emails its index walk found) waits for the switch and the drop
    const trigger = reader.arm(replaySwitch(switches));
    const during = await queryOrgTop(reader.redis, keys, orgId, range, 10, now);

    expect(trigger.fired()).toBe(true);
    expect(switches).toMatchObject([{ previous: live, version: live + 1 }]);
    expect(await currentVersion(redis, keys)).toBe(live + 1);
    expect(await snapshotVersion(redis, keys.version(live))).toEqual(new Map()); // the version the read began on is gone
    expect(during).toEqual(before);
  });

  it('a recipient\'s heatmap: every open, not not_found', { timeout: 120_000 }, async () => {
    const before = await queryRecipientHeatmap(reader.redis, keys, orgId, contactId, 'contact', now, undefined, config.historyDays);
    expect(before.totalOpens).toBe(expectedOpens(workload.expected.contactHours, contactId));
    expect(before.totalOpens).toBeGreaterThan(0);

    const live = await currentVersion(redis, keys);
    const switches: ReplayResult[] = [];
    const trigger = reader.arm(replaySwitch(switches));
    const during = await queryRecipientHeatmap(reader.redis, keys, orgId, contactId, 'contact', now, undefined, config.historyDays);

    expect(trigger.fired()).toBe(true);
    expect(switches).toMatchObject([{ previous: live, version: live + 1 }]);
    expect(during).toEqual(before);
  });

  it('a recipient\'s daily series: every day\'s counts, not zeros', { timeout: 120_000 }, async () => {
    const before = await queryRecipientDaily(reader.redis, keys, orgId, contactId, 'contact', 7, now);
    const received = [...workload.expected.contactDays].filter(([id]) => id.startsWith(`${orgId}/${contactId}/`)).reduce((sum, [, h]) => sum + Number(h.received ?? 0), 0);
    expect(before.reduce((sum, day) => sum + day.received, 0)).toBe(received);
    expect(received).toBeGreaterThan(0);

    const live = await currentVersion(redis, keys);
    const switches: ReplayResult[] = [];
    const trigger = reader.arm(replaySwitch(switches));
    const during = await queryRecipientDaily(reader.redis, keys, orgId, contactId, 'contact', 7, now);

    expect(trigger.fired()).toBe(true);
    expect(switches).toMatchObject([{ previous: live, version: live + 1 }]);
    expect(during).toEqual(before);
  });

  it('a contact\'s KPIs on a version written before contact months: best time and last open from the new version, not null', { timeout: 120_000 }, async () => {
    // the live version as one written before contact months: its contact reads take the day hashes, then the months of opens
    const live = await currentVersion(redis, keys);
    await redis.set(keys.version(live).packedRollups(), String(PACKED.contacts - 1));
    const before = await queryContactKpis(reader.redis, keys, orgId, contactId, 30, now, undefined, 'contact', config.historyDays);
    expect(before.bestTimeToEmail).not.toBeNull();
    expect(before.lastOpenedAt).not.toBeNull();

    const switches: ReplayResult[] = [];
    // the months of opens are read by a pipeline after the window's sums: the replay switches in between
    const trigger = reader.arm(replaySwitch(switches));
    const during = await queryContactKpis(reader.redis, keys, orgId, contactId, 30, now, undefined, 'contact', config.historyDays);

    expect(trigger.fired()).toBe(true);
    expect(switches).toMatchObject([{ previous: live, version: live + 1 }]);
    expect(during).toEqual(before);
  });
});
