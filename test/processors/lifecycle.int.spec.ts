/**
 * Issue 12 (items 1 and 4): the follow decision is made once, when the API accepts the send, and
 * collection stops at a subscription's end and at a purge. Real HTTP API, Kafka, processors, Redis.
 */

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../core/kafka.js';
import { topicsFor } from '../../core/topics.js';
import { startProcessors, type ProcessorsHandle } from '../../processors/index.js';
import type { RoleStats } from '../../processors/stats.js';
import { ControlStore } from '../../projections/control/control-store.js';
import { keysFor } from '../../projections/keys.js';
import type { OrgPurged } from '../../schemas/events.js';
import { readStoredOffsets } from '../../projections/projector/apply-batch.js';
import { bearer, KEYS, startApiHarness, type ApiHarness } from '../producers/support/api-harness.js';
import { waitFor } from '../support/env.js';

const HOUR = 3_600_000;
const MIN = 60_000;
// Pinned clock: whole hours two days ago (in the past, so every record's occurredAt is within the skew bound).
const T = Math.floor(Date.now() / HOUR) * HOUR - 48 * HOUR;
const BROWSER = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15';

let h: ApiHarness;
let processors: ProcessorsHandle;

interface Recipient {
  contactId: string;
  followed: boolean;
  openPixelUrl?: string;
}

const admin = bearer(KEYS.admin);
const at = (ms: number | undefined) => h.setNow(ms);
const get = (url: string) => h.app.inject({ method: 'GET', url, headers: admin });
const enable = (orgId: string, enabled = true) =>
  h.app.inject({ method: 'PUT', url: `/v1/orgs/${orgId}/engagement`, headers: admin, payload: { enabled } });
const send = (orgId: string, emailId: string, extra: Record<string, unknown> = {}) =>
  h.app.inject({
    method: 'POST',
    url: `/v1/orgs/${orgId}/emails`,
    headers: admin,
    payload: { emailId, senderId: 's1', recipients: [{ contactId: 'c1', type: 'contact' }], links: [], follow: true, ...extra },
  });
const open = (pixelUrl: string) => h.app.inject({ method: 'GET', url: pixelUrl.replace(h.config.publicBaseUrl, ''), headers: { 'user-agent': BROWSER } });
const projectorStats = () => processors.stats().projector as RoleStats;

/** The records on the emails topic once the projector's stored offsets reach its end, else false. */
async function projectedToEnd(): Promise<number | false> {
  const topic = topicsFor(h.config).emails;
  const kafkaAdmin = createKafka(h.config).admin();
  await kafkaAdmin.connect();
  try {
    const ends = await kafkaAdmin.fetchTopicOffsets(topic);
    const stored = await readStoredOffsets(h.redis, keysFor(h.config.redisPrefix).version(1).offsets(topic));
    const atEnd = ends.every((p) => Number(p.high) === 0 || stored.get(p.partition) === Number(p.high));
    return atEnd && ends.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await kafkaAdmin.disconnect();
  }
}

/**
 * Everything the API wrote is on the topic, the projector has applied it, and its runner has
 * counted it: the stored offsets are in Redis a moment before the runner counts the batch (the
 * script's reply and this test's read of Redis arrive on two connections, in either order).
 */
async function settle(): Promise<void> {
  await h.producer.flush();
  const records = await waitFor(projectedToEnd, { timeoutMs: 30_000, message: 'projector at the end of the emails topic' });
  await waitFor(() => projectorStats().records >= records, { message: `projector runner counted ${records} records` });
}

async function sendFollowed(orgId: string, emailId: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await send(orgId, emailId, extra);
  expect(res.statusCode, res.body).toBe(201);
  const recipient = res.json<{ recipients: Recipient[] }>().recipients[0]!;
  expect(recipient.followed).toBe(true);
  return recipient.openPixelUrl!;
}

beforeAll(async () => {
  h = await startApiHarness();
  processors = await startProcessors(h.config);
}, 60_000);

afterAll(async () => {
  await processors?.stop();
  await h?.close();
});

describe('the follow decision is made when the API accepts the send', () => {
  it('a followed email reported an hour late (sentAt = now − 1 h) counts its recipient', async () => {
    at(undefined); // the real clock: the send is accepted now, its sentAt an hour ago
    const org = 'org-late';
    expect((await enable(org)).statusCode).toBe(200);
    const sentAt = new Date(Date.now() - HOUR).toISOString();
    const pixel = await sendFollowed(org, 'e-late', { sentAt });
    expect((await open(pixel)).statusCode).toBe(200);
    await settle();

    const email = await get(`/v1/orgs/${org}/emails/e-late/kpis`);
    expect(email.statusCode).toBe(200);
    expect(email.json()).toMatchObject({ recipients: 1, followedRecipients: 1, sentAt, opens: 1, uniqueOpens: 1, openRate: 1 });
    const contact = await get(`/v1/orgs/${org}/contacts/c1/kpis?days=7`);
    expect(contact.statusCode).toBe(200);
    expect(contact.json()).toMatchObject({ emailsReceived: 1, emailsOpened: 1, openRate: 1 });
  });
});

