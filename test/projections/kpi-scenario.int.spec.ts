/**
 * Issue: KPI queries, the org lifecycle and retention. A scripted scenario goes through the
 * real HTTP API, Kafka, the processors and Redis; every KPI is compared with values computed
 * by hand from the script below.
 */

import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContainerClient } from '../../core/blob.js';
import { createKafka } from '../../core/kafka.js';
import { topicsFor } from '../../core/topics.js';
import { startProcessors, type ProcessorsHandle } from '../../processors/index.js';
import { keysFor } from '../../projections/keys.js';
import { readStoredOffsets } from '../../projections/projector/apply-batch.js';
import { childEnv } from '../processors/support/child.js';
import { bearer, KEYS, startApiHarness, type ApiHarness } from '../producers/support/api-harness.js';
import { waitFor } from '../support/env.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T = Date.UTC(2026, 10, 20, 9, 0); // Friday 09:00 UTC: the send
const BROWSER = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15';
const GMAIL = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
const SCANNER = 'Mimecast URL Protect/1.0';

let h: ApiHarness;
let processors: ProcessorsHandle;
let recipients: Recipient[];

interface Recipient {
  contactId: string;
  followed: boolean;
  openPixelUrl?: string;
  links: Array<{ url: string; trackedUrl: string }>;
  attachments?: Array<{ name: string; trackedUrl: string }>;
}

const at = (ms: number) => h.setNow(ms);
const path = (url: string) => url.replace(h.config.publicBaseUrl, '');
const get = (url: string, key: string = KEYS.a) => h.app.inject({ method: 'GET', url, headers: bearer(key) });
const hit = (url: string, userAgent: string, method: 'GET' | 'HEAD' = 'GET') =>
  h.app.inject({ method, url: path(url), headers: { 'user-agent': userAgent } });

async function projectedToEnd(): Promise<boolean> {
  const topic = topicsFor(h.config).emails;
  const admin = createKafka(h.config).admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const stored = await readStoredOffsets(h.redis, keysFor(h.config.redisPrefix).version(1).offsets(topic));
    return ends.every((p) => Number(p.high) === 0 || stored.get(p.partition) === Number(p.high));
  } finally {
    await admin.disconnect();
  }
}

async function settle(): Promise<void> {
  await waitFor(projectedToEnd, { timeoutMs: 30_000, message: 'projector at the end of the emails topic' });
}

const expectedEmail = {
  orgId: 'org-a',
  emailId: 'e1',
  senderId: 's1',
  templateId: 't1',
  subject: 'Renewal',
  sentAt: new Date(T).toISOString(),
  recipients: 3,
  followedRecipients: 3,
  opens: 3, // c1 twice, c2 once through Gmail's image proxy (a person)
  uniqueOpens: 2,
  firstOpenedAt: new Date(T + HOUR).toISOString(),
  lastOpenedAt: new Date(T + 3 * HOUR).toISOString(),
  clicks: 3, // c1 on l0 and l1, c2 on l1; the scanner's click is apart
  uniqueClicks: 2,
  links: [
    { linkId: 'l0', url: 'https://example.com/pricing', clicks: 1, uniqueClicks: 1 },
    { linkId: 'l1', url: 'https://example.com/case-study', clicks: 2, uniqueClicks: 2 },
  ],
  attachmentViews: 1,
  replies: 2, // c1 replied twice: one replying recipient
  uniqueReplies: 1,
  machineOpens: 1, // c3's HEAD
  machineClicks: 1, // c3's scanner
  openRate: 2 / 3,
  clickRate: 2 / 3,
  clickToOpenRate: 1,
  replyRate: 1 / 3,
};

const rollup = {
  emails: 1,
  recipients: 3,
  followedRecipients: 3,
  opens: 3,
  uniqueOpens: 2,
  clicks: 3,
  uniqueClicks: 2,
  uniqueReplies: 1, // rollups count replying recipients
  replies: 1, // the same count under its old name (DESIGN §6 names stay)
  attachmentViews: 1,
  machineOpens: 1,
  machineClicks: 1,
  openRate: 2 / 3,
  clickRate: 2 / 3,
  clickToOpenRate: 1,
  replyRate: 1 / 3,
};

