/**
 * Purge reaches the log (DESIGN §2): with the pipeline running on sealed events, a retention
 * purge destroys the org's data keys. Afterwards a reader of the emails topic holding every live
 * key recovers none of the purged org's personal fields while the others' still open; a replay
 * counts the purged org's records `org_purged`, dead-letters none and rebuilds the others exactly;
 * a record under a key nobody holds, of an org never purged, is dead-lettered `key_unknown`; and
 * enabling the org again creates a new key.
 */

import { randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Consumer, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { FieldCipherError } from '../../core/crypto/field-cipher.js';
import { createContainerClient } from '../../core/blob.js';
import { createKafka } from '../../core/kafka.js';
import type { Keyring } from '../../core/keys/keyring.js';
import { createRedis } from '../../core/redis.js';
import { topicsFor } from '../../core/topics.js';
import { startProcessors, type ProcessorsHandle } from '../../processors/index.js';
import { runReplay } from '../../replay/replay-runner.js';
import { connectRetention } from '../../retention/connect.js';
import { runRetention } from '../../retention/run-retention.js';
import { decodeEvent, encodeEvent } from '../../schemas/codec.js';
import type { EmailEvent, SubscriptionEnded } from '../../schemas/events.js';
import { openEvent, sealEvent } from '../../schemas/sealing.js';
import { cleanupTestResources, createTestTopics, testConfig, testGroupId, waitFor } from '../support/env.js';
import { fixture } from '../support/fixtures.js';
import { startTestKeyring } from '../support/keys.js';
import { generateWorkload, type ExpectedKpis } from '../support/workload.js';
import { produceEvents, produceRaw } from '../processors/support/produce.js';
import { projectionMismatches, readAllLanded, waitForProjectorAtEnd } from '../processors/support/verify.js';

const DAY = 86_400_000;

/** Only the KPIs of the orgs whose id starts with `prefix`. */
function only(expected: ExpectedKpis, prefix: string): ExpectedKpis {
  const keep = <V>(m: Map<string, V>): Map<string, V> => new Map([...m].filter(([id]) => id.startsWith(prefix)));
  return { ...expected, emails: keep(expected.emails), orgDays: keep(expected.orgDays), senderDays: keep(expected.senderDays), templateDays: keep(expected.templateDays), contactDays: keep(expected.contactDays), contacts: keep(expected.contacts), contactHours: keep(expected.contactHours) };
}

async function readTopic(kafka: Kafka, config: Config, topic: string, count: number): Promise<Array<{ value: Buffer; headers: Record<string, string> }>> {
  const records: Array<{ value: Buffer; headers: Record<string, string> }> = [];
  const consumer: Consumer = kafka.consumer({ groupId: testGroupId(config, `read-${randomUUID()}`) });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
      records.push({ value: message.value!, headers });
    },
  });
  try {
    await waitFor(() => records.length >= count, { timeoutMs: 30_000, message: `${count} records of ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

describe('crypto-shredding: a purge destroys the org key', () => {
  let config: Config;
  let kafka: Kafka;
  let redis: Redis;
  let keys: Keyring;
  let handle: ProcessorsHandle | undefined;
  const startAt = Math.floor((Date.now() - 3 * DAY) / 3_600_000) * 3_600_000;
  const kept = generateWorkload({ orgs: 2, emailsPerOrg: 60, recipients: 3, seed: 31, startAt, idPrefix: 'kept', privacySwitches: false });
  const gone = generateWorkload({ orgs: 1, emailsPerOrg: 60, recipients: 3, seed: 32, startAt, idPrefix: 'gone', privacySwitches: false });
  const goneOrg = 'gone-org-0';
  const ended: SubscriptionEnded = { type: 'SubscriptionEnded', eventId: randomUUID(), orgId: goneOrg, occurredAt: Date.now() - 60_000 };
  let goneKeyId: string;

  beforeAll(async () => {
    config = testConfig({ RETENTION_DAYS: '1', BLOB_RETENTION_DAYS: '3650', BLOB_FLUSH_SECONDS: '1' });
    kafka = createKafka(config);
    redis = createRedis(config);
    await createTestTopics(config);
    keys = await startTestKeyring(config);
    handle = await startProcessors(config, { roles: ['projector', 'control', 'lander'] });
    await produceEvents(kafka, config, [...kept.control, ...gone.control, ended]);
    await produceEvents(kafka, config, [...kept.emails, ...gone.emails], 20_000, keys);
    goneKeyId = keys.current(goneOrg)!.keyId;
    await waitForProjectorAtEnd(kafka, redis, config, topicsFor(config).emails);
  }, 120_000);

  afterAll(async () => {
    await handle?.stop();
    await keys?.stop();
    redis?.disconnect();
    if (config) await cleanupTestResources(config);
  });

  it('the live projector opened the sealed events: every org is projected exactly', async () => {
    expect(await projectionMismatches(redis, config, only(kept.expected, 'kept'))).toEqual([]);
    expect(await projectionMismatches(redis, config, only(gone.expected, 'gone'))).toEqual([]);
  });

  it('the lander keeps each record as on the log (sealed): a reader with the key opens it', { timeout: 60_000 }, async () => {
    const container = createContainerClient(config);
    const expected = kept.expected.landed.length + gone.expected.landed.length;
    const { records } = await waitFor(async () => {
      const landed = await readAllLanded(container);
      return landed.records.length >= expected ? landed : undefined;
    }, { timeoutMs: 45_000, message: 'every collected record landed' });
    const originals = new Map([...kept.emails, ...gone.emails].map((e) => [e.eventId, e]));
    for (const { event } of records) {
      expect(event.encryption?.keyId).toBe(keys.current(event.orgId)!.keyId);
      const original = originals.get(event.eventId)!;
      const opened = openEvent(event, keys.current(event.orgId)!.key, 'all');
      if (opened.type === 'EmailSent' && original.type === 'EmailSent') expect(opened.recipients.map((r) => r.contactId)).toEqual(original.recipients.map((r) => r.contactId));
      else if (opened.type !== 'EmailSent' && original.type !== 'EmailSent') expect(opened.contactId).toBe(original.contactId);
      // sealed in the blob: the recipient is not there in clear
      if (event.type !== 'EmailSent' && original.type !== 'EmailSent') expect(event.contactId).not.toBe(original.contactId);
    }
  });

  it('after the purge, a reader holding every live key recovers nothing of the purged org; the others still open', { timeout: 120_000 }, async () => {
    const { deps, close } = await connectRetention(config);
    const report = await runRetention(deps, Date.now() + 2 * DAY).finally(close);
    expect(report.purged.map((p) => p.orgId)).toEqual([goneOrg]);
    await keys.caughtUp();
    expect(keys.current(goneOrg)).toBeUndefined();

    const reader = await startTestKeyring(config); // reads the keys topic from the beginning
    try {
      expect(reader.current(goneOrg)).toBeUndefined();
      expect(reader.key(goneOrg, goneKeyId)).toBeUndefined();
      const records = await readTopic(kafka, config, topicsFor(config).emails, kept.emails.length + gone.emails.length);
      const events = records.map((r) => ({ raw: r.value, event: decodeEvent(r.value) as EmailEvent }));
      const liveKeys = ['kept-org-0', 'kept-org-1'].map((org) => reader.current(org)!.key);
      let goneCount = 0;
      for (const { raw, event } of events) {
        if (event.orgId !== goneOrg) {
          const opened = openEvent(event, reader.key(event.orgId, event.encryption!.keyId)!, 'all');
          const original = kept.emails.find((e) => e.eventId === opened.eventId)!;
          expect(opened.type === 'EmailSent' ? opened.recipients.map((r) => r.contactId) : opened.contactId).toEqual(
            original.type === 'EmailSent' ? original.recipients.map((r) => r.contactId) : original.contactId,
          );
          continue;
        }
        goneCount++;
        expect(event.encryption?.keyId).toBe(goneKeyId);
        for (const key of liveKeys) expect(() => openEvent(event, key, 'all')).toThrow(FieldCipherError);
        const original = gone.emails.find((e) => e.eventId === event.eventId)!;
        const ids = original.type === 'EmailSent' ? original.recipients.map((r) => r.contactId) : [original.contactId];
        // as Avro writes a clear string: its zigzag length byte, then the bytes (never inside base64url text)
        for (const id of ids) expect(raw.includes(Buffer.concat([Buffer.from([id.length * 2]), Buffer.from(id)]))).toBe(false);
      }
      expect(goneCount).toBe(gone.emails.length);
    } finally {
      await reader.stop();
    }
  });

  it('a replay after the purge counts the purged org as org_purged, dead-letters nothing, and rebuilds the others exactly', { timeout: 120_000 }, async () => {
    const result = await runReplay({ config, kafka, redis }, { from: 'earliest' });
    expect(result.status).toBe('switched');
    expect(result.counters.gatedOut.org_purged).toBe(gone.emails.length);
    expect(result.counters.deadLetters).toBe(0);
    expect(await projectionMismatches(redis, config, only(kept.expected, 'kept'), result.version)).toEqual([]);
  });

  it('a record under a key nobody holds, of an org never purged, is dead-lettered key_unknown', { timeout: 60_000 }, async () => {
    const stray = sealEvent(fixture('EmailOpened', { orgId: 'ghost-org', emailId: 'e-ghost', occurredAt: Date.now() - 1000 }), { keyId: 'never-written', key: randomBytes(32) });
    await produceRaw(kafka, topicsFor(config).emails, [{ key: 'ghost-org/e-ghost', value: encodeEvent(stray) }]);
    const letters = await waitFor(async () => {
      const all = await readTopic(kafka, config, topicsFor(config).deadletter, 1);
      const found = all.filter((r) => r.headers['dlq.code'] === 'key_unknown');
      return found.length > 0 ? found : undefined;
    }, { timeoutMs: 45_000, message: 'the key_unknown dead letter' });
    // at least once: a batch read again (a fence, a version switch) may dead-letter it again
    for (const letter of letters) {
      expect(letter.headers['dlq.reason']).toMatch(/ghost-org.*never-written/);
      expect(decodeEvent(letter.value).eventId).toBe(stray.eventId);
    }
  });

  it('enabling the org again after the purge gives it a new key', async () => {
    const fresh = await keys.ensure(goneOrg);
    expect(fresh.keyId).not.toBe(goneKeyId);
  });
});
