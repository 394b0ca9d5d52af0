import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { isEngagementError } from '../../core/errors.js';
import { createKafka } from '../../core/kafka.js';
import { createRedis } from '../../core/redis.js';
import { topicsFor } from '../../core/topics.js';
import { startProcessors, type ProcessorsHandle } from '../../processors/index.js';
import { keysFor } from '../../projections/keys.js';
import { queryEmailKpis } from '../../projections/queries/email-kpis.js';
import { queryRollupKpis } from '../../projections/queries/rollup-kpis.js';
import { diffSnapshots, type Snapshot } from '../../replay/diff.js';
import { runReplay } from '../../replay/replay-runner.js';
import { snapshotVersion } from '../../replay/snapshot.js';
import { runVerify } from '../../replay/verify.js';
import { currentVersion, dropVersion, listedVersions, readCheckpoint } from '../../replay/versions.js';
import type { OrgEngagementEnabled, OrgPurged } from '../../schemas/events.js';
import { cleanupTestResources, createTestTopics, testConfig, waitFor } from '../support/env.js';
import { generateWorkload } from '../support/workload.js';
import { garbageRecords, produceEvents, produceRaw } from '../processors/support/produce.js';
import { highWatermarkTotal, projectionMismatches, storedOffsetTotal, waitForProjectorAtEnd } from '../processors/support/verify.js';

/**
 * `engagement replay` against the real stack, with the live projector running all along:
 * a mixed workload (disable/re-enable, opt-out, duplicates, machines) plus a purged org.
 */
