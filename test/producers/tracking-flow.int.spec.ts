import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicsFor } from '../../core/topics.js';
import type { EmailSendResponse } from './support/types.js';
import { TRANSPARENT_GIF } from '../../producers/tracking/pixel.js';
import { signToken } from '../../producers/tracking/tokens.js';
import type { EventOf, EventType } from '../../schemas/events.js';
import { waitFor } from '../support/env.js';
import { KEYS, bearer, startApiHarness, startTopicReader, type ApiHarness, type Received } from './support/api-harness.js';

let h: ApiHarness;
let reader: Awaited<ReturnType<typeof startTopicReader>>;
const HOUR = 3_600_000;

beforeAll(async () => {
  h = await startApiHarness();
  reader = await startTopicReader(h.config, [topicsFor(h.config).emails, topicsFor(h.config).control]);
  const enabled = await h.app.inject({ method: 'PUT', url: '/v1/orgs/org-a/engagement', headers: bearer(KEYS.a), payload: { enabled: true } });
  expect(enabled.statusCode).toBe(200);
});

afterAll(async () => {
  await reader?.stop();
  await h?.close();
});

const path = (url: string) => new URL(url).pathname;

async function send(body: Record<string, unknown>, org = 'org-a', key: string = KEYS.a) {
  return h.app.inject({ method: 'POST', url: `/v1/orgs/${org}/emails`, headers: bearer(key), payload: body });
}

function emailBody(overrides: Record<string, unknown> = {}) {
  return {
    emailId: `e-${randomUUID()}`,
    senderId: 's-1',
    templateId: 'tpl-1',
    subject: 'Hello',
    sentAt: new Date(Date.now() - HOUR).toISOString(),
    recipients: [
      { contactId: 'c-1', type: 'contact', timeZone: 'Europe/Paris' },
      { contactId: 'c-2', type: 'lead' },
    ],
    links: [{ url: 'https://example.com/offer?x=1&y=2#top' }, { url: 'https://example.com/other' }],
    attachments: [{ name: 'deck.pdf', url: 'https://files.example.com/deck.pdf' }],
    follow: true,
    ...overrides,
  };
}

function waitForEvent<T extends EventType>(type: T, match: (e: EventOf<T>) => boolean): Promise<Received & { event: EventOf<T> }> {
  return waitFor(() => reader.messages.find((m) => m.event.type === type && match(m.event as EventOf<T>)) as (Received & { event: EventOf<T> }) | undefined, {
    message: `${type} on the topic`,
  });
}

