/**
 * Retention's sweep of purged orgs' data keys (9159d3b) judged by the key an org seals with
 * (ad057fa, Keyring.generations and the sweep reading the keys topic to its end first): an org
 * purged (key K1 destroyed) and enabled again (a NEW key K2, created after the purge) keeps K2,
 * even when the keyring the sweep asks has not read the topic to its end at that moment:
 *   - a keyring that rejoined its group reads the topic again from its start: until it passes the
 *     purge's tombstone again, K1 is back in the org's keys;
 *   - a keyring lagging behind the topic still holds K1 and has not read the tombstone nor K2.
 * Either way the sweep must not take K1's creation time for the org's, see the purge fence after
 * it, and destroy K2 (the re-enabled org's records in the log would be unreadable from then on).
 *
 * Deterministic: the sweep's keyring reads one record batch per fetch (each key record is its own
 * produce) and is held just before the tombstone's batch until the sweep first asks it anything.
 */
import type { Batch, Consumer, ConsumerRunConfig, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { Keyring, type DataKey } from '../../core/keys/keyring.js';
import { createRedis } from '../../core/redis.js';
import { topicsFor } from '../../core/topics.js';
import { keysFor } from '../../projections/keys.js';
import { fencePurge } from '../../projections/purge-fence.js';
import { connectRetention } from '../../retention/connect.js';
import { runRetention, type RetentionDeps } from '../../retention/run-retention.js';
import { cleanupTestResources, createTestTopics, randomSuffix, testConfig, testGroupId, waitFor } from '../support/env.js';

/** Holds a consumer's batches, once armed, before the first one `matches` passes, until released. */
class BatchGate {
  private matches: ((batch: Batch) => boolean) | undefined;
  private release_: (() => void) | undefined;
  private reached_: (() => void) | undefined;
  /** resolves once a matching batch is held */
  reached: Promise<void> = Promise.resolve();

  arm(matches: (batch: Batch) => boolean): void {
    this.matches = matches;
    this.reached = new Promise((resolve) => (this.reached_ = resolve));
  }

  release(): void {
    this.matches = undefined;
    this.release_?.();
    this.release_ = undefined;
  }

  async before(batch: Batch): Promise<void> {
    if (!this.matches?.(batch)) return;
    this.matches = undefined;
    const released = new Promise<void>((resolve) => (this.release_ = resolve));
    this.reached_?.();
    await released;
  }
}

/**
 * `kafka` whose consumers fetch one record batch at a time and pass each batch through `gate`
 * before the consumer's own handler; `groups` collects their group ids.
 */
function gatedKafka(kafka: Kafka, gate: BatchGate, groups: string[]): Kafka {
  return {
    admin: (...args: Parameters<Kafka['admin']>) => kafka.admin(...args),
    producer: (...args: Parameters<Kafka['producer']>) => kafka.producer(...args),
    consumer: (config: Parameters<Kafka['consumer']>[0]) => {
      groups.push(config.groupId);
      const consumer: Consumer = kafka.consumer({ ...config, maxBytesPerPartition: 1 });
      const run = consumer.run.bind(consumer);
      consumer.run = (runConfig?: ConsumerRunConfig) =>
        run({
          ...runConfig,
          eachBatch: async (payload) => {
            await gate.before(payload.batch);
            await runConfig!.eachBatch!(payload);
          },
        });
      return consumer;
    },
  } as unknown as Kafka;
}

/** What the sweep is given: the keyring, the gate let go the moment the sweep first asks for its keys. */
function sweepKeys(keyring: Keyring, gate: BatchGate): RetentionDeps['dataKeys'] {
  return {
    destroy: (orgId) => keyring.destroy(orgId),
    rollSegments: () => keyring.rollSegments(),
    generations: () => {
      gate.release(); // (the batch held goes on only after this returns)
      return keyring.generations();
    },
    caughtUp: async () => {
      gate.release();
      await keyring.caughtUp();
    },
  } as RetentionDeps['dataKeys'];
}

const isTombstoneOf = (orgId: string) => (batch: Batch): boolean => batch.messages.some((m) => m.key?.toString() === orgId && m.value === null);

describe('retention\'s sweep of purged orgs\' keys and an org enabled again after its purge', () => {
  let config: Config;
  let kafka: Kafka;
  const rings: Keyring[] = [];
  const ring = async (name: string, via: Kafka = kafka): Promise<Keyring> => {
    const keyring = new Keyring({ kafka: via, topic: topicsFor(config).keys, masterKeys: config.masterKeys, groupPrefix: testGroupId(config, name) });
    rings.push(keyring);
    await keyring.start();
    return keyring;
  };

  beforeAll(async () => {
    config = testConfig();
    kafka = createKafka(config);
    await createTestTopics(config, 1);
  });
  afterAll(async () => {
    for (const keyring of rings) await keyring.stop().catch(() => undefined);
    if (config) await cleanupTestResources(config);
  });

  /**
   * The org's first key K1; its purge (the fence retention's control role writes, after K1's
   * creation; K1 destroyed); K2 created after the purge (enabled again). `between` runs after K1.
   */
  async function purgedAndBack(orgId: string, writer: Keyring, between: () => Promise<void> = async () => undefined): Promise<{ k1: DataKey; k2: DataKey; k2CreatedAt: number }> {
    const k1 = await writer.ensure(orgId);
    await between();
    const redis = createRedis(config);
    try {
      const purgedAt = Math.max(Date.now(), writer.generations().get(orgId)!);
      await fencePurge(redis, keysFor(config.redisPrefix), orgId, purgedAt);
      await writer.destroy(orgId);
      await waitFor(() => Date.now() > purgedAt, { message: 'the clock past the purge' });
    } finally {
      redis.disconnect();
    }
    const k2 = await writer.ensure(orgId);
    expect(k2.keyId).not.toBe(k1.keyId);
    return { k1, k2, k2CreatedAt: writer.generations().get(orgId)! };
  }

  async function sweep(dataKeys: RetentionDeps['dataKeys']): Promise<string[]> {
    const retention = await connectRetention(config);
    try {
      return (await runRetention({ ...retention.deps, dataKeys })).staleKeysDestroyed;
    } finally {
      await retention.close();
    }
  }

  /** The org's key as a process reading the keys topic now sees it. */
  async function keyReadNow(orgId: string): Promise<string | undefined> {
    const reader = await ring(`reader-${randomSuffix()}`);
    return reader.current(orgId)?.keyId;
  }

  it('keeps the new key when the sweep\'s keyring has rejoined and is reading the topic again from its start', { timeout: 90_000 }, async () => {
    const orgId = `back-${randomSuffix()}`;
    const writer = await ring('writer-a');
    const { k1, k2, k2CreatedAt } = await purgedAndBack(orgId, writer);

    const gate = new BatchGate();
    const groups: string[] = [];
    const keyring = await ring('sweep-a', gatedKafka(kafka, gate, groups));
    expect(keyring.current(orgId)?.keyId).toBe(k2.keyId);
    expect(keyring.generations().get(orgId)).toBe(k2CreatedAt);

    // a rejoin: another member joins the keyring's group and leaves; offsets are never committed,
    // so the keyring reads the topic again from its start, held just before the purge's tombstone
    gate.arm(isTombstoneOf(orgId));
    const intruder = kafka.consumer({ groupId: groups[0]!, sessionTimeout: 10_000, heartbeatInterval: 500 });
    const joined = new Promise<void>((resolve) => intruder.on(intruder.events.GROUP_JOIN, () => resolve()));
    await intruder.connect();
    await intruder.subscribe({ topic: topicsFor(config).keys, fromBeginning: true });
    await intruder.run({ autoCommit: false, eachBatch: async () => undefined });
    await joined;
    await intruder.disconnect();
    await gate.reached;

    // the scenario: the re-read put the old generation's key back before its tombstone
    expect(keyring.key(orgId, k1.keyId)).toBeDefined();
    // the org seals with K2, created after the purge: that is the generation the sweep must judge
    expect.soft(keyring.current(orgId)?.keyId).toBe(k2.keyId);
    expect.soft(keyring.generations().get(orgId)).toBe(k2CreatedAt);

    expect(await sweep(sweepKeys(keyring, gate))).toEqual([]);
    expect(await keyReadNow(orgId)).toBe(k2.keyId);
  });

  it('keeps the new key when the sweep\'s keyring lags behind the purge and the new key', { timeout: 90_000 }, async () => {
    const orgId = `back-${randomSuffix()}`;
    const writer = await ring('writer-b');
    const gate = new BatchGate();
    let keyring: Keyring | undefined;
    const { k1, k2 } = await purgedAndBack(orgId, writer, async () => {
      // a long-running keyring that has read K1, then falls behind: held before the tombstone
      keyring = await ring('sweep-b', gatedKafka(kafka, gate, []));
      expect(keyring.current(orgId)?.keyId).toBe(writer.current(orgId)?.keyId);
      gate.arm(isTombstoneOf(orgId));
    });
    await gate.reached;
    expect(keyring!.current(orgId)?.keyId).toBe(k1.keyId); // the scenario: it has not read the purge yet

    expect(await sweep(sweepKeys(keyring!, gate))).toEqual([]);
    expect(await keyReadNow(orgId)).toBe(k2.keyId);
  });
});
