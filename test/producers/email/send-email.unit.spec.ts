import { describe, expect, it } from 'vitest';
import { decideSend, emailSentEventId } from '../../../producers/email/decide-send.js';
import { parseSendEmailRequest, type SendEmailRequest } from '../../../producers/email/send-request.js';
import { verifyToken } from '../../../producers/tracking/tokens.js';

const now = Date.UTC(2026, 10, 2, 9, 30);
const tracking = { publicBaseUrl: 'https://t.example', secrets: [{ kid: 'k1', secret: 's' }] };
const body = {
  emailId: 'e-1',
  senderId: 's-1',
  recipients: [
    { contactId: 'c-1', type: 'contact', timeZone: 'Europe/Paris' },
    { contactId: 'c-2', type: 'lead' },
  ],
  links: [{ url: 'https://example.com/a' }, { url: 'https://example.com/b?x=1' }],
  attachments: [{ name: 'deck.pdf', url: 'https://files.example.com/deck.pdf' }],
  follow: true,
};

function parse(input: unknown): SendEmailRequest {
  const result = parseSendEmailRequest(input, now);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.value;
}

describe('parseSendEmailRequest', () => {
  it('accepts a minimal body with defaults', () => {
    const request = parse({ emailId: 'e', senderId: 's', recipients: [{ contactId: 'c' }], follow: false });
    expect(request).toEqual({
      emailId: 'e',
      senderId: 's',
      templateId: null,
      subject: null,
      sentAt: now,
      recipients: [{ contactId: 'c', recipientType: 'contact', timeZone: null }],
      links: [],
      attachments: [],
      follow: false,
    });
  });

  it('refuses a sentAt more than MAX_CLOCK_SKEW_SECONDS ahead of the server clock, naming the field', () => {
    expect(parse({ ...body, sentAt: now + 300_000 }).sentAt).toBe(now + 300_000);
    expect(parseSendEmailRequest({ ...body, sentAt: now + 301_000 }, now)).toEqual({
      ok: false,
      errors: [{ path: 'sentAt', message: 'is 301 s ahead of the server clock: at most 300 s (MAX_CLOCK_SKEW_SECONDS) is accepted' }],
    });
    expect(parseSendEmailRequest({ ...body, sentAt: new Date(now + 3_600_000).toISOString() }, now).ok).toBe(false);
    expect(parseSendEmailRequest({ ...body, sentAt: now + 3_600_000 }, now, 7_200_000).ok).toBe(true);
  });

  it('reads sentAt as ISO or epoch ms', () => {
    expect(parse({ ...body, sentAt: '2026-11-01T10:00:00Z' }).sentAt).toBe(Date.UTC(2026, 10, 1, 10));
    expect(parse({ ...body, sentAt: 1_790_000_000_000 }).sentAt).toBe(1_790_000_000_000);
  });

  it('lists every problem with its path', () => {
    const result = parseSendEmailRequest(
      {
        emailId: '',
        recipients: [{ contactId: 'c', type: 'robot' }, { contactId: 'c' }, 'x', { contactId: 'd', timeZone: 'Mars/Base' }],
        links: [{ url: 'javascript:alert(1)' }],
        attachments: [{ url: 'https://x.example' }],
        sentAt: 'yesterday',
      },
      now,
    );
    expect(result.ok).toBe(false);
    const paths = result.ok ? [] : result.errors.map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'emailId',
        'senderId',
        'sentAt',
        'follow',
        'recipients.0.type',
        'recipients.1.contactId',
        'recipients.2',
        'recipients.3.timeZone',
        'links.0.url',
        'attachments.0.name',
      ]),
    );
  });

  it('refuses a non-object body and an empty recipient list', () => {
    expect(parseSendEmailRequest([], now).ok).toBe(false);
    expect(parseSendEmailRequest({ ...body, recipients: [] }, now).ok).toBe(false);
  });
});

