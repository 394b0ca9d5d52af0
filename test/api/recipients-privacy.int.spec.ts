/**
 * DESIGN §2.2 and the fail-closed control stream, through the API and the real processors:
 * recipient types are separate namespaces (preferences, tokens, KPIs); a "do not allow" outlives
 * a purge as a suppression hash, also when the control role re-reads the whole control topic;
 * an unreadable control record stops its org's collection, and only its org's, until resolved.
 */

import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../core/kafka.js';
import { topicsFor } from '../../core/topics.js';
import { startProcessors, type ProcessorsHandle } from '../../processors/index.js';
import { ControlStore } from '../../projections/control/control-store.js';
import { suppressionHash } from '../../projections/control/suppression.js';
import { keysFor } from '../../projections/keys.js';
import { purgeOrgFromRedis } from '../../retention/purge-redis.js';
import { recipientKey, type OrgPurged } from '../../schemas/events.js';
import { waitFor } from '../support/env.js';
import { scanKeys } from '../../core/redis-scan.js';
import { highWatermarkTotal, storedOffsetTotal } from '../processors/support/verify.js';
import { KEYS, bearer, startApiHarness, type ApiHarness } from '../producers/support/api-harness.js';
import type { EmailSendResponse } from '../producers/support/types.js';

let h: ApiHarness;
let kafka: Kafka;
let processors: ProcessorsHandle;

beforeAll(async () => {
  h = await startApiHarness();
  kafka = createKafka(h.config);
  processors = await startProcessors(h.config, { roles: ['control', 'projector'] });
});

afterAll(async () => {
  await processors?.stop();
  await h?.close();
});

const keys = () => keysFor(h.config.redisPrefix);
const admin = bearer(KEYS.admin);

async function enable(orgId: string): Promise<void> {
  const res = await h.app.inject({ method: 'PUT', url: `/v1/orgs/${orgId}/engagement`, headers: admin, payload: { enabled: true } });
  expect(res.statusCode).toBe(200);
}

async function follow(orgId: string, segment: 'contacts' | 'leads' | 'accounts', id: string, allow: boolean): Promise<void> {
  const res = await h.app.inject({ method: 'PUT', url: `/v1/orgs/${orgId}/${segment}/${id}/follow-email`, headers: admin, payload: { allow } });
  expect(res.statusCode, res.body).toBe(200);
}

async function send(orgId: string, recipients: Array<{ contactId: string; type: string }>) {
  return h.app.inject({
    method: 'POST',
    url: `/v1/orgs/${orgId}/emails`,
    headers: admin,
    payload: { emailId: `e-${randomUUID()}`, senderId: 's-1', recipients, links: [{ url: 'https://example.com/' }], follow: true },
  });
}

async function sent(orgId: string, recipients: Array<{ contactId: string; type: string }>): Promise<EmailSendResponse> {
  const res = await send(orgId, recipients);
  expect(res.statusCode, res.body).toBe(201);
  return res.json<EmailSendResponse>();
}

async function open(pixelUrl: string): Promise<void> {
  const res = await h.app.inject({ method: 'GET', url: new URL(pixelUrl).pathname, headers: { 'user-agent': 'Mozilla/5.0 Firefox' } });
  expect(res.statusCode).toBe(200);
}

/** Once the projector has read the emails topic to its end. */
async function projected(): Promise<void> {
  const topic = topicsFor(h.config).emails;
  const end = await h.endOffset(topic);
  expect(end).toBe(await highWatermarkTotal(kafka, topic));
  await waitFor(async () => (await storedOffsetTotal(h.redis, h.config, topic)) === end, { timeoutMs: 60_000, message: 'projector at the end of the emails topic' });
}

async function recipientKpis(orgId: string, segment: string, id: string) {
  const res = await h.app.inject({ method: 'GET', url: `/v1/orgs/${orgId}/${segment}/${id}/kpis`, headers: admin });
  return { status: res.statusCode, body: res.json<{ emailsReceived: number; emailsOpened: number; recipientType: string }>() };
}

