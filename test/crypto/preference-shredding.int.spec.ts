/**
 * Issue 13 (the control topic): a recipient preference is sealed with the org key, so the
 * recipient id of an opt-out is never in the control topic's bytes; after a retention purge no
 * live key recovers it, yet its suppression hash (in clear) still suppresses the recipient when
 * the org is re-enabled — also for a control role that re-reads the whole topic with the key gone.
 * A sealed preference under a key nobody holds, of an org never purged, fails closed (key_unknown).
 */

import { randomBytes, randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FieldCipherError } from '../../core/crypto/field-cipher.js';
import { createKafka } from '../../core/kafka.js';
import { topicsFor } from '../../core/topics.js';
import { ControlReader } from '../../processors/control/control-reader.js';
import { startProcessors, type ProcessorsHandle } from '../../processors/index.js';
import { ControlStore } from '../../projections/control/control-store.js';
import { suppressionHash } from '../../projections/control/suppression.js';
import { keysFor } from '../../projections/keys.js';
import { runReplay } from '../../replay/replay-runner.js';
import { connectRetention } from '../../retention/connect.js';
import { runRetention } from '../../retention/run-retention.js';
import { decodeEvent, encodeEvent, EventCodec } from '../../schemas/codec.js';
import type { ContactFollowPreferenceChanged } from '../../schemas/events.js';
import { isSealedPreference, openPreference, sealPreference } from '../../schemas/sealing.js';
import { testGroupId, waitFor } from '../support/env.js';
import { fixture } from '../support/fixtures.js';
import { startTestKeyring } from '../support/keys.js';
import { produceRaw } from '../processors/support/produce.js';
import { highWatermarkTotal, storedOffsetTotal } from '../processors/support/verify.js';
import { KEYS, bearer, startApiHarness, type ApiHarness } from '../producers/support/api-harness.js';
import type { EmailSendResponse } from '../producers/support/types.js';

const DAY = 86_400_000;
const admin = bearer(KEYS.admin);
let h: ApiHarness;
let kafka: Kafka;
let processors: ProcessorsHandle;

const gone = 'org-pref-gone';
const kept = 'org-pref-kept';
const goneId = `rcpt-gone-${randomUUID()}`;
const keptId = `rcpt-kept-${randomUUID()}`;

beforeAll(async () => {
  h = await startApiHarness({ RETENTION_DAYS: '1', BLOB_RETENTION_DAYS: '3650' });
  kafka = createKafka(h.config);
  processors = await startProcessors(h.config, { roles: ['control', 'projector'] });
}, 60_000);

afterAll(async () => {
  await processors?.stop();
  await h?.close();
});

async function inject(method: 'PUT' | 'POST', url: string, payload: object = {}): Promise<void> {
  const res = await h.app.inject({ method, url, headers: admin, payload });
  expect(res.statusCode, res.body).toBe(200);
}
const enable = (orgId: string) => inject('PUT', `/v1/orgs/${orgId}/engagement`, { enabled: true });
const follow = (orgId: string, id: string, allow: boolean) => inject('PUT', `/v1/orgs/${orgId}/contacts/${id}/follow-email`, { allow });