describe('a followed email', () => {
  it('yields working pixel, click and attachment URLs whose events land on the emails topic keyed orgId/emailId', async () => {
    const body = emailBody();
    const res = await send(body);
    expect(res.statusCode).toBe(201);
    const answer = res.json<EmailSendResponse>();
    expect(answer.emailId).toBe(body.emailId);
    expect(answer.followed).toBe(true);
    const r = answer.recipients[0]!;
    expect(r.followed).toBe(true);
    expect(r.links.map((l) => l.url)).toEqual(['https://example.com/offer?x=1&y=2#top', 'https://example.com/other']);
    expect(r.openPixelUrl.startsWith('http://tracking.test/t/o/')).toBe(true);

    const pixel = await h.app.inject({ method: 'GET', url: path(r.openPixelUrl), headers: { 'user-agent': 'Mozilla/5.0 Thunderbird' } });
    expect(pixel.statusCode).toBe(200);
    expect(pixel.headers['content-type']).toBe('image/gif');
    expect(pixel.headers['cache-control']).toContain('no-store');
    expect(pixel.rawPayload.equals(TRANSPARENT_GIF)).toBe(true);

    const click = await h.app.inject({ method: 'GET', url: path(r.links[0]!.trackedUrl), headers: { 'user-agent': 'Mozilla/5.0 Firefox' } });
    expect(click.statusCode).toBe(302);
    expect(click.headers.location).toBe('https://example.com/offer?x=1&y=2#top');

    const attachment = await h.app.inject({ method: 'GET', url: path(r.attachments[0]!.trackedUrl) });
    expect(attachment.statusCode).toBe(302);
    expect(attachment.headers.location).toBe('https://files.example.com/deck.pdf');

    const key = `org-a/${body.emailId}`;
    const sent = await waitForEvent('EmailSent', (e) => e.emailId === body.emailId);
    expect(sent.key).toBe(key);
    expect(sent.event).toMatchObject({
      orgId: 'org-a',
      senderId: 's-1',
      templateId: 'tpl-1',
      follow: true,
      occurredAt: Date.parse(body.sentAt),
      recipients: [
        { contactId: 'c-1', contactType: 'contact', followed: true, timeZone: 'Europe/Paris' },
        { contactId: 'c-2', contactType: 'lead', followed: true, timeZone: null },
      ],
      links: [
        { linkId: 'l0', url: 'https://example.com/offer?x=1&y=2#top' },
        { linkId: 'l1', url: 'https://example.com/other' },
      ],
      attachments: [{ attachmentId: 'a0', name: 'deck.pdf', url: 'https://files.example.com/deck.pdf' }],
    });

    const opened = await waitForEvent('EmailOpened', (e) => e.emailId === body.emailId);
    expect(opened.key).toBe(key);
    expect(opened.event).toMatchObject({ contactId: 'c-1', method: 'GET', userAgent: 'Mozilla/5.0 Thunderbird', machineReason: null, ipHash: '127.0.0.0' });
    expect(Math.abs(opened.event.occurredAt - Date.now())).toBeLessThan(60_000);

    const clicked = await waitForEvent('LinkClicked', (e) => e.emailId === body.emailId);
    expect(clicked.key).toBe(key);
    expect(clicked.event).toMatchObject({ contactId: 'c-1', linkId: 'l0', url: 'https://example.com/offer?x=1&y=2#top', machineReason: null });

    const viewed = await waitForEvent('AttachmentViewed', (e) => e.emailId === body.emailId);
    expect(viewed.key).toBe(key);
    expect(viewed.event).toMatchObject({ contactId: 'c-1', attachmentId: 'a0', machineReason: null });
  });

  it('flags machine interactions but keeps them: HEAD, scanner agents, too-soon clicks; not Gmail', async () => {
    // Every request below runs on the harness clock, pinned relative to a whole-second send time:
    // the click_too_soon and burst rules read that clock, so no outcome depends on test speed.
    const sentAt = Math.floor(Date.now() / 1000) * 1000 - HOUR;
    const tooSoonMs = h.config.machineClickSeconds * 1000;
    const at = (offsetMs: number) => h.setNow(sentAt + offsetMs);
    try {
      at(0);
      const body = emailBody({ sentAt: new Date(sentAt).toISOString() });
      const recipients = (await send(body)).json<EmailSendResponse>().recipients;
      const r = recipients[0]!;

      const head = await h.app.inject({ method: 'HEAD', url: path(r.openPixelUrl) });
      expect(head.statusCode).toBe(200);
      expect(head.headers['content-type']).toBe('image/gif');
      const gmail = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
      await h.app.inject({ method: 'GET', url: path(r.openPixelUrl), headers: { 'user-agent': gmail } });
      await h.app.inject({ method: 'GET', url: path(r.openPixelUrl), headers: { 'user-agent': 'Mozilla/5.0 (compatible; Barracuda scanner)' } });
      // 1 ms before the threshold by c-1; exactly at it by c-2 (another recipient: no burst).
      at(tooSoonMs - 1);
      expect((await h.app.inject({ method: 'GET', url: path(r.links[1]!.trackedUrl) })).statusCode).toBe(302);
      at(tooSoonMs);
      expect((await h.app.inject({ method: 'GET', url: path(recipients[1]!.links[1]!.trackedUrl) })).statusCode).toBe(302);

      const opens = await waitFor(() => {
        const found = reader.messages.filter((m) => m.event.type === 'EmailOpened' && (m.event as EventOf<'EmailOpened'>).emailId === body.emailId);
        return found.length === 3 && found.map((m) => m.event as EventOf<'EmailOpened'>);
      });
      expect(opens.map((e) => [e.method, e.machineReason])).toEqual(
        expect.arrayContaining([
          ['HEAD', 'head_request'],
          ['GET', null],
          ['GET', 'scanner_user_agent'],
        ]),
      );
      const soon = await waitForEvent('LinkClicked', (e) => e.emailId === body.emailId && e.contactId === 'c-1');
      expect(soon.event).toMatchObject({ occurredAt: sentAt + tooSoonMs - 1, machineReason: 'click_too_soon' });
      const inTime = await waitForEvent('LinkClicked', (e) => e.emailId === body.emailId && e.contactId === 'c-2');
      expect(inTime.event).toMatchObject({ occurredAt: sentAt + tooSoonMs, machineReason: null });

      // A scanner opening every link of the mail within one second: the edge leaves it to the
      // projector, which sees every instance's clicks (test/processors/click-bursts*.spec.ts).
      const later = emailBody({ sentAt: new Date(sentAt).toISOString() });
      const lr = (await send(later)).json<EmailSendResponse>().recipients[1]!;
      at(HOUR);
      for (const link of lr.links) expect((await h.app.inject({ method: 'GET', url: path(link.trackedUrl) })).statusCode).toBe(302);
      const burst = await waitFor(() => {
        const found = reader.messages.filter((m) => m.event.type === 'LinkClicked' && (m.event as EventOf<'LinkClicked'>).emailId === later.emailId);
        return found.length === 2 && found.map((m) => m.event as EventOf<'LinkClicked'>);
      });
      expect(burst.map((e) => [e.linkId, e.contactId, e.machineReason])).toEqual([
        ['l0', 'c-2', null],
        ['l1', 'c-2', null],
      ]);
    } finally {
      h.setNow(undefined);
    }
  });
});