describe('recipient types: a lead and a contact with one id are two recipients', () => {
  it('keep separate preferences, tokens and KPIs; an account is a recipient too', async () => {
    const org = 'org-types';
    await enable(org);
    await follow(org, 'leads', 'x-1', false);
    const first = await sent(org, [
      { contactId: 'x-1', type: 'contact' },
      { contactId: 'x-1', type: 'lead' },
      { contactId: 'x-1', type: 'account' },
    ]);
    expect(first.recipients.map((r) => [(r as { type?: string }).type, r.followed])).toEqual([
      ['contact', true],
      ['lead', false],
      ['account', true],
    ]);
    await open(first.recipients[0]!.openPixelUrl);
    await projected();
    expect(await recipientKpis(org, 'contacts', 'x-1')).toMatchObject({ status: 200, body: { emailsReceived: 1, emailsOpened: 1, recipientType: 'contact' } });
    expect((await recipientKpis(org, 'leads', 'x-1')).status).toBe(404);
    expect(await recipientKpis(org, 'accounts', 'x-1')).toMatchObject({ status: 200, body: { emailsReceived: 1, emailsOpened: 0 } });

    // the contact opting out does not touch the lead, whose own "allow" follows it again
    await follow(org, 'contacts', 'x-1', false);
    await follow(org, 'leads', 'x-1', true);
    const second = await sent(org, [
      { contactId: 'x-1', type: 'contact' },
      { contactId: 'x-1', type: 'lead' },
    ]);
    expect(second.recipients.map((r) => r.followed)).toEqual([false, true]);
    await open(second.recipients[1]!.openPixelUrl);
    // the contact's old token still counts for the contact only... up to its opt-out: gated out now
    await open(first.recipients[0]!.openPixelUrl);
    await projected();
    expect(await recipientKpis(org, 'leads', 'x-1')).toMatchObject({ status: 200, body: { emailsReceived: 1, emailsOpened: 1, recipientType: 'lead' } });
    expect(await recipientKpis(org, 'contacts', 'x-1')).toMatchObject({ status: 200, body: { emailsReceived: 1, emailsOpened: 1 } });
    const stored = keys();
    expect(await h.redis.hkeys(stored.controlRecipients(org, 'contact'))).toEqual(['x-1']);
    expect(await h.redis.hget(stored.controlRecipients(org, 'lead'), 'x-1')).toMatch(/^1:/);
  });
});