async function sent(orgId: string, ids: string[]): Promise<EmailSendResponse> {
  const res = await h.app.inject({
    method: 'POST',
    url: `/v1/orgs/${orgId}/emails`,
    headers: admin,
    payload: { emailId: `e-${randomUUID()}`, senderId: 's-1', recipients: ids.map((contactId) => ({ contactId, type: 'contact' })), links: [{ url: 'https://example.com/' }], follow: true },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<EmailSendResponse>();
}

async function readTopic(topic: string, until: (records: Array<{ value: Buffer; headers: Record<string, string> }>) => boolean) {
  const records: Array<{ value: Buffer; headers: Record<string, string> }> = [];
  const consumer: Consumer = kafka.consumer({ groupId: testGroupId(h.config, `read-${randomUUID()}`) });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      records.push({ value: message.value ?? Buffer.alloc(0), headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])) });
    },
  });
  try {
    await waitFor(() => until(records), { timeoutMs: 30_000, message: `records of ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

const preferences = (records: Array<{ value: Buffer }>) =>
  records.map((r) => ({ raw: r.value, event: decodeEvent(r.value) })).filter((r): r is { raw: Buffer; event: ContactFollowPreferenceChanged } => r.event.type === 'ContactFollowPreferenceChanged');

describe('crypto-shredding of recipient preferences on the control topic', () => {
  it('the recipient id of an opt-out never appears in the raw bytes of the control topic; its suppression hash does', async () => {
    await enable(gone);
    await enable(kept);
    await follow(gone, goneId, false);
    await follow(kept, keptId, false);
    const records = await readTopic(topicsFor(h.config).control, (all) => preferences(all).length >= 2);
    for (const { value } of records) {
      expect(value.includes(Buffer.from(goneId))).toBe(false);
      expect(value.includes(Buffer.from(keptId))).toBe(false);
    }
    for (const { event } of preferences(records)) {
      expect(isSealedPreference(event)).toBe(true);
      const id = event.orgId === gone ? goneId : keptId;
      expect(event.suppressionHash).toBe(suppressionHash(h.config.suppressionSecret, event.orgId, 'contact', id));
      expect(openPreference(event, h.keys.key(event.orgId, event.encryption!.keyId)!).contactId).toBe(id);
    }
  });

  it('after a purge no live key recovers it, the suppression list still suppresses it on re-enable (also after a full re-read), and a replay stays exact for the others', { timeout: 180_000 }, async () => {
    // an email of the kept org, collected, so the replay has something to rebuild exactly
    const keptMail = await sent(kept, ['other-1']);
    const goneMail = await sent(gone, ['other-gone']);
    const pixel = keptMail.recipients[0]!.openPixelUrl!;
    expect((await h.app.inject({ method: 'GET', url: new URL(pixel).pathname, headers: { 'user-agent': 'Mozilla/5.0 Firefox' } })).statusCode).toBe(200);
    const emails = topicsFor(h.config).emails;
    const end = await h.endOffset(emails);
    expect(end).toBe(await highWatermarkTotal(kafka, emails));
    await waitFor(async () => (await storedOffsetTotal(h.redis, h.config, emails)) === end, { timeoutMs: 60_000, message: 'projector at the end' });
    const kpis = async () => (await h.app.inject({ method: 'GET', url: `/v1/orgs/${kept}/emails/${keptMail.emailId}/kpis`, headers: admin })).json<{ opens: number }>();
    const before = await kpis();
    expect(before.opens).toBe(1);

    await inject('POST', `/v1/orgs/${gone}/subscription/end`);
    const goneKeyId = h.keys.current(gone)!.keyId;
    const { deps, close } = await connectRetention(h.config);
    const purgeAt = Date.now() + 2 * DAY;
    const report = await runRetention(deps, purgeAt).finally(close);
    expect(report.purged.map((p) => p.orgId)).toEqual([gone]);
    await h.keys.caughtUp();
    expect(h.keys.current(gone)).toBeUndefined();

    // a hit of the purged org at the tracking edge, whose key this process no longer holds: not
    // written (the gate would refuse it) and no new key created for it
    const emailsBefore = await h.endOffset(emails);
    const hit = await h.app.inject({ method: 'GET', url: new URL(goneMail.recipients[0]!.openPixelUrl!).pathname, headers: { 'user-agent': 'Mozilla/5.0 Firefox' } });
    expect(hit.statusCode).toBe(200);
    await waitFor(async () => /engagement_tracking_requests_total\{route="open",outcome="org_purged"\} 1/.test((await h.app.inject({ method: 'GET', url: '/metrics' })).body), { message: 'the hit counted as org_purged' });
    expect(await h.endOffset(emails)).toBe(emailsBefore);
    // nor through the other write paths: a non-followed send, an upstream event
    const late = await h.app.inject({ method: 'POST', url: `/v1/orgs/${gone}/emails`, headers: admin, payload: { emailId: 'late', senderId: 's', recipients: [{ contactId: 'late-recipient', type: 'contact' }], follow: false } });
    expect(late.statusCode, late.body).toBe(409);
    expect(late.json<{ error: string }>().error).toBe('engagement_disabled');
    const replied = await h.app.inject({ method: 'POST', url: '/v1/events', headers: admin, payload: [{ type: 'EmailReplied', eventId: randomUUID(), orgId: gone, emailId: goneMail.emailId, contactId: 'late-recipient', occurredAt: new Date().toISOString() }] });
    expect(JSON.stringify(replied.json())).toContain('engagement_disabled');
    expect(await h.endOffset(emails)).toBe(emailsBefore);
    await h.keys.caughtUp();
    expect(h.keys.current(gone)).toBeUndefined();

    // a reader holding every live key: the purged org's recipient is unrecoverable, the other opens
    const reader = await startTestKeyring(h.config);
    try {
      expect(reader.key(gone, goneKeyId)).toBeUndefined();
      const prefs = preferences(await readTopic(topicsFor(h.config).control, (all) => preferences(all).length >= 2));
      const liveKeys = [kept].map((org) => reader.current(org)!.key);
      for (const { raw, event } of prefs) {
        expect(raw.includes(Buffer.from(goneId))).toBe(false);
        if (event.orgId === kept) expect(openPreference(event, reader.key(kept, event.encryption!.keyId)!).contactId).toBe(keptId);
        else for (const key of liveKeys) expect(() => openPreference(event, key)).toThrow(FieldCipherError);
      }

      // a control reader with every live key judges the purged org's preference by its hash: no failure, still suppressed
      const fresh = new ControlReader({ kafka, topic: topicsFor(h.config).control, groupPrefix: `${h.config.topicPrefix}.t`, codec: new EventCodec(), keys: reader, suppressionSecret: h.config.suppressionSecret });
      await fresh.start();
      try {
        await fresh.caughtUp();
        expect(fresh.history.unresolved()).toEqual([]);
        expect(fresh.history.contactAllowsAt(gone, goneId, Infinity)).toBe(false);
        expect(fresh.history.contactAllowsAt(gone, 'someone-else', Infinity)).toBe(true);
        expect(fresh.history.contactAllowsAt(kept, keptId, Infinity)).toBe(false);
      } finally {
        await fresh.stop();
      }
    } finally {
      await reader.stop();
    }

    // a control role re-reading the whole topic with the key gone rewrites the suppression hash, nothing in clear
    const k = keysFor(h.config.redisPrefix);
    await h.redis.del(k.controlSynced());
    const again = await startProcessors(h.config, { roles: ['control'] });
    try {
      await waitFor(async () => (await h.redis.exists(k.controlSynced())) === 1, { message: 'the new control role synced the store' });
    } finally {
      await again.stop();
    }
    expect(await h.redis.smembers(k.suppression(gone))).toEqual([suppressionHash(h.config.suppressionSecret, gone, 'contact', goneId)]);
    expect(await h.redis.hgetall(k.controlRecipients(gone, 'contact'))).toEqual({});
    expect(await new ControlStore(h.redis, k).readUnreadable(gone)).toEqual([]);

    h.setNow(purgeAt + 60_000); // the purge is stamped at the retention pass's time
    await enable(gone); // re-subscribed: a new key
    expect(h.keys.current(gone)!.keyId).not.toBe(goneKeyId);
    const answer = await sent(gone, [goneId, 'new-1']);
    expect(answer.recipients.map((r) => [r.contactId, r.followed])).toEqual([
      [goneId, false],
      ['new-1', true],
    ]);

    const result = await runReplay({ config: h.config, kafka, redis: h.redis }, { from: 'earliest' });
    expect(result.status).toBe('switched');
    expect(result.counters.deadLetters).toBe(0);
    expect(await kpis()).toEqual(before);
    h.setNow(undefined);
  });

  it('a sealed preference under a key nobody holds, of an org never purged, fails closed: dead-lettered key_unknown, the org blocked', { timeout: 60_000 }, async () => {
    const orgId = 'org-pref-ghost';
    await enable(orgId);
    const stray = sealPreference(fixture('ContactFollowPreferenceChanged', { orgId, contactId: 'ghost-rcpt', suppressionHash: 'some-hash', occurredAt: Date.now() - 1000 }), { keyId: 'never-written', key: randomBytes(32) });
    await produceRaw(kafka, topicsFor(h.config).control, [{ key: orgId, value: encodeEvent(stray) }]);
    const store = new ControlStore(h.redis, keysFor(h.config.redisPrefix));
    const listed = await waitFor(async () => {
      const found = await store.readUnreadable(orgId);
      return found.length === 1 ? found : undefined;
    }, { message: 'the control role listed the record' });
    expect(listed[0]!.reason).toMatch(/never-written/);
    expect(await store.readUnreadable(kept)).toEqual([]);
    const letters = await readTopic(topicsFor(h.config).deadletter, (all) => all.some((l) => l.headers['dlq.code'] === 'key_unknown'));
    const letter = letters.find((l) => l.headers['dlq.code'] === 'key_unknown')!;
    expect(letter.headers['dlq.topic']).toBe(topicsFor(h.config).control);
    expect(decodeEvent(letter.value).eventId).toBe(stray.eventId);
    const refused = await h.app.inject({ method: 'POST', url: `/v1/orgs/${orgId}/emails`, headers: admin, payload: { emailId: 'e-1', senderId: 's', recipients: [{ contactId: 'c', type: 'contact' }], follow: true } });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ error: 'control_unreadable' });
  });
});