describe('forged and tampered tokens', () => {
  it('never redirect, never write; the pixel still answers a GIF', async () => {
    const r = (await send(emailBody())).json<EmailSendResponse>().recipients[0]!;
    const before = await h.endOffset(topicsFor(h.config).emails);
    const clickToken = path(r.links[0]!.trackedUrl).split('/').pop()!;
    const openToken = path(r.openPixelUrl).split('/').pop()!;
    const flip = (token: string, i: number) => token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
    const forged = signToken(
      { kind: 'c', orgId: 'org-a', emailId: 'e', contactId: 'c', recipientType: 'contact', sentAtSec: 1, linkId: 'l0', url: 'https://evil.example/' },
      [{ kid: 'k1', secret: 'guessed' }],
    );

    for (const token of [flip(clickToken, 10), flip(clickToken, clickToken.length - 1), forged, openToken, 'https%3A%2F%2Fevil.example', 'x']) {
      const res = await h.app.inject({ method: 'GET', url: `/t/c/${token}` });
      expect(res.statusCode, token).toBe(404);
      expect(res.headers.location).toBeUndefined();
      expect(res.json()).toMatchObject({ error: 'not_found' });
    }
    expect((await h.app.inject({ method: 'GET', url: `/t/a/${clickToken}` })).statusCode).toBe(404);
    for (const token of [flip(openToken, 12), 'garbage', clickToken]) {
      const res = await h.app.inject({ method: 'GET', url: `/t/o/${token}` });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('image/gif');
    }
    expect(await h.endOffset(topicsFor(h.config).emails)).toBe(before);
  });

  it('tokens signed with a retired but still listed key keep working', async () => {
    const token = signToken(
      { kind: 'c', orgId: 'org-a', emailId: 'e-rot', contactId: 'c-1', recipientType: 'contact', sentAtSec: 1, linkId: 'l0', url: 'https://example.com/rotated' },
      [{ kid: 'k0', secret: 'retired-secret' }],
    );
    const res = await h.app.inject({ method: 'GET', url: `/t/c/${token}` });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('https://example.com/rotated');
  });
});

