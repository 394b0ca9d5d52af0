/**
 * The dashboard in a real browser, over data that went through the real pipeline (API → Kafka →
 * projector → Redis): the numbers each page shows are the API's JSON; an org key sees its org
 * only; the admin sees the operations page, with the dead letter garbage produced.
 */
import { randomUUID } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../../core/kafka.js';
import { topicsFor } from '../../../core/topics.js';
import { percent, when } from '../../../api/dashboard/html.js';
import { CONTACT_WINDOW } from '../../../projections/queries/contact-kpis.js';
import { startProcessors, type ProcessorsHandle } from '../../../processors/index.js';
import { waitFor } from '../../support/env.js';
import { highWatermarkTotal, storedOffsetTotal } from '../../processors/support/verify.js';
import { KEYS, bearer, startApiHarness, type ApiHarness } from '../../producers/support/api-harness.js';
import type { EmailSendResponse } from '../../producers/support/types.js';
import { launchBrowser, SCREENSHOTS } from './browser.js';

let h: ApiHarness;
let processors: ProcessorsHandle;
let browser: Browser;
let base: string;
/** answers of the writes in beforeAll, checked against the published schemas below */
const written: Array<{ path: string; method: string; status: number; body: unknown }> = [];
const emailId = `e-${randomUUID().slice(0, 8)}`;
const admin = bearer(KEYS.admin);
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';

async function api<T>(url: string, key: string = KEYS.a): Promise<T> {
  const res = await h.app.inject({ method: 'GET', url, headers: bearer(key) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<T>();
}

async function track(url: string, method: 'GET' | 'HEAD' = 'GET'): Promise<void> {
  const res = await h.app.inject({ method, url: new URL(url).pathname, headers: { 'user-agent': FIREFOX } });
  expect(res.statusCode).toBeLessThan(400);
}

async function projected(): Promise<void> {
  const topic = topicsFor(h.config).emails;
  const end = await h.endOffset(topic);
  await waitFor(async () => (await storedOffsetTotal(h.redis, h.config, topic)) >= end, { timeoutMs: 60_000, message: 'projector at the end of the emails topic' });
}

beforeAll(async () => {
  h = await startApiHarness();
  processors = await startProcessors(h.config, { roles: ['control', 'projector'] });
  base = await h.app.listen({ port: 0, host: '127.0.0.1' });

  for (const org of ['org-a', 'org-b', 'org-c']) {
    const res = await h.app.inject({ method: 'PUT', url: `/v1/orgs/${org}/engagement`, headers: admin, payload: { enabled: true } });
    expect(res.statusCode).toBe(200);
  }
  const ended = await h.app.inject({ method: 'POST', url: '/v1/orgs/org-c/subscription/end', headers: admin });
  expect(ended.statusCode, ended.body).toBe(200);
  const sent = await h.app.inject({
    method: 'POST',
    url: '/v1/orgs/org-a/emails',
    headers: bearer(KEYS.a),
    payload: {
      emailId,
      senderId: 'sender-ann',
      templateId: 'tpl-welcome',
      subject: 'Welcome aboard',
      sentAt: new Date(Date.now() - 3_600_000).toISOString(),
      recipients: [
        { contactId: 'c-1', type: 'contact', timeZone: 'Europe/Paris' },
        { contactId: 'c-2', type: 'contact' },
        { contactId: 'l-1', type: 'lead' },
      ],
      links: [{ url: 'https://example.com/pricing' }, { url: 'https://example.com/docs' }],
      follow: true,
    },
  });
  expect(sent.statusCode, sent.body).toBe(201);
  written.push({ path: '/v1/orgs/{orgId}/emails', method: 'post', status: 201, body: sent.json() });
  const [c1, c2, l1] = sent.json<EmailSendResponse>().recipients;
  for (let i = 0; i < 6; i++) await track(c1!.openPixelUrl);
  await track(c2!.openPixelUrl);
  await track(l1!.openPixelUrl, 'HEAD'); // a machine
  await track(c1!.links[0]!.trackedUrl);
  await track(c2!.links[1]!.trackedUrl);
  const replied = await h.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: bearer(KEYS.a),
    payload: [{ type: 'EmailReplied', orgId: 'org-a', emailId, contactId: 'c-1', recipientType: 'contact' }],
  });
  expect(replied.statusCode, replied.body).toBe(200);
  written.push({ path: '/v1/events', method: 'post', status: 200, body: replied.json() });

  // garbage on the emails topic: the projector dead-letters it
  const producer = createKafka(h.config).producer();
  await producer.connect();
  await producer.send({ topic: topicsFor(h.config).emails, messages: [{ key: `org-a/${emailId}`, value: Buffer.from('not an avro record') }] });
  await producer.disconnect();
  await projected();
  const kafka = createKafka(h.config);
  await waitFor(async () => (await highWatermarkTotal(kafka, topicsFor(h.config).deadletter)) > 0, { timeoutMs: 60_000, message: 'a dead letter' });
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await processors?.stop();
  await h?.close();
});