describe('no email address is ever a Redis key (DESIGN §2.5)', () => {
  it('refuses an address as a recipient, sender, template or org id of a send or an email event with 400, and writes nothing', async () => {
    const orgId = `org-at-${randomUUID()}`;
    await enable(orgId);
    const emails = topicsFor(h.config).emails;
    const control = topicsFor(h.config).control;
    const before = [await h.endOffset(emails), await h.endOffset(control)];
    const refused = async (res: { statusCode: number; body: string }, path: string) => {
      expect(res.statusCode, res.body).toBe(400);
      const body = JSON.parse(res.body) as { error: string; details?: Array<{ path: string; message: string }> };
      expect(body.error).toBe('bad_request');
      expect(JSON.stringify(body.details ?? body)).toContain(path);
      expect(res.body).toContain('must not contain \\"@\\"');
    };
    await refused(await send(orgId, [{ contactId: 'alice@example.com', type: 'contact' }]), 'contactId');
    const base = { emailId: `e-${randomUUID()}`, recipients: [{ contactId: 'c-1', type: 'contact' }], links: [], follow: true };
    await refused(await h.app.inject({ method: 'POST', url: `/v1/orgs/${orgId}/emails`, headers: admin, payload: { ...base, senderId: 'bob@example.com' } }), 'senderId');
    await refused(await h.app.inject({ method: 'POST', url: `/v1/orgs/${orgId}/emails`, headers: admin, payload: { ...base, senderId: 's-1', templateId: 't@x' } }), 'templateId');
    await refused(await h.app.inject({ method: 'POST', url: `/v1/orgs/x@example.com/emails`, headers: admin, payload: { ...base, senderId: 's-1' } }), 'orgId');
    // what switches on or allows is refused too; switching off and opting out are not (the next test)
    await refused(await h.app.inject({ method: 'PUT', url: `/v1/orgs/x@example.com/engagement`, headers: admin, payload: { enabled: true } }), 'orgId');
    await refused(await h.app.inject({ method: 'PUT', url: `/v1/orgs/${orgId}/contacts/erin@example.com/follow-email`, headers: admin, payload: { allow: true } }), 'contactId');
    const events = await h.app.inject({ method: 'POST', url: '/v1/events', headers: admin, payload: [{ type: 'EmailReplied', orgId, emailId: 'e-1', contactId: 'carol@example.com' }] });
    expect(events.body).toContain('must not contain');
    expect([await h.endOffset(emails), await h.endOffset(control)]).toEqual(before);
  });

  it('still takes an opt-out and a switch-off for address-like ids stored before the rule, under no key of their own', async () => {
    const orgId = `org-at-${randomUUID()}`;
    await enable(orgId);
    await follow(orgId, 'contacts', 'dora@example.com', false);
    const off = await h.app.inject({ method: 'PUT', url: `/v1/orgs/${orgId}/engagement`, headers: admin, payload: { enabled: false } });
    expect(off.statusCode, off.body).toBe(200);
    await enable(orgId);
    // a Message-ID as emailId names no person: taken
    const res = await h.app.inject({
      method: 'POST',
      url: `/v1/orgs/${orgId}/emails`,
      headers: admin,
      payload: { emailId: `<${randomUUID()}@mail.example.com>`, senderId: 's-1', recipients: [{ contactId: 'c-1', type: 'contact' }], links: [], follow: true },
    });
    expect(res.statusCode, res.body).toBe(201);
    const holding: string[] = [];
    for await (const batch of scanKeys(h.redis, `*${h.config.redisPrefix}*`)) holding.push(...batch.filter((k) => k.includes('dora@example.com')));
    expect(holding).toEqual([]);
  });
});

