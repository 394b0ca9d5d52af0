import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { createRedis } from '../../core/redis.js';
import { topicsFor } from '../../core/topics.js';
import { startProcessors, type ProcessorsHandle } from '../../processors/index.js';
import { emailSentEventId } from '../../producers/email/decide-send.js';
import { dayOf, keysFor } from '../../projections/keys.js';
import { queryEmailKpis } from '../../projections/queries/email-kpis.js';
import { queryRollupKpis } from '../../projections/queries/rollup-kpis.js';
import { diffSnapshots } from '../../replay/diff.js';
import { runReplay } from '../../replay/replay-runner.js';
import { snapshotVersion } from '../../replay/snapshot.js';
import { encodeEvent } from '../../schemas/codec.js';
import type { EmailSent } from '../../schemas/events.js';
import { cleanupTestResources, createTestTopics, testConfig } from '../support/env.js';
import { fixture } from '../support/fixtures.js';
import { produceEvents, produceRaw } from './support/produce.js';
import { waitForProjectorAtEnd } from './support/verify.js';

/**
 * DESIGN §2 and §4 on the real stack, through the real processors and then `runReplay`:
 * one email sent, retried the next day and again 9 days later (past the seen sets' window),
 * is one email; a record stamped an hour after its own Kafka timestamp is dead-lettered and a
 * 30-day backfill is collected, live and in the replay alike.
 */
const DAY = 86_400_000;
const ORG = 'det-org';
const today = Math.floor(Date.now() / DAY) * DAY;
const firstSentAt = today - 12 * DAY + 9 * 3_600_000;
const send = (occurredAt: number, overrides: Partial<EmailSent> = {}): EmailSent =>
  fixture('EmailSent', { orgId: ORG, emailId: 'e-retried', eventId: emailSentEventId(ORG, 'e-retried'), occurredAt, ...overrides });
const first = send(firstSentAt);
const retryNextDay = send(firstSentAt + DAY + 3_600_000, { senderId: 's-2' });
const retryNineDaysLater = send(retryNextDay.occurredAt + 9 * DAY);
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe('one email is one email, and live and replay decide alike', () => {
  let config: Config;
  let kafka: Kafka;
  let redis: Redis;
  let handle: ProcessorsHandle | undefined;
  const topic = (): string => topicsFor(config).emails;
  const caughtUp = (version: number): Promise<void> => waitForProjectorAtEnd(kafka, redis, config, topic(), version);

  beforeAll(async () => {
    config = testConfig();
    kafka = createKafka(config);
    redis = createRedis(config);
    await createTestTopics(config);
    handle = await startProcessors(config, { roles: ['projector', 'control'] });
    await produceEvents(kafka, config, [fixture('OrgEngagementEnabled', { orgId: ORG, occurredAt: today - 60 * DAY })]);
    await produceEvents(kafka, config, [first]);
    await caughtUp(1);
    await produceEvents(kafka, config, [retryNextDay]);
    await caughtUp(1);
    await produceEvents(kafka, config, [retryNineDaysLater, fixture('EmailOpened', { orgId: ORG, emailId: 'e-retried', occurredAt: retryNineDaysLater.occurredAt + 60_000 })]);
    // written now by a plain producer (CreateTime = now): one stamped an hour ahead of its record, one a 30-day backfill,
    // and one of an org never enabled
    await produceRaw(kafka, topic(), [
      { key: `${ORG}/e-future`, value: encodeEvent(fixture('EmailSent', { orgId: ORG, emailId: 'e-future', occurredAt: Date.now() + 3_600_000 })) },
      { key: `${ORG}/e-backfill`, value: encodeEvent(fixture('EmailSent', { orgId: ORG, emailId: 'e-backfill', occurredAt: today - 30 * DAY })) },
      { key: 'off-org/e-1', value: encodeEvent(fixture('EmailSent', { orgId: 'off-org', occurredAt: today - DAY })) },
    ]);
    await caughtUp(1);
  });

  afterAll(async () => {
    await handle?.stop();
    redis?.disconnect();
    if (config) await cleanupTestResources(config);
  });

  it('counts the retried send once: email recipients and the org rollup exact, the first send wins', async () => {
    const k = keysFor(config.redisPrefix);
    const email = await queryEmailKpis(redis, k, ORG, 'e-retried');
    expect(email).toMatchObject({ recipients: 2, followedRecipients: 1, opens: 1 });
    const rollup = await queryRollupKpis(redis, k, ORG, { kind: 'org' }, { from: iso(today - 40 * DAY), to: iso(today) }, Date.now(), config.historyDays);
    expect(rollup).toMatchObject({ emails: 2, recipients: 4, followedRecipients: 2 }); // e-retried and e-backfill
    const byDay = new Map(rollup.daily.map((d) => [d.date, d]));
    expect(byDay.get(iso(firstSentAt))).toMatchObject({ emails: 1, recipients: 2 });
    for (const retry of [retryNextDay, retryNineDaysLater]) expect(byDay.get(iso(retry.occurredAt))).toMatchObject({ emails: 0, recipients: 0 });
    const stored = await redis.hmget(k.version(1).email(ORG, 'e-retried'), 'sentAt', 'senderId');
    expect(stored).toEqual([String(firstSentAt), 's-1']);
    expect(await redis.hgetall(k.version(1).senderDay(ORG, 's-2', dayOf(retryNextDay.occurredAt)))).toEqual({});
  });

  it('a replay dead-letters and gates exactly what the live run did, and rebuilds the same projection', { timeout: 120_000 }, async () => {
    const live = handle!.stats().projector as { gatedOut: Record<string, number>; deadLettered: number; duplicates: number };
    expect(live.deadLettered).toBe(1); // the future-stamped record
    expect(live.gatedOut.org_disabled).toBe(1);
    const k = keysFor(config.redisPrefix);
    const baseline = await snapshotVersion(redis, k.version(1));
    const result = await runReplay({ config, kafka, redis }, { lagThreshold: 0 }); // the builder folds every record itself
    expect(result).toMatchObject({ status: 'switched', version: 2 });
    expect(result.counters.deadLetters).toBe(live.deadLettered);
    expect(result.counters.gatedOut).toEqual(live.gatedOut);
    // seen sets are de-duplication bookkeeping, not KPIs: live, the retry came in its own batch and was
    // added to its day's set; the replay dropped it as an in-batch duplicate first
    const kpiDiff = diffSnapshots(baseline, await snapshotVersion(redis, k.version(2))).filter((d) => !d.key.startsWith('seen:'));
    expect(kpiDiff).toEqual([]);
    expect(await queryEmailKpis(redis, k, ORG, 'e-backfill')).toMatchObject({ recipients: 2 });
  });
});