async function signIn(key: string, viewport = { width: 1280, height: 900 }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${base}/dashboard`);
  await page.fill('input[name=key]', key);
  await Promise.all([page.waitForURL((url) => !url.pathname.endsWith('/sign-in')), page.click('button[type=submit]')]);
  return { context, page };
}

const kpi = async (page: Page, name: string): Promise<string> => (await page.textContent(`[data-kpi="${name}"]`))?.trim() ?? '';

describe('sign-in', () => {
  it('a wrong key gets a clear message, not a stack trace; the key never shows in a URL', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/dashboard/orgs/org-a`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/sign-in');
    await page.fill('input[name=key]', 'not-a-key');
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('button[type=submit]')]);
    expect(response.status()).toBe(401);
    expect(await page.textContent('[data-testid=sign-in-error]')).toContain('That key is not valid');
    expect(await page.content()).not.toMatch(/at .*\.ts:\d+|Error:/);
    expect(page.url()).not.toContain('not-a-key');
    await page.screenshot({ path: `${SCREENSHOTS}sign-in-wrong-key.png`, fullPage: true });
    await page.close();
  });

  it('refuses a sign-in form posted from another site', async () => {
    for (const origin of ['https://evil.example', 'null']) {
      const res = await h.app.inject({ method: 'POST', url: '/dashboard/sign-in', headers: { origin, 'content-type': 'application/x-www-form-urlencoded' }, payload: `key=${KEYS.a}` });
      expect(res.statusCode).toBe(403);
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(res.headers['content-type']).toContain('text/html');
    }
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const post = (headers: Record<string, string>) => h.app.inject({ method: 'POST', url: '/dashboard/sign-in', headers: { ...form, ...headers }, payload: `key=${KEYS.a}` });
    // no Sec-Fetch-Site and no Origin: nothing says it is ours
    expect((await post({})).statusCode).toBe(403);
    // the browser's Sec-Fetch-Site wins over a matching Origin
    expect((await post({ 'sec-fetch-site': 'cross-site', origin: base })).statusCode).toBe(403);
    expect((await post({ 'sec-fetch-site': 'same-origin' })).statusCode).toBe(303);
    // behind a proxy the Host differs; the configured public origin is what counts
    expect((await post({ origin: h.config.publicBaseUrl, host: '10.1.2.3:8080' })).statusCode).toBe(303);
  });

  it('limits sign-in attempts per address, with a clear page', async () => {
    const attempt = (remoteAddress: string) =>
      h.app.inject({ method: 'POST', url: '/dashboard/sign-in', remoteAddress, headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' }, payload: 'key=wrong' });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await attempt('198.51.100.23')).statusCode);
    expect(statuses.every((s) => s === 401)).toBe(true);
    const limited = await attempt('198.51.100.23');
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['content-type']).toContain('text/html');
    expect(limited.body).toContain('Too many sign-in attempts');
    expect((await attempt('198.51.100.24')).statusCode).toBe(401);
  });

  it('sets an HttpOnly, SameSite=Strict, expiring session cookie and no key in any URL', async () => {
    const { context, page } = await signIn(KEYS.a);
    expect(page.url()).not.toContain(KEYS.a);
    const cookies = await context.cookies();
    expect(cookies).toHaveLength(1);
    const [session] = cookies;
    expect(session).toMatchObject({ name: 'eng_session', httpOnly: true, sameSite: 'Strict', path: '/dashboard', secure: false });
    expect(session!.expires * 1000).toBeGreaterThan(Date.now());
    expect(session!.expires * 1000).toBeLessThanOrEqual(Date.now() + h.config.dashboardSessionHours * 3_600_000 + 5_000);
    expect(session!.value).not.toContain(KEYS.a);
    // a tampered cookie is no session
    await context.addCookies([{ ...session!, value: `${session!.value.slice(0, -2)}xx` }]);
    await page.goto(`${base}/dashboard/orgs/org-a`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/sign-in');
    await context.close();
  });
});