describe('the control state of an org id with an at sign is kept under a digest (DESIGN §2.5)', () => {
  /** Every key under the test prefix whose name holds `part`. */
  async function keysHolding(part: string): Promise<string[]> {
    const holding: string[] = [];
    for await (const batch of scanKeys(h.redis, `*${h.config.redisPrefix}*`)) holding.push(...batch.filter((k) => k.includes(part)));
    return holding;
  }

  it('answers its switch-off, subscription end and opt-out, keeps their state, and names no key after the address', async () => {
    const local = `newcomer-${randomUUID()}`;
    const orgId = `${local}@example.com`;
    const off = await h.app.inject({ method: 'PUT', url: `/v1/orgs/${orgId}/engagement`, headers: admin, payload: { enabled: false } });
    expect(off.statusCode, off.body).toBe(200);
    const ended = await h.app.inject({ method: 'POST', url: `/v1/orgs/${orgId}/subscription/end`, headers: admin });
    expect(ended.statusCode, ended.body).toBe(200);
    await follow(orgId, 'contacts', 'c-1', false);

    const stored = keys();
    expect(await h.redis.hget(stored.controlOrg(orgId), 'enabled')).toBe('0');
    expect(await h.redis.hget(stored.controlOrg(orgId), 'subscriptionEndedAt')).toMatch(/^\d+$/);
    expect(await h.redis.hget(stored.controlContacts(orgId), 'c-1')).toMatch(/^0:/);
    expect(await h.redis.scard(stored.suppression(orgId))).toBe(1);
    // what the store's readers find under those names (no fallback: Redis alone)
    const store = new ControlStore(h.redis, stored, undefined, h.config.suppressionSecret);
    expect(await store.readOrg(orgId)).toMatchObject({ enabled: false, subscriptionEndedAt: expect.any(Number) });
    expect((await store.readRecipientsAllow(orgId, [{ type: 'contact', id: 'c-1' }])).get(recipientKey('contact', 'c-1'))).toBe(false);
    expect(await keysHolding(local)).toEqual([]);
  });

  /** The keys a version before the digest names kept for `orgId`, under the id itself. */
  async function keptUnderTheId(orgId: string): Promise<void> {
    const p = h.config.redisPrefix;
    await h.redis
      .multi()
      .hset(`${p}:ctl:org:${orgId}`, { enabled: '1', rev: '7' })
      .hset(`${p}:ctl:contacts:${orgId}`, 'c-9', '0:1700000000000')
      .hset(`${p}:ctl:leads:${orgId}`, 'l-9', '1:1700000000000')
      .sadd(`${p}:suppress:${orgId}`, 'hash-kept-before')
      .exec();
  }

  it('drops what an older version still running writes under the address: the digest names keep the topic\'s state', async () => {
    const local = `legacy-${randomUUID()}`;
    const orgId = `${local}@example.com`;
    const off = await h.app.inject({ method: 'PUT', url: `/v1/orgs/${orgId}/engagement`, headers: admin, payload: { enabled: false } });
    expect(off.statusCode, off.body).toBe(200);
    // an instance of the version before, still running during an upgrade, writes under the id itself
    await keptUnderTheId(orgId);
    await waitFor(async () => (await keysHolding(local)).length === 0, { timeoutMs: 30_000, message: 'the control role dropped the keys named after the address' });
    const stored = keys();
    // the state is the control topic's, not the stale copy's (that instance wrote its events to the topic too)
    expect(await h.redis.sismember(stored.suppression(orgId), 'hash-kept-before')).toBe(0);
    expect(await h.redis.hget(stored.controlOrg(orgId), 'enabled')).toBe('0');
    const read = await h.app.inject({ method: 'GET', url: `/v1/orgs/${orgId}/kpis`, headers: admin });
    expect(read.statusCode, read.body).toBe(403);
  });

  it('moves them at the control role\'s start, suppressions kept, also for an org the store lists but the topic holds nothing of', async () => {
    const local = `listed-${randomUUID()}`;
    const orgId = `${local}@example.com`;
    await keptUnderTheId(orgId);
    await h.redis.sadd(keys().controlOrgs(), orgId);
    const restarted = await startProcessors(h.config, { roles: ['control'] });
    try {
      await waitFor(async () => (await keysHolding(local)).length === 0, { timeoutMs: 30_000, message: 'the new control role dropped the keys named after the address' });
    } finally {
      await restarted.stop();
    }
    expect(await h.redis.sismember(keys().suppression(orgId), 'hash-kept-before')).toBe(1);
    await h.redis.srem(keys().controlOrgs(), orgId);
  });
});

describe('enabling an org at or before its purge', () => {
  it('answers 409 conflict and says so, rather than 200 with the org still disabled', async () => {
    const org = `org-late-purge-${randomUUID()}`;
    await enable(org);
    // a purge stamped ahead of this API's clock (another host's clock, skewed)
    const purge: OrgPurged = { type: 'OrgPurged', eventId: randomUUID(), orgId: org, occurredAt: Date.now() + 3_600_000 };
    await new ControlStore(h.redis, keys(), undefined, h.config.suppressionSecret).apply([purge]);
    const res = await h.app.inject({ method: 'PUT', url: `/v1/orgs/${org}/engagement`, headers: admin, payload: { enabled: true } });
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json()).toMatchObject({ error: 'conflict' });
    expect(res.json<{ message: string }>().message).toContain('stays disabled');
    expect(res.json<{ message: string }>().message).toContain('a purge of the org');
    const off = await h.app.inject({ method: 'PUT', url: `/v1/orgs/${org}/engagement`, headers: admin, payload: { enabled: false } });
    expect(off.statusCode, off.body).toBe(200);
  });

  it('says so when a later switch (not a purge) outlives the enable', async () => {
    const org = `org-later-switch-${randomUUID()}`;
    // a disable stamped ahead of this API's clock (sent through /v1/events, or another instance's clock)
    const later = { type: 'OrgEngagementDisabled' as const, eventId: randomUUID(), orgId: org, occurredAt: Date.now() + 60_000 };
    await new ControlStore(h.redis, keys(), undefined, h.config.suppressionSecret).apply([later]);
    const res = await h.app.inject({ method: 'PUT', url: `/v1/orgs/${org}/engagement`, headers: admin, payload: { enabled: true } });
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json<{ message: string }>().message).toContain('a later switch');
    expect(res.json<{ message: string }>().message).not.toContain('purged');
  });
});