describe('subscription end stops collection at its instant; renew restores it', () => {
  it('collects before the end, nothing after it, again after the renewal; KPIs stay readable', async () => {
    const org = 'org-sub';
    at(T);
    expect((await enable(org)).statusCode).toBe(200);
    at(T + HOUR);
    const pixel = await sendFollowed(org, 'e-sub');
    at(T + 2 * HOUR);
    await open(pixel);
    await settle();
    const gatedBefore = projectorStats().gatedOut.subscription_ended;

    at(T + 3 * HOUR);
    const end = await h.app.inject({ method: 'POST', url: `/v1/orgs/${org}/subscription/end`, headers: admin });
    expect(end.statusCode).toBe(200);
    at(T + 3 * HOUR + MIN);
    const refused = await send(org, 'e-after-end');
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ error: 'subscription_ended' });
    // Not followed, the email is accepted (as while disabled), but nothing after the end is collected.
    expect((await send(org, 'e-unfollowed', { follow: false })).statusCode).toBe(201);
    at(T + 4 * HOUR);
    await open(pixel); // after the end: not collected
    await settle();
    expect(projectorStats().gatedOut.subscription_ended - gatedBefore).toBe(2);
    const readable = await get(`/v1/orgs/${org}/emails/e-sub/kpis`);
    expect(readable.statusCode).toBe(200);
    expect(readable.json()).toMatchObject({ recipients: 1, opens: 1 });

    at(T + 5 * HOUR);
    expect((await h.app.inject({ method: 'POST', url: `/v1/orgs/${org}/subscription/renew`, headers: admin })).statusCode).toBe(200);
    at(T + 6 * HOUR);
    await open(pixel); // after the renewal: collected
    await sendFollowed(org, 'e-renewed');
    await settle();
    expect((await get(`/v1/orgs/${org}/emails/e-sub/kpis`)).json()).toMatchObject({ recipients: 1, opens: 2 });
    expect((await get(`/v1/orgs/${org}/emails/e-renewed/kpis`)).json()).toMatchObject({ recipients: 1, followedRecipients: 1 });
  });
});

describe('after a purge the org is disabled until an administrator enables it again', () => {
  it('collects nothing after the purge while the org is still "enabled" from before; an enable restores collection', async () => {
    const org = 'org-purge';
    at(T);
    expect((await enable(org)).statusCode).toBe(200);
    at(T + HOUR);
    const pixel = await sendFollowed(org, 'e-purge');
    at(T + 2 * HOUR);
    await open(pixel);
    await settle(); // gated and applied before the purge exists
    const gatedBefore = projectorStats().gatedOut.org_disabled;

    // The purge event alone (the deletions are retention's part): what the gate and the API make of it.
    const purgedAt = T + 3 * HOUR;
    at(purgedAt);
    // as retention's event step does it (POST /v1/events refuses OrgPurged: a purge is retention's to make)
    const purge: OrgPurged = { type: 'OrgPurged', eventId: randomUUID(), orgId: org, occurredAt: purgedAt };
    await h.producer.send(purge);
    await new ControlStore(h.redis, keysFor(h.config.redisPrefix)).apply([purge]);
    const viaIngest = await h.app.inject({ method: 'POST', url: '/v1/events', headers: admin, payload: [{ type: 'OrgPurged', orgId: org, occurredAt: purgedAt }] });
    expect(viaIngest.json()).toMatchObject({ results: [{ status: 'rejected', error: 'forbidden' }] });
    at(T + 4 * HOUR);
    expect((await get(`/v1/orgs/${org}/kpis`)).json()).toMatchObject({ error: 'engagement_disabled' });
    const refused = await send(org, 'e-after-purge');
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ error: 'engagement_disabled' });
    await open(pixel); // after the purge, not re-enabled: not collected
    await settle();
    expect(projectorStats().gatedOut.org_disabled - gatedBefore).toBe(1);

    at(T + 5 * HOUR);
    expect((await enable(org)).json()).toMatchObject({ enabled: true });
    at(T + 6 * HOUR);
    await open(pixel);
    await settle();
    // The open before the purge (its deletion is not part of this test) and the one after the enable.
    expect((await get(`/v1/orgs/${org}/emails/e-purge/kpis`)).json()).toMatchObject({ opens: 2 });
  });
});