beforeAll(async () => {
  h = await startApiHarness({ BLOB_FLUSH_SECONDS: '1', BLOB_CYCLE_OFFSETS: '1000' });
  processors = await startProcessors(h.config);

  at(T - HOUR);
  expect((await h.app.inject({ method: 'PUT', url: '/v1/orgs/org-a/engagement', headers: bearer(KEYS.a), payload: { enabled: true } })).statusCode).toBe(200);
  at(T);
  const sent = await h.app.inject({
    method: 'POST',
    url: '/v1/orgs/org-a/emails',
    headers: bearer(KEYS.a),
    payload: {
      emailId: 'e1',
      senderId: 's1',
      templateId: 't1',
      subject: 'Renewal',
      recipients: [
        { contactId: 'c1', type: 'contact', timeZone: 'Europe/Paris' },
        { contactId: 'c2', type: 'contact' },
        { contactId: 'c3', type: 'lead' },
      ],
      links: [{ url: 'https://example.com/pricing' }, { url: 'https://example.com/case-study' }],
      attachments: [{ name: 'terms.pdf', url: 'https://files.example.com/terms.pdf' }],
      follow: true,
    },
  });
  expect(sent.statusCode).toBe(201);
  recipients = sent.json<{ recipients: Recipient[] }>().recipients;
  const [c1, c2, c3] = recipients;

  at(T + HOUR);
  await hit(c1!.openPixelUrl!, BROWSER);
  at(T + HOUR + 60_000);
  await hit(c1!.links[0]!.trackedUrl, BROWSER);
  at(T + 2 * HOUR);
  await hit(c1!.openPixelUrl!, BROWSER);
  at(T + 3 * HOUR);
  await hit(c2!.openPixelUrl!, GMAIL);
  at(T + 3 * HOUR + 60_000);
  await hit(c2!.links[1]!.trackedUrl, BROWSER);
  at(T + 3 * HOUR + 120_000);
  await hit(c2!.attachments![0]!.trackedUrl, BROWSER);
  at(T + 4 * HOUR);
  await hit(c3!.openPixelUrl!, BROWSER, 'HEAD');
  at(T + 4 * HOUR + 30_000);
  await hit(c3!.links[0]!.trackedUrl, SCANNER);
  at(T + 5 * HOUR);
  await hit(c1!.links[1]!.trackedUrl, BROWSER);
  at(T + 6 * HOUR);
  const reply = await h.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: bearer(KEYS.a),
    payload: [
      { type: 'EmailReplied', orgId: 'org-a', emailId: 'e1', contactId: 'c1', occurredAt: new Date(T + 6 * HOUR).toISOString() },
      { type: 'EmailReplied', orgId: 'org-a', emailId: 'e1', contactId: 'c1', occurredAt: new Date(T + 6 * HOUR + 60_000).toISOString() },
    ],
  });
  expect(reply.statusCode).toBe(200);
  at(T + 6 * HOUR + 60_000);
  await settle();
}, 120_000);

afterAll(async () => {
  await processors?.stop();
  await h?.close();
});