describe('suppression list: "do not allow" outlives a purge', () => {
  it('opt-out → purge → re-enable → send answers followed:false until the CRM says allow, also after the control role re-read the topic', async () => {
    const org = 'org-supp';
    const k = keys();
    await enable(org);
    await follow(org, 'contacts', 'gone-1', false);
    await follow(org, 'leads', 'back-1', false);
    await follow(org, 'leads', 'back-1', true);

    // the purge, as retention does it: OrgPurged on the control topic and in the store, then the keys
    const purge: OrgPurged = { type: 'OrgPurged', eventId: randomUUID(), orgId: org, occurredAt: Date.now() };
    await h.producer.send(purge);
    await new ControlStore(h.redis, k, undefined, h.config.suppressionSecret).apply([purge]);
    await purgeOrgFromRedis(h.redis, k, org);
    for (const type of ['contact', 'lead', 'account'] as const) expect(await h.redis.exists(k.controlRecipients(org, type))).toBe(0);
    expect(await h.redis.smembers(k.suppression(org))).toEqual([suppressionHash(h.config.suppressionSecret, org, 'contact', 'gone-1')]);

    // a fresh control role reads the whole control topic again and rewrites the store
    await h.redis.del(k.controlSynced());
    const again = await startProcessors(h.config, { roles: ['control'] });
    try {
      await waitFor(async () => (await h.redis.exists(k.controlSynced())) === 1, { message: 'the new control role synced the store' });
    } finally {
      await again.stop();
    }
    // no plain preference of the purged org came back: its ids are nowhere in Redis in the clear
    for (const type of ['contact', 'lead', 'account'] as const) expect(await h.redis.hgetall(k.controlRecipients(org, type))).toEqual({});
    const everything: string[] = [];
    for (const pattern of k.patterns()) {
      let cursor = '0';
      do {
        const [next, found] = await h.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        everything.push(...found);
      } while (cursor !== '0');
    }
    for (const key of everything.filter((name) => name.includes(org))) {
      const type = await h.redis.type(key);
      const content = type === 'hash' ? JSON.stringify(await h.redis.hgetall(key)) : type === 'set' ? JSON.stringify(await h.redis.smembers(key)) : String(await h.redis.get(key).catch(() => ''));
      expect(`${key} ${content}`).not.toMatch(/gone-1|back-1/);
    }

    await enable(org); // re-subscribed
    const answer = await sent(org, [
      { contactId: 'gone-1', type: 'contact' },
      { contactId: 'back-1', type: 'lead' },
      { contactId: 'new-1', type: 'contact' },
    ]);
    expect(answer.recipients.map((r) => [r.contactId, r.followed])).toEqual([
      ['gone-1', false],
      ['back-1', true],
      ['new-1', true],
    ]);
    expect(answer.recipients[0]!.openPixelUrl).toBeUndefined();

    // the CRM says "allow": the hash goes, the recipient is followed again
    await follow(org, 'contacts', 'gone-1', true);
    expect(await h.redis.scard(k.suppression(org))).toBe(0);
    expect((await sent(org, [{ contactId: 'gone-1', type: 'contact' }])).recipients[0]!.followed).toBe(true);
  });
});

