/**
 * The keys topic on real Kafka: master-key rotation (old kid still unwraps, new keys wrap under
 * the new kid), one key per org whatever the race between instances, and the compacted topic
 * config `stack up` creates.
 */

import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { decodeKeyRecord } from '../../core/keys/key-record.js';
import { Keyring } from '../../core/keys/keyring.js';
import { KEY_SNAPSHOT_MAX_AGE_MS, KeySnapshot } from '../../core/keys/key-snapshot.js';
import { configValues, describeTopicConfigs } from '../../core/topic-configs.js';
import { KEYS_TOPIC_CONFIGS } from '../../core/topic-retention.js';
import { topicsFor } from '../../core/topics.js';
import { openEvent, sealEvent } from '../../schemas/sealing.js';
import { cleanupTestResources, createTestTopics, testConfig, testGroupId, waitFor } from '../support/env.js';
import { fixture } from '../support/fixtures.js';

const OLD = { kid: 'm1', secret: 'the-old-master-secret-123' };
const NEW = { kid: 'm2', secret: 'the-new-master-secret-456' };

describe('keys topic and keyring', () => {
  let config: Config;
  let kafka: Kafka;
  const rings: Keyring[] = [];
  const ring = async (masterKeys: Array<{ kid: string; secret: string }>): Promise<Keyring> => {
    const keyring = new Keyring({ kafka, topic: topicsFor(config).keys, masterKeys, groupPrefix: testGroupId(config, `ring-${rings.length}`) });
    rings.push(keyring);
    await keyring.start();
    return keyring;
  };

  /** The key records on the topic, in order, as raw JSON. */
  async function records(): Promise<Array<{ key: string; value: string | null }>> {
    const out: Array<{ key: string; value: string | null }> = [];
    const consumer = kafka.consumer({ groupId: testGroupId(config, `raw-${randomUUID()}`) });
    const admin = kafka.admin();
    await Promise.all([consumer.connect(), admin.connect()]);
    const end = (await admin.fetchTopicOffsets(topicsFor(config).keys)).reduce((s, o) => s + Number(o.high), 0);
    await admin.disconnect();
    await consumer.subscribe({ topic: topicsFor(config).keys, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void out.push({ key: message.key?.toString() ?? '', value: message.value?.toString() ?? null }) });
    await waitFor(() => out.length >= end, { message: 'every key record' });
    await consumer.disconnect();
    return out;
  }

  beforeAll(async () => {
    config = testConfig();
    kafka = createKafka(config);
    await createTestTopics(config);
  });

  afterAll(async () => {
    for (const r of rings) await r.stop().catch(() => undefined);
    if (config) await cleanupTestResources(config);
  });

  it('is created compacted with the settings that bound how long a destroyed key stays', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const configs = configValues(await describeTopicConfigs(admin, [topicsFor(config).keys])).get(topicsFor(config).keys)!;
      for (const [name, value] of Object.entries(KEYS_TOPIC_CONFIGS)) expect([name, configs.get(name)]).toEqual([name, value]);
    } finally {
      await admin.disconnect();
    }
  });

  it('master-key rotation: keys wrapped under the old kid still open; new keys wrap under the new kid', async () => {
    const before = await ring([OLD]);
    const oldKey = await before.ensure('org-r1');
    const sealed = sealEvent(fixture('EmailOpened', { orgId: 'org-r1' }), oldKey);

    const rotated = await ring([NEW, OLD]); // ENGAGEMENT_MASTER_KEY=m2:…,m1:…
    expect(rotated.key('org-r1', oldKey.keyId)?.equals(oldKey.key)).toBe(true);
    expect(openEvent(sealed, rotated.key('org-r1', oldKey.keyId)!).contactId).toBe('c-1');
    const newKey = await rotated.ensure('org-r2');

    const byOrg = new Map((await records()).map((r) => [r.key, decodeKeyRecord(r.key, Buffer.from(r.value!))]));
    expect(byOrg.get('org-r1')).toMatchObject({ kid: 'm1', keyId: oldKey.keyId });
    expect(byOrg.get('org-r2')).toMatchObject({ kid: 'm2', keyId: newKey.keyId });
    for (const record of byOrg.values()) expect(JSON.stringify(record)).not.toContain(oldKey.key.toString('base64url'));

    // a process that no longer lists m1 cannot open what m1 wrapped, and says so (no crash)
    const onlyNew = await ring([NEW]);
    expect(onlyNew.key('org-r1', oldKey.keyId)).toBeUndefined();
    expect(onlyNew.key('org-r2', newKey.keyId)?.equals(newKey.key)).toBe(true);
  });

  it('one key per org when instances race to create it; compaction keeps the winner', async () => {
    const [a, b, c] = [await ring([OLD]), await ring([OLD]), await ring([OLD])];
    const created = await Promise.all([a.ensure('org-race'), b.ensure('org-race'), c.ensure('org-race')]);
    expect(new Set(created.map((k) => k.keyId)).size).toBe(1);
    const raceRecords = (await records()).filter((r) => r.key === 'org-race');
    const last = decodeKeyRecord('org-race', Buffer.from(raceRecords[raceRecords.length - 1]!.value!));
    expect(last).toMatchObject({ keyId: created[0]!.keyId });
  });

  it('a tombstone makes every keyring forget the org', async () => {
    const writer = await ring([OLD]);
    const reader = await ring([OLD]);
    const key = await writer.ensure('org-t');
    await reader.caughtUp();
    expect(reader.key('org-t', key.keyId)).toBeDefined();
    await writer.destroy('org-t');
    expect(writer.current('org-t')).toBeUndefined();
    await reader.caughtUp();
    expect(reader.key('org-t', key.keyId)).toBeUndefined();
    const again = await writer.ensure('org-t');
    expect(again.keyId).not.toBe(key.keyId);
  });

  it('a local copy gives the keys before the topic is read, and follows the topic once it is', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'keys-copy-'));
    const staleDir = mkdtempSync(path.join(tmpdir(), 'keys-stale-'));
    try {
      const snapshot = new KeySnapshot(dir);
      const writer = new Keyring({ kafka, topic: topicsFor(config).keys, masterKeys: [OLD], groupPrefix: testGroupId(config, 'copy-writer'), snapshot });
      rings.push(writer);
      await writer.start();
      const kept = await writer.ensure('org-kept');
      const gone = await writer.ensure('org-gone');
      const held = (s: KeySnapshot) => {
        const reading = s.read(Date.now(), topicsFor(config).keys);
        return 'records' in reading ? [...reading.records.keys()].sort() : [];
      };
      await waitFor(() => held(snapshot).includes('org-kept') && held(snapshot).includes('org-gone'), { message: 'both keys in the local copy' });
      const before = readFileSync(snapshot.file);

      // a process that cannot reach Kafka yet: the copy alone answers, the same key
      const offline = new Keyring({ kafka, topic: topicsFor(config).keys, masterKeys: [OLD], groupPrefix: testGroupId(config, 'copy-offline'), snapshot: new KeySnapshot(dir) });
      rings.push(offline);
      // (the topic is shared with the tests above: the copy holds their orgs too)
      expect(offline.restore()).toMatchObject({ orgs: held(snapshot).length });
      expect(offline.sealingKey('org-kept')).toMatchObject({ keyId: kept.keyId });
      expect(offline.sealingKey('org-kept')!.key.equals(kept.key)).toBe(true);
      expect(offline.sealsOffline()).toBe(true);
      // for sealing tracking hits only: nothing is created, opened or answered from the copy
      expect(offline.current('org-kept')).toBeUndefined();
      expect(offline.key('org-kept', kept.keyId)).toBeUndefined();
      // and not past the shredding bound after its last confirmation, however long the process runs
      expect(offline.sealingKey('org-kept', Date.now() + KEY_SNAPSHOT_MAX_AGE_MS)).toBeUndefined();
      // nothing left to seal with: /readyz takes the API out for tracking while Kafka is down
      expect(offline.sealsOffline(Date.now() + KEY_SNAPSHOT_MAX_AGE_MS)).toBe(false);

      // destroyed while a copy that still has it sits on another process's disk
      await writer.destroy('org-gone');
      expect(held(snapshot)).toContain('org-kept');
      expect(held(snapshot)).not.toContain('org-gone');
      writeFileSync(path.join(staleDir, 'KEYS'), before);
      const stale = new Keyring({ kafka, topic: topicsFor(config).keys, masterKeys: [OLD], groupPrefix: testGroupId(config, 'copy-stale'), snapshot: new KeySnapshot(staleDir) });
      rings.push(stale);
      expect(stale.restore()).toMatchObject({ orgs: expect.any(Number) });
      expect(stale.sealingKey('org-gone')).toMatchObject({ keyId: gone.keyId });
      await stale.start();
      // read to the end: the topic, not the copy, says which keys live, and the copy is rewritten
      expect(stale.sealingKey('org-gone')).toBeUndefined();
      expect(stale.key('org-gone', gone.keyId)).toBeUndefined();
      expect(stale.current('org-kept')).toMatchObject({ keyId: kept.keyId });
      expect(held(new KeySnapshot(staleDir))).toContain('org-kept');
      expect(held(new KeySnapshot(staleDir))).not.toContain('org-gone');
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(staleDir, { recursive: true, force: true });
    }
  });
});