describe('replay rebuilds the projection blue/green, exactly', () => {
  let config: Config;
  let kafka: Kafka;
  let redis: Redis;
  let handle: ProcessorsHandle | undefined;
  let baseline: Snapshot;
  const startAt = Math.floor((Date.now() - 2 * 86_400_000) / 3_600_000) * 3_600_000;
  const main = generateWorkload({ orgs: 3, emailsPerOrg: 200, recipients: 3, seed: 21, startAt });
  const purgedOrg = generateWorkload({ orgs: 1, emailsPerOrg: 80, recipients: 3, seed: 22, startAt, idPrefix: 'purged', privacySwitches: false });
  const purge: OrgPurged = { type: 'OrgPurged', eventId: randomUUID(), orgId: 'purged-org-0', occurredAt: startAt + 18 * 3_600_000 };
  // After a purge the org is disabled until an administrator enables it again: here 1 ms later.
  const reenable: OrgEngagementEnabled = { type: 'OrgEngagementEnabled', eventId: randomUUID(), orgId: 'purged-org-0', occurredAt: purge.occurredAt + 1 };
  const later = generateWorkload({ orgs: 1, emailsPerOrg: 60, recipients: 3, seed: 23, startAt, idPrefix: 'later', privacySwitches: false });
  const deps = (): { config: Config; kafka: Kafka; redis: Redis } => ({ config, kafka, redis });
  const topic = (): string => topicsFor(config).emails;
  const caughtUp = (version: number): Promise<void> => waitForProjectorAtEnd(kafka, redis, config, topic(), version);

  beforeAll(async () => {
    config = testConfig();
    kafka = createKafka(config);
    redis = createRedis(config);
    await createTestTopics(config);
    handle = await startProcessors(config, { roles: ['projector', 'control'] });
    await produceEvents(kafka, config, [...main.control, ...purgedOrg.control, purge, reenable]);
    await produceEvents(kafka, config, [...main.emails, ...purgedOrg.emails]);
    await produceRaw(kafka, topicsFor(config).emails, garbageRecords());
    await caughtUp(1);
    baseline = await snapshotVersion(redis, keysFor(config.redisPrefix).version(1));
  });

  afterAll(async () => {
    await handle?.stop();
    redis?.disconnect();
    if (config) await cleanupTestResources(config);
  });

  it('the live run is what the workload expects, purge included', async () => {
    expect(await projectionMismatches(redis, config, main.expected)).toEqual([]);
    expect(baseline.size).toBeGreaterThan(100);
    expect([...baseline.keys()].some((k) => k.includes('purged-org-0'))).toBe(true); // events after the purge and the re-enable stay
    // the projector started on an empty version 1: its org reads take the month hashes
    expect(await redis.exists(keysFor(config.redisPrefix).version(1).packedRollups())).toBe(1);
    expect([...baseline.keys()].some((k) => k.startsWith('orgm:'))).toBe(true);
  });

  it('replays into v2 while queries run: never a half-built answer, then exactly the live KPIs', { timeout: 120_000 }, async () => {
    const k = keysFor(config.redisPrefix);
    const probes = main.emails.filter((e) => e.type === 'EmailSent').slice(0, 40).map((e) => [e.orgId, e.emailId] as const);
    const ask = async (): Promise<string> =>
      JSON.stringify(
        await Promise.all([
          ...probes.map(([org, email]) => queryEmailKpis(redis, k, org, email).catch((e: unknown) => (isEngagementError(e) ? e.code : 'error'))),
          ...main.control.filter((c) => c.type === 'OrgEngagementEnabled').map((c) => queryRollupKpis(redis, k, c.orgId, { kind: 'org' }, {}, Date.now(), config.historyDays)),
        ]),
      );
    const expected = await ask();
    const answers: string[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) answers.push(await ask());
    })();
    const progress: Array<{ records: number; lag: number; total: number }> = [];
    const result = await runReplay(deps(), { onProgress: (p) => progress.push({ records: p.counters.records, lag: p.lag, total: p.total }) }).finally(() => {
      polling = false;
    });
    await poller;

    expect(result).toMatchObject({ status: 'switched', version: 2, previous: 1, resumed: false });
    expect(result.counters.records).toBe(await highWatermarkTotal(kafka, topic()));
    // the bar ends full, and never counted a folded record twice (read + still to read)
    expect(progress.at(-1)).toEqual({ records: result.counters.records, lag: 0, total: result.counters.records });
    expect(Math.max(...progress.map((p) => p.total))).toBeLessThanOrEqual(result.counters.records);
    expect(result.counters.gatedOut.org_purged).toBeGreaterThan(0);
    expect(result.counters.gatedOut.org_disabled).toBe(main.expected.gatedOutRecords.org_disabled);
    expect(result.counters.gatedOut.contact_opted_out).toBe(main.expected.gatedOutRecords.contact_opted_out);
    expect(result.counters.deadLetters).toBe(garbageRecords().length);
    expect(result.counters.duplicates).toBeGreaterThan(0);
    expect(answers.length).toBeGreaterThan(3);
    expect(answers.filter((a) => a !== expected)).toEqual([]);
    expect(await currentVersion(redis, k)).toBe(2);
    expect(diffSnapshots(baseline, await snapshotVersion(redis, k.version(2)))).toEqual([]);
    expect(await snapshotVersion(redis, k.version(1))).toEqual(new Map()); // the old version is dropped
    expect(await listedVersions(redis, k)).toEqual([2]);
    process.stderr.write(`replay: ${result.counters.records} records in ${result.elapsedMs} ms (${result.eventsPerSecond}/s)\n`);
  });

  it('after flushing the live version, a replay brings back exactly the same KPIs', { timeout: 120_000 }, async () => {
    const k = keysFor(config.redisPrefix);
    const live = await currentVersion(redis, k);
    // the flush: every key of the live version, offsets included
    await redis.srem(k.projectionVersions(), String(live));
    await redis.set(k.currentVersion(), String(live + 100)); // let dropVersion delete the live keys
    await dropVersion(redis, k, live);
    await redis.set(k.currentVersion(), String(live));
    expect(await snapshotVersion(redis, k.version(live))).toEqual(new Map());
    const result = await runReplay(deps());
    expect(result).toMatchObject({ status: 'switched', version: live + 1, previous: live });
    expect(diffSnapshots(baseline, await snapshotVersion(redis, k.version(live + 1)))).toEqual([]);
  });

  it('a fresh fold written in many writes, each applied while the next batches fold, gives exactly the live KPIs', { timeout: 120_000 }, async () => {
    const k = keysFor(config.redisPrefix);
    const live = await currentVersion(redis, k);
    const flushRecords = 40;
    const result = await runReplay(deps(), { maxBytesPerPartition: 4_096, flushRecords });
    expect(result).toMatchObject({ status: 'switched', version: live + 1, previous: live, resumed: false });
    expect(result.counters.foldSpilledAt).toBeNull();
    expect(result.counters.records).toBe(await highWatermarkTotal(kafka, topic()));
    // written while the build went on, not once at its end (the broker hands out the producer's batches whole,
    // whatever the fetch size, so how many writes depends on how the batches interleave)
    expect(result.counters.foldWrites).toBeGreaterThanOrEqual(2);
    expect(result.counters.largestFoldWrite).toBeLessThan(result.counters.records);
    expect(diffSnapshots(baseline, await snapshotVersion(redis, k.version(live + 1)))).toEqual([]);
  });

  it('an interrupted replay leaves a checkpoint and resumes to the exact KPIs', { timeout: 120_000 }, async () => {
    const k = keysFor(config.redisPrefix);
    const live = await currentVersion(redis, k);
    const stopped = await runReplay(deps(), { stopAfterBatches: 3, maxBytesPerPartition: 16_384 });
    expect(stopped).toMatchObject({ status: 'interrupted', version: live + 1, previous: live });
    expect(await currentVersion(redis, k)).toBe(live);
    expect((await readCheckpoint(redis, k, live + 1))?.status).toBe('building');
    const partial = await storedOffsetTotal(redis, config, topic(), live + 1);
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(await highWatermarkTotal(kafka, topic()));

    const resumed = await runReplay(deps());
    expect(resumed).toMatchObject({ status: 'switched', version: live + 1, previous: live, resumed: true });
    expect(resumed.counters.records).toBe((await highWatermarkTotal(kafka, topic())) - partial);
    expect(diffSnapshots(baseline, await snapshotVersion(redis, k.version(live + 1)))).toEqual([]);
  });

  it('a replay whose fold outgrows its memory budget writes what it folded, goes on per batch, and gives exactly the live KPIs', { timeout: 120_000 }, async () => {
    const k = keysFor(config.redisPrefix);
    const live = await currentVersion(redis, k);
    let folds = 0;
    // the heap "fills" after the third fold, while the other partitions are still folding
    const foldBudget = { maxBytes: 1_000, heapUsed: () => (++folds > 3 ? 2_000 : 0) };
    const result = await runReplay(deps(), { maxBytesPerPartition: 16_384, foldBudget });
    expect(result).toMatchObject({ status: 'switched', version: live + 1, previous: live, resumed: false });
    expect(result.counters.foldSpilledAt).toBeGreaterThan(0);
    expect(result.counters.foldSpilledAt).toBeLessThan(result.counters.records);
    expect(result.counters.records).toBe(await highWatermarkTotal(kafka, topic()));
    expect(result.counters.deadLetters).toBe(garbageRecords().length);
    expect(diffSnapshots(baseline, await snapshotVersion(redis, k.version(live + 1)))).toEqual([]);
  });

  it('a replay whose consumer group rebalances mid-build (a member joins and leaves) goes on from where it was, to exactly the live KPIs', { timeout: 120_000 }, async () => {
    const k = keysFor(config.redisPrefix);
    const live = await currentVersion(redis, k);
    // After a rebalance kafkajs fetches a partition from its committed offset, and a build commits
    // none: from the log start, before everything the build has folded.
    let intruder: ReturnType<Kafka['consumer']> | undefined;
    let joined: Promise<void> | undefined;
    const join = async (): Promise<void> => {
      const admin = kafka.admin();
      await admin.connect();
      const groups = await admin.listGroups().finally(() => admin.disconnect());
      const groupId = groups.groups.map((g) => g.groupId).find((g) => g.startsWith(`${config.topicPrefix}.replay.`) && !/control-reader|keyring/.test(g))!;
      intruder = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500 });
      await intruder.connect();
      await intruder.subscribe({ topic: topic(), fromBeginning: true });
      let batches = 0;
      await intruder.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => void batches++ });
      await waitFor(async () => batches > 0, { message: 'the intruder was assigned partitions' });
      await intruder.disconnect(); // a second rebalance: every partition back to the build, fetched from the log start
    };
    const result = await runReplay(deps(), {
      maxBytesPerPartition: 16_384,
      onProgress: (p) => {
        if (p.counters.records > 0 && !joined) joined = join();
      },
    });
    await joined;
    expect(intruder).toBeDefined();
    expect(result).toMatchObject({ status: 'switched', version: live + 1, previous: live });
    expect(result.counters.records).toBe(await highWatermarkTotal(kafka, topic()));
    expect(diffSnapshots(baseline, await snapshotVersion(redis, k.version(live + 1)))).toEqual([]);
  });

  it('refuses a second concurrent replay with a clear message', { timeout: 120_000 }, async () => {
    const k = keysFor(config.redisPrefix);
    const first = runReplay(deps(), { holder: 'ops-laptop:4242' });
    await waitFor(async () => (await redis.get(k.replayLock())) !== null, { message: 'first replay holds the lock' });
    const second = await runReplay(deps(), { holder: 'other' }).catch((e: unknown) => e);
    expect(isEngagementError(second, 'replay_locked')).toBe(true);
    expect((second as Error).message).toMatch(/^a replay is already running \(started \d{4}-\d\d-\d\dT.* by ops-laptop:4242\); wait for it/);
    expect((await first).status).toBe('switched');
    expect(await redis.get(k.replayLock())).toBeNull();
  });

  it('a replay while new events flow: after the switch the live projector projects them into the new version exactly once', { timeout: 120_000 }, async () => {
    const k = keysFor(config.redisPrefix);
    const before = await currentVersion(redis, k);
    await produceEvents(kafka, config, later.control);
    const half = Math.floor(later.emails.length / 2);
    await produceEvents(kafka, config, later.emails.slice(0, 200));
    const producing = (async () => {
      for (let at = 200; at < later.emails.length; at += 100) await produceEvents(kafka, config, later.emails.slice(at, at + 100));
    })();
    // the default lag threshold: the switch waits at the barrier (the live projector held) while events keep coming
    const result = await runReplay(deps());
    await producing;
    expect(result).toMatchObject({ status: 'switched', previous: before });
    expect(half).toBeGreaterThan(100);
    const live = await currentVersion(redis, k);
    expect(live).toBe(result.version);
    await produceEvents(kafka, config, later.emails.slice(0, 50)); // re-sent after the switch: counted once
    await caughtUp(live);
    expect(await projectionMismatches(redis, config, later.expected, live)).toEqual([]);
    expect(await projectionMismatches(redis, config, main.expected, live)).toEqual([]);
    expect((handle!.stats().projector as { records: number }).records).toBeGreaterThan(0);
    const verify = await runVerify(deps());
    expect(verify).toMatchObject({ liveVersion: live, consistent: true, differences: [] });
    expect(verify.keysCompared).toBeGreaterThan(baseline.size);
    expect(await listedVersions(redis, k)).toEqual([live]); // the scratch version is gone
  });

  it('a live version written before packed rollups is read from its day hashes, verifies clean, and a replay packs it', { timeout: 120_000 }, async () => {
    const k = keysFor(config.redisPrefix);
    const live = await currentVersion(redis, k);
    const lk = k.version(live);
    const orgs = [...new Set(main.control.filter((c) => c.type === 'OrgEngagementEnabled').map((c) => c.orgId))];
    const read = (): Promise<string> => Promise.all(orgs.map((org) => queryRollupKpis(redis, k, org, { kind: 'org' }, {}, Date.now(), config.historyDays))).then(JSON.stringify);
    const expected = await read();
    expect(expected).toMatch(/"opens":[1-9]/);
    expect(await redis.exists(lk.packedRollups())).toBe(1);
    // as an upgrade finds it: no marker, month hashes only for some days (those written since)
    let removed = 0;
    for (const org of orgs) {
      const months = (await redis.smembers(lk.orgIndex(org))).filter((key) => /:(orgm|senderm|templatem):/.test(key));
      const gone = months.filter((_, i) => i % 2 === 0);
      removed += gone.length;
      if (gone.length > 0) await redis.multi().unlink(...gone).srem(lk.orgIndex(org), ...gone).exec();
    }
    expect(removed).toBeGreaterThan(0);
    await redis.del(lk.packedRollups());
    expect(await read()).toBe(expected);
    const verify = await runVerify(deps());
    expect(verify).toMatchObject({ liveVersion: live, consistent: true, differences: [] });
    const result = await runReplay(deps());
    expect(result.status).toBe('switched');
    expect(await redis.exists(k.version(result.version).packedRollups())).toBe(1);
    expect(await read()).toBe(expected);
  });
});