describe('fail closed: an unreadable control record', () => {
  it('stops collection for its org and only its org, is dead-lettered and counted, until an admin resolves it', async () => {
    const [orgU, orgV] = ['org-unread', 'org-fine'];
    await enable(orgU);
    await enable(orgV);
    const u = await sent(orgU, [{ contactId: 'cu', type: 'contact' }]);
    const v = await sent(orgV, [{ contactId: 'cv', type: 'contact' }]);
    await open(u.recipients[0]!.openPixelUrl);
    await open(v.recipients[0]!.openPixelUrl);
    await projected();
    const opens = async (orgId: string, answer: EmailSendResponse) => {
      const res = await h.app.inject({ method: 'GET', url: `/v1/orgs/${orgId}/emails/${answer.emailId}/kpis`, headers: admin });
      return res.json<{ opens: number }>().opens;
    };
    expect([await opens(orgU, u), await opens(orgV, v)]).toEqual([1, 1]);

    // a corrupt record keyed by org U (it may have been a disable or an opt-out)
    const producer = kafka.producer();
    await producer.connect();
    const [meta] = await producer.send({ topic: topicsFor(h.config).control, messages: [{ key: orgU, value: Buffer.from('not avro at all'), timestamp: String(Date.now()) }] });
    await producer.disconnect();
    const bad = { partition: meta!.partition, offset: Number(meta!.baseOffset) };
    await waitFor(async () => (await new ControlStore(h.redis, keys()).readUnreadable(orgU)).length === 1, { message: 'the control role listed the record' });

    expect(await new ControlStore(h.redis, keys()).readUnreadable(orgV)).toEqual([]);
    const refused = await send(orgU, [{ contactId: 'cu', type: 'contact' }]);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ error: 'control_unreadable' });
    expect((await send(orgV, [{ contactId: 'cv', type: 'contact' }])).statusCode).toBe(201);

    const metrics = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/engagement_control_records_failed_total\{code="decode_failed"\} [1-9]/);
    const dlq = kafka.consumer({ groupId: `${h.config.topicPrefix}.dlq-${randomUUID()}` });
    const letters: Array<Record<string, string>> = [];
    await dlq.connect();
    await dlq.subscribe({ topic: topicsFor(h.config).deadletter, fromBeginning: true });
    await dlq.run({
      eachMessage: async ({ message }) => {
        letters.push(Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)])));
      },
    });
    try {
      await waitFor(() => letters.find((l) => l['dlq.topic'] === topicsFor(h.config).control), { message: 'the control record dead-lettered' });
    } finally {
      await dlq.disconnect();
    }
    expect(letters.find((l) => l['dlq.topic'] === topicsFor(h.config).control)).toMatchObject({
      'dlq.code': 'decode_failed',
      'dlq.partition': String(bad.partition),
      'dlq.offset': String(bad.offset),
    });

    // opens of U while blocked are not collected; V's are
    await open(u.recipients[0]!.openPixelUrl);
    await open(v.recipients[0]!.openPixelUrl);
    await projected();
    expect([await opens(orgU, u), await opens(orgV, v)]).toEqual([1, 2]);
    expect((processors.stats().projector as { gatedOut: Record<string, number> }).gatedOut.control_unreadable).toBeGreaterThanOrEqual(1);

    // an admin resolves it (only the admin key may)
    const byOrgKey = await h.app.inject({ method: 'POST', url: `/v1/orgs/org-a/control/resolve`, headers: bearer(KEYS.a), payload: bad });
    expect(byOrgKey.statusCode).toBe(403);
    // an offset that is not an unresolved unreadable record (a typo): refused, nothing written
    const typo = await h.app.inject({ method: 'POST', url: `/v1/orgs/${orgU}/control/resolve`, headers: admin, payload: { ...bad, offset: bad.offset + 1000 } });
    expect(typo.statusCode, typo.body).toBe(404);
    expect(typo.json()).toMatchObject({ error: 'not_found' });
    const resolved = await h.app.inject({ method: 'POST', url: `/v1/orgs/${orgU}/control/resolve`, headers: admin, payload: bad });
    expect(resolved.statusCode, resolved.body).toBe(200);
    expect(resolved.json()).toMatchObject({ orgId: orgU, ...bad, unresolved: [] });
    expect((await send(orgU, [{ contactId: 'cu', type: 'contact' }])).statusCode).toBe(201);
    await open(u.recipients[0]!.openPixelUrl);
    await projected();
    expect([await opens(orgU, u), await opens(orgV, v)]).toEqual([2, 2]);
  });
});
