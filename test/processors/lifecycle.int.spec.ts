/**
 * Issue 12: the follow decision is made once, when the API accepts the send. Real HTTP API, Kafka,
 * processors, Redis.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../core/kafka.js';
import { topicsFor } from '../../core/topics.js';
import { startProcessors, type ProcessorsHandle } from '../../processors/index.js';
import type { RoleStats } from '../../processors/stats.js';
import { keysFor } from '../../projections/keys.js';
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

async function projectedToEnd(): Promise<boolean> {
  const topic = topicsFor(h.config).emails;
  const kafkaAdmin = createKafka(h.config).admin();
  await kafkaAdmin.connect();
  try {
    const ends = await kafkaAdmin.fetchTopicOffsets(topic);
    const stored = await readStoredOffsets(h.redis, keysFor(h.config.redisPrefix).version(1).offsets(topic));
    return ends.every((p) => Number(p.high) === 0 || stored.get(p.partition) === Number(p.high));
  } finally {
    await kafkaAdmin.disconnect();
  }
}

/** Everything the API wrote is on the topic and the projector has applied it. */
async function settle(): Promise<void> {
  await h.producer.flush();
  await waitFor(projectedToEnd, { timeoutMs: 30_000, message: 'projector at the end of the emails topic' });
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