describe('KPI queries over the projections', () => {
  it('email KPIs equal the hand-computed values, field by field', async () => {
    const res = await get('/v1/orgs/org-a/emails/e1/kpis');
    expect(res.statusCode).toBe(200);
    const body = res.json<Record<string, unknown>>();
    for (const [field, value] of Object.entries(expectedEmail)) {
      if (typeof value === 'number' && !Number.isInteger(value)) expect(body[field], field).toBeCloseTo(value, 10);
      else expect(body[field], field).toEqual(value);
    }
  });

  it('org, sender and template rollups carry the day and the totals', async () => {
    const day = new Date(T).toISOString().slice(0, 10);
    for (const url of ['/v1/orgs/org-a/kpis', '/v1/orgs/org-a/senders/s1/kpis', '/v1/orgs/org-a/templates/t1/kpis']) {
      const res = await get(`${url}?from=${day}&to=${day}`);
      expect(res.statusCode, url).toBe(200);
      const body = res.json<Record<string, unknown> & { daily: Array<Record<string, unknown>> }>();
      for (const [field, value] of Object.entries(rollup)) expect(body[field], `${url} ${field}`).toBeCloseTo(value, 10);
      expect(body.daily).toHaveLength(1);
      expect(body.daily[0]).toMatchObject({ date: day, opens: 3, uniqueClicks: 2, machineClicks: 1 });
    }
  });

  it('contact KPIs: recipient activity over the window', async () => {
    const res = await get('/v1/orgs/org-a/contacts/c1/kpis?days=7');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      contactId: 'c1',
      days: 7,
      timeZone: 'Europe/Paris',
      emailsReceived: 1,
      emailsOpened: 1,
      emailsClicked: 1,
      emailsReplied: 1,
      openRate: 1,
      clickRate: 1,
      replyRate: 1,
      lastOpenedAt: new Date(T + 2 * HOUR).toISOString(),
      bestTimeToEmail: null, // two opens: below the minimum
    });
    // c3 is a lead: its own namespace (DESIGN §2.2), not the contact c3's
    const c3 = (await get('/v1/orgs/org-a/leads/c3/kpis')).json<Record<string, unknown>>();
    expect(c3).toMatchObject({ recipientType: 'lead', emailsReceived: 1, emailsOpened: 0, emailsClicked: 0, lastOpenedAt: null });
    expect((await get('/v1/orgs/org-a/contacts/c3/kpis')).statusCode).toBe(404);
  });

  it('answers 404 for the unknown, 400 naming a bad parameter, 401/403 across orgs', async () => {
    expect((await get('/v1/orgs/org-a/emails/nope/kpis')).statusCode).toBe(404);
    expect((await get('/v1/orgs/org-a/contacts/nobody/kpis')).statusCode).toBe(404);
    const badDays = await get('/v1/orgs/org-a/contacts/c1/kpis?days=9999');
    expect(badDays.statusCode).toBe(400);
    expect(badDays.json()).toMatchObject({ error: 'bad_request', details: [{ path: 'days' }] });
    const badDate = await get('/v1/orgs/org-a/kpis?from=2026-13-01&to=2026-12-01');
    expect(badDate.json()).toMatchObject({ error: 'bad_request', details: [{ path: 'from' }] });
    expect((await get('/v1/orgs/org-a/emails/e1/kpis', KEYS.b)).statusCode).toBe(403);
    expect((await get('/v1/orgs/org-a/kpis', KEYS.b)).statusCode).toBe(403);
    expect((await get('/v1/orgs/org-a/emails/e1/kpis', 'not-a-key')).statusCode).toBe(401);
    expect((await get('/v1/orgs/org-a/emails/e1/kpis', KEYS.admin)).statusCode).toBe(200);
  });

  it('a disabled org answers 403 and collects nothing; re-enabled, it serves the same numbers', async () => {
    const before = (await get('/v1/orgs/org-a/emails/e1/kpis')).json();
    at(T + 7 * HOUR);
    await h.app.inject({ method: 'PUT', url: '/v1/orgs/org-a/engagement', headers: bearer(KEYS.a), payload: { enabled: false } });
    const disabled = await get('/v1/orgs/org-a/emails/e1/kpis');
    expect(disabled.statusCode).toBe(403);
    expect(disabled.json()).toMatchObject({ error: 'engagement_disabled' });
    expect((await get('/v1/orgs/org-a/kpis')).statusCode).toBe(403);

    // An open and a reply while disabled: the pixel still answers, the gate drops both events.
    at(T + 7 * HOUR + 30_000);
    const pixel = await hit(recipients[1]!.openPixelUrl!, BROWSER);
    expect(pixel.statusCode).toBe(200);
    expect(pixel.headers['content-type']).toBe('image/gif');
    const events = await h.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: bearer(KEYS.a),
      payload: [{ type: 'EmailReplied', orgId: 'org-a', emailId: 'e1', contactId: 'c2', occurredAt: new Date(T + 7 * HOUR + 60_000).toISOString() }],
    });
    expect(events.statusCode).toBe(200);
    await settle();

    at(T + 8 * HOUR);
    await h.app.inject({ method: 'PUT', url: '/v1/orgs/org-a/engagement', headers: bearer(KEYS.a), payload: { enabled: true } });
    const after = await get('/v1/orgs/org-a/emails/e1/kpis');
    expect(after.statusCode).toBe(200);
    expect(after.json()).toEqual(before);
  });
});