describe('privacy switches on send', () => {
  it('a disabled org (new orgs start disabled) answers 409 engagement_disabled and writes nothing', async () => {
    const before = await h.endOffset(topicsFor(h.config).emails);
    const res = await send(emailBody(), 'org-b', KEYS.b);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error: 'engagement_disabled' });
    expect(await h.endOffset(topicsFor(h.config).emails)).toBe(before);
  });

  it('a contact who does not allow following comes back followed:false with no tracking URLs', async () => {
    const pref = await h.app.inject({
      method: 'PUT',
      url: '/v1/orgs/org-a/contacts/c-2/follow-email',
      headers: bearer(KEYS.a),
      payload: { allow: false, type: 'lead' },
    });
    expect(pref.statusCode).toBe(200);
    expect(pref.json()).toMatchObject({ orgId: 'org-a', contactId: 'c-2', contactType: 'lead', allow: false });
    const body = emailBody();
    const answer = (await send(body)).json<EmailSendResponse>();
    expect(answer.recipients[0]).toMatchObject({ contactId: 'c-1', followed: true });
    expect(answer.recipients[1]).toEqual({ contactId: 'c-2', type: 'lead', followed: false, links: [], attachments: [] });
    const sent = await waitForEvent('EmailSent', (e) => e.emailId === body.emailId);
    expect(sent.event.recipients.map((r) => r.followed)).toEqual([true, false]);
    const control = await waitForEvent('ContactFollowPreferenceChanged', (e) => e.contactId === 'c-2');
    expect(control.key).toBe('org-a');
    expect(control.topic).toBe(topicsFor(h.config).control);

    // a contact's "allow" is not the lead's (two namespaces); the lead's own is
    await h.app.inject({ method: 'PUT', url: '/v1/orgs/org-a/contacts/c-2/follow-email', headers: bearer(KEYS.a), payload: { allow: true } });
    expect((await send(emailBody())).json<EmailSendResponse>().recipients[1]!.followed).toBe(false);
    await h.app.inject({ method: 'PUT', url: '/v1/orgs/org-a/leads/c-2/follow-email', headers: bearer(KEYS.a), payload: { allow: true } });
    expect((await send(emailBody())).json<EmailSendResponse>().recipients[1]!.followed).toBe(true);
  });

  it('follow:false writes an unfollowed EmailSent, with no URLs, even for a disabled org', async () => {
    const body = emailBody({ follow: false });
    const res = await send(body, 'org-b', KEYS.b);
    expect(res.statusCode).toBe(201);
    const answer = res.json<EmailSendResponse>();
    expect(answer.followed).toBe(false);
    expect(answer.recipients.every((r) => !r.followed && r.openPixelUrl === undefined && r.links.length === 0)).toBe(true);
    const sent = await waitForEvent('EmailSent', (e) => e.emailId === body.emailId);
    expect(sent.key).toBe(`org-b/${body.emailId}`);
    expect(sent.event.follow).toBe(false);
    expect(sent.event.recipients.every((r) => !r.followed)).toBe(true);
  });

  it('disabling an org takes effect on the very next request', async () => {
    await h.app.inject({ method: 'PUT', url: '/v1/orgs/org-a/engagement', headers: bearer(KEYS.a), payload: { enabled: false } });
    expect((await send(emailBody())).statusCode).toBe(409);
    const on = await h.app.inject({ method: 'PUT', url: '/v1/orgs/org-a/engagement', headers: bearer(KEYS.a), payload: { enabled: true } });
    expect(on.json()).toMatchObject({ orgId: 'org-a', enabled: true });
    expect((await send(emailBody())).statusCode).toBe(201);
  });

  it('answers 400 bad_request with every field problem', async () => {
    const res = await send({ emailId: 'e', recipients: [{ contactId: '' }], links: [{ url: 'ftp://x' }], follow: 'yes' });
    expect(res.statusCode).toBe(400);
    const answer = res.json<{ error: string; details: Array<{ path: string; message: string }> }>();
    expect(answer.error).toBe('bad_request');
    expect(answer.details.map((d) => d.path)).toEqual(expect.arrayContaining(['senderId', 'recipients.0.contactId', 'links.0.url', 'follow']));
  });
});