describe('an org key', () => {
  it('shows the org page with the numbers of the API', async () => {
    const { context, page } = await signIn(KEYS.a);
    expect(new URL(page.url()).pathname).toBe('/dashboard/orgs/org-a');
    const json = await api<Record<string, number> & { daily: Array<Record<string, number | string>> }>('/v1/orgs/org-a/kpis');
    for (const name of ['emails', 'followedRecipients', 'opens', 'uniqueOpens', 'clicks', 'uniqueClicks', 'uniqueReplies', 'machineOpens', 'machineClicks']) {
      expect(await kpi(page, name), name).toBe(String(json[name]));
    }
    for (const name of ['openRate', 'clickRate', 'clickToOpenRate', 'replyRate']) expect(await kpi(page, name), name).toBe(percent(json[name]!));
    expect(json.opens).toBe(7);
    expect(json.machineOpens).toBe(1);
    const today = json.daily.find((d) => Number(d.opens) > 0)!;
    const row = page.locator('#daily tbody tr', { hasText: String(today.date) });
    expect((await row.locator('td').allTextContents()).map((t) => t.trim())).toEqual(
      [today.date, today.emails, today.opens, today.machineOpens, today.clicks, today.machineClicks, today.uniqueReplies].map(String),
    );
    const top = await api<{ emails: Array<{ emailId: string; uniqueOpens: number }>; senders: Array<{ id: string; emails: number }>; templates: Array<{ id: string }> }>('/v1/orgs/org-a/top');
    expect(top.emails.map((e) => e.emailId)).toEqual([emailId]);
    expect(await page.locator('#top-emails tbody tr').first().locator('td').nth(4).textContent()).toBe(String(top.emails[0]!.uniqueOpens));
    expect(await page.locator('#top-senders tbody tr').first().locator('td').first().textContent()).toBe('sender-ann');
    expect(await page.locator('#top-templates tbody tr').first().locator('td').first().textContent()).toBe('tpl-welcome');
    expect(await page.locator('svg[role=img]').count()).toBeGreaterThanOrEqual(3);
    await page.screenshot({ path: `${SCREENSHOTS}org.png`, fullPage: true });

    // the email page, reached through the ranking
    await Promise.all([page.waitForURL(/\/emails\//), page.click(`#top-emails a:text("${emailId}")`)]);
    const email = await api<Record<string, number> & { links: Array<{ linkId: string; url: string; clicks: number; uniqueClicks: number }> }>(`/v1/orgs/org-a/emails/${emailId}/kpis`);
    for (const name of ['recipients', 'followedRecipients', 'opens', 'uniqueOpens', 'clicks', 'uniqueClicks', 'replies', 'attachmentViews', 'machineOpens', 'machineClicks']) {
      expect(await kpi(page, name), name).toBe(String(email[name]));
    }
    expect(email.recipients).toBe(3);
    const links = await page.locator('#links tbody tr').evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
    expect(links).toEqual(email.links.map((l) => [l.linkId, l.url, String(l.clicks), String(l.uniqueClicks)]));
    const funnel = await page.locator('#funnel tbody tr td.num').allTextContents();
    expect(funnel).toEqual([email.followedRecipients, email.uniqueOpens, email.uniqueClicks, email.uniqueReplies].map(String));
    await page.screenshot({ path: `${SCREENSHOTS}email.png`, fullPage: true });

    // the contact page, through the find form
    await page.goto(`${base}/dashboard/orgs/org-a`);
    await page.fill('input[name=recipient]', 'c-1');
    await Promise.all([page.waitForURL(/\/contacts\/c-1/), page.click('form.find:has(input[name=recipient]) button')]);
    const contact = await api<Record<string, number | string | null>>('/v1/orgs/org-a/contacts/c-1/kpis');
    for (const name of ['emailsReceived', 'emailsOpened', 'emailsClicked', 'emailsReplied']) expect(await kpi(page, name), name).toBe(String(contact[name]));
    for (const name of ['openRate', 'clickRate', 'replyRate']) expect(await kpi(page, name), name).toBe(percent(contact[name] as number));
    expect(await kpi(page, 'lastOpenedAt')).toBe(when(contact.lastOpenedAt as string));
    const heat = await api<{ opens: number[][]; totalOpens: number; timeZone: string }>('/v1/orgs/org-a/contacts/c-1/heatmap');
    expect(heat.totalOpens).toBe(6);
    expect(heat.timeZone).toBe('Europe/Paris');
    const grid = await page.locator('#heatmap tbody tr').evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td.num')].map((td) => Number(td.textContent))));
    expect(grid).toEqual(heat.opens);
    // the daily series over the window: its table adds up to the API's totals
    const activity = await page.locator('#activity tbody tr').evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    expect(activity.length).toBeGreaterThan(0);
    const column = (i: number) => activity.reduce((sum, row) => sum + Number(row[i]), 0);
    expect([column(1), column(2), column(3), column(4)]).toEqual([contact.emailsReceived, contact.emailsOpened, contact.emailsClicked, contact.emailsReplied]);
    expect(await page.locator('svg[aria-label^="Emails received, opened, clicked and replied per day"] g').count()).toBe(contact.days);
    expect(await page.getAttribute('input[name=days]', 'max')).toBe(String(CONTACT_WINDOW.maxDays));
    await page.screenshot({ path: `${SCREENSHOTS}contact.png`, fullPage: true });

    // phone width: each page fits without sideways scrolling of the body (wide tables scroll in place)
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [name, path] of [
      ['org', '/dashboard/orgs/org-a'],
      ['email', `/dashboard/orgs/org-a/emails/${emailId}`],
      ['contact', '/dashboard/orgs/org-a/contacts/c-1'],
    ]) {
      await page.goto(`${base}${path}`);
      expect(await page.evaluate(() => document.documentElement.scrollWidth), name).toBeLessThanOrEqual(390);
      await page.screenshot({ path: `${SCREENSHOTS}${name}-phone.png`, fullPage: true });
    }
    await context.close();
  }, 60_000);

  it('cannot open another org or the operations page', async () => {
    const { context, page } = await signIn(KEYS.a);
    for (const path of ['/dashboard/orgs/org-b', `/dashboard/orgs/org-b/emails/${emailId}`, '/dashboard/orgs/org-b/contacts/c-1', '/dashboard/operations']) {
      const response = await page.goto(`${base}${path}`);
      expect(response!.status(), path).toBe(403);
      expect(await page.textContent('[data-testid=error]')).toMatch(/may not open organisation "org-b"|needs the admin key/);
    }
    await page.screenshot({ path: `${SCREENSHOTS}forbidden.png`, fullPage: true });
    await context.close();
  });
});

describe('the published response schemas', () => {
  it('describe the real answers of the reads and writes, field for field', async () => {
    const spec = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>> }>();
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const check = (path: string, method: string, status: number, body: unknown): void => {
      const schema = spec.paths[path]?.[method]?.responses[String(status)]?.content?.['application/json']?.schema;
      expect(schema, `${method} ${path} ${status}`).toBeDefined();
      expect(Object.keys(schema!).length, `${method} ${path} ${status} has a schema`).toBeGreaterThan(0);
      expect(ajv.validate(schema!, body), `${method} ${path}: ${JSON.stringify(ajv.errors)}`).toBe(true);
    };
    const reads: Array<[string, string]> = [
      ['/v1/orgs/{orgId}/kpis', '/v1/orgs/org-a/kpis'],
      ['/v1/orgs/{orgId}/senders/{senderId}/kpis', '/v1/orgs/org-a/senders/sender-ann/kpis'],
      ['/v1/orgs/{orgId}/templates/{templateId}/kpis', '/v1/orgs/org-a/templates/tpl-welcome/kpis'],
      ['/v1/orgs/{orgId}/emails/{emailId}/kpis', `/v1/orgs/org-a/emails/${emailId}/kpis`],
      ['/v1/orgs/{orgId}/contacts/{contactId}/kpis', '/v1/orgs/org-a/contacts/c-1/kpis'],
      ['/v1/orgs/{orgId}/leads/{contactId}/kpis', '/v1/orgs/org-a/leads/l-1/kpis'],
      ['/v1/orgs/{orgId}/contacts/{contactId}/heatmap', '/v1/orgs/org-a/contacts/c-1/heatmap'],
      ['/v1/orgs/{orgId}/top', '/v1/orgs/org-a/top'],
    ];
    for (const [path, url] of reads) check(path, 'get', 200, await api(url));
    for (const w of written) check(w.path, w.method, w.status, w.body);
    const denied = await h.app.inject({ method: 'GET', url: '/v1/orgs/org-b/kpis', headers: bearer(KEYS.a) });
    check('/v1/orgs/{orgId}/kpis', 'get', 403, denied.json());
    const bad = await h.app.inject({ method: 'GET', url: '/v1/orgs/org-a/top?limit=0', headers: bearer(KEYS.a) });
    check('/v1/orgs/{orgId}/top', 'get', 400, bad.json());
    // and a closed read model refuses a field it does not describe
    const schema = spec.paths['/v1/orgs/{orgId}/top']!.get!.responses['200']!.content!['application/json']!.schema;
    expect(ajv.validate(schema, { ...(await api<object>('/v1/orgs/org-a/top')), extra: 1 })).toBe(false);
  });
});

describe('the API reference page', () => {
  it('renders from local files only', async () => {
    const page = await browser.newPage();
    const hosts = new Set<string>();
    page.on('request', (request) => hosts.add(new URL(request.url()).host));
    await page.goto(`${base}/docs`);
    await page.waitForSelector('text=Email engagement pipeline');
    await page.getByText('/v1/orgs/{orgId}/emails', { exact: true }).first().waitFor();
    expect([...hosts].filter((host) => host !== '' && host !== new URL(base).host)).toEqual([]);
    await page.screenshot({ path: `${SCREENSHOTS}api-reference.png` });
    await page.close();
  });
});

describe('the admin key', () => {
  it('sees every org and the operations page, with the dead letter', async () => {
    const { context, page } = await signIn(KEYS.admin);
    expect(await page.locator('[data-testid=orgs] a').allTextContents()).toEqual(expect.arrayContaining(['org-a', 'org-b']));
    const response = await page.goto(`${base}/dashboard/operations`);
    expect(response!.status()).toBe(200);
    expect(Number(await kpi(page, 'deadLetters'))).toBeGreaterThan(0);
    expect(await page.locator('#dead-letters tbody tr').count()).toBeGreaterThan(0);
    expect(await page.locator('#dead-letters tbody').textContent()).toContain(topicsFor(h.config).emails);
    expect(await kpi(page, 'projectionVersion')).toBe('1');
    expect(await kpi(page, `lag:projection v1`)).toBe('0');
    const purge = await page.locator('#purges tbody tr', { hasText: 'org-c' }).locator('td').allTextContents();
    expect(purge[0]).toBe('org-c');
    const endedAt = Date.parse(purge[1]!.replace(' UTC', 'Z').replace(' ', 'T'));
    expect(Math.abs(endedAt - Date.now())).toBeLessThan(10 * 60_000);
    expect(Date.parse(purge[2]!.replace(' UTC', 'Z').replace(' ', 'T')) - endedAt).toBe(h.config.retentionDays * 86_400_000);
    await page.screenshot({ path: `${SCREENSHOTS}operations.png`, fullPage: true });
    await context.close();
  });

  it('/metrics exports the same lag and dead-letter records, for the Grafana dashboard', async () => {
    const text = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    const value = (line: RegExp): number => Number(text.split('\n').find((l) => line.test(l))?.split(' ').pop());
    expect(value(/^engagement_deadletter_records /)).toBeGreaterThan(0);
    expect(value(/^engagement_consumer_lag\{group="projection",partition="\d+"\}/)).toBe(0);
    expect(text).toMatch(new RegExp(`^engagement_consumer_lag\\{group="${h.config.topicPrefix}\\.projector",partition="\\d+"\\}`, 'm'));
  });
});

/** A dashboard session for `key`, signed in through the form as a browser on the same site would. */
async function sessionCookie(key: string): Promise<string> {
  const res = await h.app.inject({
    method: 'POST',
    url: '/dashboard/sign-in',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
    payload: `key=${encodeURIComponent(key)}`,
  });
  expect(res.statusCode, res.body).toBe(303);
  return String([res.headers['set-cookie']].flat()[0]).split(';')[0]!;
}

const page_ = (url: string, cookie: string) => h.app.inject({ method: 'GET', url, headers: { cookie } });

describe('organisation scope', () => {
  it('an org key gets 403 on every page and read of another org', async () => {
    const cookie = await sessionCookie(KEYS.a);
    for (const url of ['/dashboard/orgs/org-b/leads/l-1', '/dashboard/orgs/org-b/accounts/acc-1', '/dashboard/orgs/org-b/find?emailId=x', '/dashboard/orgs/org-b/find?recipient=c-1&type=lead']) {
      const res = await page_(url, cookie);
      expect(res.statusCode, url).toBe(403);
      expect(res.body, url).toContain('may not open organisation');
    }
    for (const url of ['/v1/orgs/org-b/top', '/v1/orgs/org-b/contacts/c-1/heatmap', '/v1/orgs/org-b/leads/l-1/heatmap', '/v1/orgs/org-b/accounts/acc-1/heatmap']) {
      const res = await h.app.inject({ method: 'GET', url, headers: bearer(KEYS.a) });
      expect(res.statusCode, url).toBe(403);
      expect(res.json(), url).toMatchObject({ error: 'forbidden' });
    }
  });

  it('a disabled org answers 403 engagement_disabled from /top, /heatmap and its pages; re-enabled, its data comes back', async () => {
    const id = `e-b-${randomUUID().slice(0, 8)}`;
    const sent = await h.app.inject({
      method: 'POST',
      url: '/v1/orgs/org-b/emails',
      headers: bearer(KEYS.b),
      payload: { emailId: id, senderId: 'sender-bo', subject: 'Hello B', recipients: [{ contactId: 'cb-1', type: 'contact' }], follow: true },
    });
    expect(sent.statusCode, sent.body).toBe(201);
    await track(sent.json<EmailSendResponse>().recipients[0]!.openPixelUrl);
    await projected();
    const reads = ['/v1/orgs/org-b/top', '/v1/orgs/org-b/contacts/cb-1/heatmap'];
    const pages = ['/dashboard/orgs/org-b', `/dashboard/orgs/org-b/emails/${id}`, '/dashboard/orgs/org-b/contacts/cb-1'];
    const before = await api<{ emails: Array<{ emailId: string; uniqueOpens: number }> }>('/v1/orgs/org-b/top', KEYS.b);
    expect(before.emails).toEqual([expect.objectContaining({ emailId: id, uniqueOpens: 1 })]);
    const cookie = await sessionCookie(KEYS.b);

    const off = await h.app.inject({ method: 'PUT', url: '/v1/orgs/org-b/engagement', headers: bearer(KEYS.b), payload: { enabled: false } });
    expect(off.statusCode).toBe(200);
    await waitFor(async () => (await h.app.inject({ method: 'GET', url: reads[0]!, headers: bearer(KEYS.b) })).statusCode === 403, { timeoutMs: 30_000, message: 'org-b disabled' });
    for (const url of reads) {
      const res = await h.app.inject({ method: 'GET', url, headers: bearer(KEYS.b) });
      expect(res.statusCode, url).toBe(403);
      expect(res.json(), url).toMatchObject({ error: 'engagement_disabled' });
    }
    for (const url of pages) {
      const res = await page_(url, cookie);
      expect(res.statusCode, url).toBe(403);
      expect(res.body, url).toContain('email engagement is disabled for organisation org-b');
    }

    const on = await h.app.inject({ method: 'PUT', url: '/v1/orgs/org-b/engagement', headers: bearer(KEYS.b), payload: { enabled: true } });
    expect(on.statusCode).toBe(200);
    await waitFor(async () => (await h.app.inject({ method: 'GET', url: reads[0]!, headers: bearer(KEYS.b) })).statusCode === 200, { timeoutMs: 30_000, message: 'org-b enabled again' });
    expect(await api('/v1/orgs/org-b/top', KEYS.b)).toEqual(before);
    expect((await api<{ totalOpens: number }>('/v1/orgs/org-b/contacts/cb-1/heatmap', KEYS.b)).totalOpens).toBe(1);
    for (const url of pages) expect((await page_(url, cookie)).statusCode, url).toBe(200);
  }, 90_000);
});