describe('decideSend', () => {
  const ctx = { orgId: 'o', acceptedAt: now, orgEnabled: true, subscriptionEnded: false, allows: new Map<string, boolean>(), tracking };

  it('follows allowed recipients with signed URLs for every link and attachment', () => {
    const { event, response } = decideSend(parse(body), {
      orgId: 'org-1',
      acceptedAt: now,
      orgEnabled: true,
      subscriptionEnded: false,
      allows: new Map([['lead:c-2', false]]),
      tracking,
    });
    expect(event).toMatchObject({
      type: 'EmailSent',
      orgId: 'org-1',
      occurredAt: now,
      acceptedAt: now,
      follow: true,
      recipients: [
        { contactId: 'c-1', contactType: 'contact', followed: true, timeZone: 'Europe/Paris' },
        { contactId: 'c-2', contactType: 'lead', followed: false, timeZone: null },
      ],
      links: [
        { linkId: 'l0', url: 'https://example.com/a' },
        { linkId: 'l1', url: 'https://example.com/b?x=1' },
      ],
      attachments: [{ attachmentId: 'a0', name: 'deck.pdf', url: 'https://files.example.com/deck.pdf' }],
    });
    const [followed, optedOut] = response.recipients;
    expect(optedOut).toEqual({ contactId: 'c-2', type: 'lead', followed: false, links: [], attachments: [] });
    expect(followed!.followed).toBe(true);
    const token = (url: string) => verifyToken(url.split('/').pop()!, tracking.secrets);
    expect(followed!.openPixelUrl!.startsWith('https://t.example/t/o/')).toBe(true);
    expect(token(followed!.openPixelUrl!)).toEqual({ kind: 'o', recipientType: 'contact', orgId: 'org-1', emailId: 'e-1', contactId: 'c-1', sentAtSec: now / 1000 });
    expect(followed!.links.map((l) => l.url)).toEqual(['https://example.com/a', 'https://example.com/b?x=1']);
    expect(token(followed!.links[1]!.trackedUrl)).toMatchObject({ kind: 'c', linkId: 'l1', url: 'https://example.com/b?x=1' });
    expect(token(followed!.attachments[0]!.trackedUrl)).toMatchObject({ kind: 'a', attachmentId: 'a0' });
  });

  it('refuses to follow while the org is disabled', () => {
    expect(() => decideSend(parse(body), { ...ctx, orgEnabled: false })).toThrow(expect.objectContaining({ code: 'engagement_disabled' }));
  });

  it('refuses to follow once the subscription has ended', () => {
    expect(() => decideSend(parse(body), { ...ctx, subscriptionEnded: true })).toThrow(expect.objectContaining({ code: 'subscription_ended' }));
    expect(decideSend(parse({ ...body, follow: false }), { ...ctx, subscriptionEnded: true }).event.follow).toBe(false);
  });

  it('stamps acceptedAt with the server clock; a late sentAt only places the email on its day', () => {
    const sentAt = now - 3_600_000;
    const { event, response } = decideSend(parse({ ...body, sentAt }), ctx);
    expect(event).toMatchObject({ occurredAt: sentAt, acceptedAt: now });
    expect(response.recipients[0]!.followed).toBe(true);
  });

  it('follow:false writes an unfollowed email with no URLs, even while disabled', () => {
    const { event, response } = decideSend(parse({ ...body, follow: false }), { ...ctx, orgEnabled: false });
    expect(event.follow).toBe(false);
    expect(event.recipients.every((r) => !r.followed)).toBe(true);
    expect(response.followed).toBe(false);
    expect(response.recipients.every((r) => !r.followed && r.openPixelUrl === undefined && r.links.length === 0)).toBe(true);
  });

  it('a retried send keeps its eventId', () => {
    expect(emailSentEventId('o', 'e')).toBe(emailSentEventId('o', 'e'));
    expect(emailSentEventId('o', 'e')).not.toBe(emailSentEventId('o', 'e2'));
    expect(emailSentEventId('o', 'e')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