/**
 * The mechanism of the README's bound, with the bound's settings shrunk to milliseconds: a
 * destroyed key record is physically gone from the topic once its segment rolled (the retention
 * pass's markers) and the log cleaner compacted it. With the shipped settings the same steps take
 * at most segment.ms + one retention interval + max.compaction.lag.ms (3 h).
 */
describe('a destroyed key is compacted away', () => {
  let config: Config;
  let kafka: Kafka;
  let keyring: Keyring | undefined;

  beforeAll(async () => {
    config = testConfig();
    kafka = createKafka(config);
    await createTestTopics(config, 1, { keys: { 'segment.ms': '200', 'max.compaction.lag.ms': '200', 'delete.retention.ms': '200', 'min.cleanable.dirty.ratio': '0.01' } });
  });

  afterAll(async () => {
    await keyring?.stop();
    if (config) await cleanupTestResources(config);
  });

  it('leaves no record of the org on the topic after tombstone, roll and compaction', { timeout: 120_000 }, async () => {
    keyring = new Keyring({ kafka, topic: topicsFor(config).keys, masterKeys: [OLD], groupPrefix: testGroupId(config, 'ring') });
    await keyring.start();
    const key = await keyring.ensure('org-gone');
    await keyring.ensure('org-kept');
    await keyring.destroy('org-gone');
    const wrappedOf = async (orgId: string): Promise<Array<string | null>> => {
      const consumer = kafka.consumer({ groupId: testGroupId(config, `raw-${randomUUID()}`), maxWaitTimeInMs: 100 });
      const admin = kafka.admin();
      await Promise.all([consumer.connect(), admin.connect()]);
      const [ends] = await admin.fetchTopicOffsets(topicsFor(config).keys);
      await admin.disconnect();
      const high = Number(ends!.high);
      const values: Array<string | null> = [];
      let read = Number(ends!.low);
      await consumer.subscribe({ topic: topicsFor(config).keys, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          read = Number(message.offset) + 1;
          if (message.key?.toString() === orgId) values.push(message.value?.toString() ?? null);
        },
      });
      await waitFor(() => read >= high, { message: 'the keys topic read to its end' });
      await consumer.disconnect();
      return values;
    };
    expect((await wrappedOf('org-gone')).some((v) => v !== null && v.includes(key.keyId))).toBe(true);
    const gone = await waitFor(
      async () => {
        await keyring!.rollSegments(); // what every retention pass does
        const values = await wrappedOf('org-gone');
        return values.every((v) => v === null) ? values : undefined;
      },
      { timeoutMs: 100_000, intervalMs: 2000, message: 'the key record compacted away' },
    );
    expect(gone.filter((v) => v !== null)).toEqual([]);
    // the other org's key is untouched
    expect((await wrappedOf('org-kept')).filter((v) => v !== null)).toHaveLength(1);
  });
});