describe('retention', () => {
  const ended = T + 12 * HOUR;

  beforeAll(async () => {
    at(T - HOUR);
    await h.app.inject({ method: 'PUT', url: '/v1/orgs/org-b/engagement', headers: bearer(KEYS.b), payload: { enabled: true } });
    at(T + HOUR);
    const sent = await h.app.inject({
      method: 'POST',
      url: '/v1/orgs/org-b/emails',
      headers: bearer(KEYS.b),
      payload: { emailId: 'b1', senderId: 's9', recipients: [{ contactId: 'x1', type: 'contact' }], links: [], follow: true },
    });
    at(T + 2 * HOUR);
    await hit(sent.json<{ recipients: Recipient[] }>().recipients[0]!.openPixelUrl!, BROWSER);
    at(ended);
    expect((await h.app.inject({ method: 'POST', url: '/v1/orgs/org-b/subscription/end', headers: bearer(KEYS.admin) })).statusCode).toBe(200);
    await settle();
    const container = createContainerClient(h.config);
    await waitFor(
      async () => {
        const orgs = new Set<string>();
        for await (const blob of container.listBlobsFlat()) orgs.add(blob.name.split('/')[0]!);
        return orgs.has('org=org-a') && orgs.has('org=org-b');
      },
      { timeoutMs: 30_000, message: 'both orgs landed in blob storage' },
    );
  }, 60_000);

  // Landing blobs have their own, shorter retention; set far out here so the org purge shows alone.
  const runRetention = (now: number, blobRetentionDays = '365') => {
    const env = { ...childEnv(h.config), BLOB_RETENTION_DAYS: blobRetentionDays, LOG_LEVEL: 'warn' };
    const run = spawnSync('node', ['bin/engagement.js', 'retention', 'run', '--now', new Date(now).toISOString(), '--json'], { env, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as { purged: Array<{ orgId: string; redisKeysDeleted: number; blobsDeleted: number }>; expiredBlobsDeleted: number };
  };

  const blobsOf = async (orgId: string): Promise<number> => {
    let n = 0;
    for await (const _ of createContainerClient(h.config).listBlobsFlat({ prefix: `org=${orgId}/` })) n++;
    return n;
  };

  it('keeps everything at end + 89 days', async () => {
    const report = runRetention(ended + 89 * DAY);
    expect(report.purged).toEqual([]);
    expect((await get('/v1/orgs/org-b/emails/b1/kpis', KEYS.b)).statusCode).toBe(200);
    expect(await blobsOf('org-b')).toBeGreaterThan(0);
  });

  it('purges the org from Redis and blob storage at end + 91 days, leaving the other org untouched', async () => {
    const orgABefore = (await get('/v1/orgs/org-a/emails/e1/kpis')).json();
    const orgABlobs = await blobsOf('org-a');
    const report = runRetention(ended + 91 * DAY);
    expect(report.purged.map((p) => p.orgId)).toEqual(['org-b']);
    expect(report.purged[0]!.redisKeysDeleted).toBeGreaterThan(0);
    expect(await blobsOf('org-b')).toBe(0);
    const v1 = keysFor(h.config.redisPrefix).version(1);
    expect(await h.redis.exists(v1.email('org-b', 'b1'), v1.orgIndex('org-b'), v1.contact('org-b', 'x1'))).toBe(0);
    // After the purge the org is disabled until an administrator enables it again, and the control
    // store forgets it: it reads as a new org, disabled (DESIGN §2 rule 3). Re-enabled, nothing is left.
    const disabled = await get('/v1/orgs/org-b/emails/b1/kpis', KEYS.b);
    expect([disabled.statusCode, disabled.json()]).toMatchObject([403, { error: 'engagement_disabled' }]);
    expect(await h.redis.exists(keysFor(h.config.redisPrefix).controlOrg('org-b'))).toBe(0);
    at(ended + 91 * DAY + HOUR);
    expect((await h.app.inject({ method: 'PUT', url: '/v1/orgs/org-b/engagement', headers: bearer(KEYS.admin), payload: { enabled: true } })).statusCode).toBe(200);
    expect((await get('/v1/orgs/org-b/emails/b1/kpis', KEYS.b)).statusCode).toBe(404);
    expect((await get('/v1/orgs/org-a/emails/e1/kpis')).json()).toEqual(orgABefore);
    expect(await blobsOf('org-a')).toBe(orgABlobs);
    // A second pass finds nothing more to do.
    expect(runRetention(ended + 92 * DAY).purged).toEqual([]);
  });

  it('expires landing blobs after BLOB_RETENTION_DAYS while the KPIs stay', async () => {
    const kpis = (await get('/v1/orgs/org-a/emails/e1/kpis')).json();
    expect(runRetention(T + 29 * DAY, '30').expiredBlobsDeleted).toBe(0);
    expect(await blobsOf('org-a')).toBeGreaterThan(0);
    expect(runRetention(T + 31 * DAY, '30').expiredBlobsDeleted).toBeGreaterThan(0);
    expect(await blobsOf('org-a')).toBe(0);
    expect((await get('/v1/orgs/org-a/emails/e1/kpis')).json()).toEqual(kpis);
  });
});
