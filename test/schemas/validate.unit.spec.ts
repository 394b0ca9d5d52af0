import { describe, expect, it } from 'vitest';
import { validateEvent } from '../../schemas/validate.js';

const now = Date.UTC(2026, 10, 25, 12);

describe('validateEvent', () => {
  it('accepts an upstream reply with an ISO timestamp and fills eventId', () => {
    const result = validateEvent({ type: 'EmailReplied', orgId: 'o1', emailId: 'e1', contactId: 'c1', occurredAt: '2026-11-24T10:00:00Z' }, now);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.event).toMatchObject({ type: 'EmailReplied', occurredAt: Date.UTC(2026, 10, 24, 10) });
    expect(result.event.eventId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses an email address as any id, nested ones and templateId included (DESIGN §2.5: ids become Redis keys and blob paths)', () => {
    const sent = { type: 'EmailSent', orgId: 'o1', emailId: 'e1', senderId: 's1', templateId: 't1', follow: true, recipients: [{ contactId: 'c1', contactType: 'contact', followed: true }] };
    expect(validateEvent(sent, now).ok).toBe(true);
    const paths = (input: object) => {
      const result = validateEvent(input, now);
      return result.ok ? [] : result.errors.map((e) => [e.path, e.message.startsWith('must not contain "@"')]);
    };
    expect(paths({ ...sent, recipients: [{ contactId: 'alice@example.com', contactType: 'contact', followed: true }] })).toEqual([['recipients.0.contactId', true]]);
    expect(paths({ ...sent, senderId: 'bob@example.com', templateId: 'x@y' })).toEqual([['senderId', true], ['templateId', true]]);
    expect(paths({ ...sent, orgId: 'acme@example.com' })).toEqual([['orgId', true]]);
    expect(paths({ type: 'EmailReplied', orgId: 'o1', emailId: 'e1', contactId: 'c@d' })).toEqual([['contactId', true]]);
    // the same in disguise
    for (const disguised of ['alice%40example.com', 'alice%40EXAMPLE', 'alice\uFF20example.com', 'alice\uFE6Bexample.com']) {
      expect(paths({ type: 'EmailReplied', orgId: 'o1', emailId: 'e1', contactId: disguised })).toEqual([['contactId', true]]);
    }
    // a Message-ID names no person; protective control events stay possible for ids stored before the rule
    expect(paths({ type: 'EmailReplied', orgId: 'o1', emailId: '<x1@mail.example.com>', contactId: 'c1' })).toEqual([]);
    expect(paths({ type: 'ContactFollowPreferenceChanged', orgId: 'o1', contactId: 'alice@example.com', recipientType: 'contact', allow: false })).toEqual([]);
    expect(paths({ type: 'OrgEngagementDisabled', orgId: 'acme@example.com' })).toEqual([]);
    expect(paths({ type: 'SubscriptionEnded', orgId: 'acme@example.com' })).toEqual([]);
    // what creates or switches on is refused
    expect(paths({ type: 'ContactFollowPreferenceChanged', orgId: 'o1', contactId: 'alice@example.com', recipientType: 'contact', allow: true })).toEqual([['contactId', true]]);
    expect(paths({ type: 'OrgEngagementEnabled', orgId: 'acme@example.com' })).toEqual([['orgId', true]]);
    expect(paths({ type: 'SubscriptionRenewed', orgId: 'acme@example.com' })).toEqual([['orgId', true]]);
  });

  it('takes a preference given by recipientType alone, filling the legacy contactType (an account writes contact there)', () => {
    const pref = { type: 'ContactFollowPreferenceChanged', orgId: 'o1', contactId: 'c1', allow: false };
    expect(validateEvent({ ...pref, recipientType: 'lead' }, now)).toMatchObject({ ok: true, event: { recipientType: 'lead', contactType: 'lead' } });
    expect(validateEvent({ ...pref, recipientType: 'account' }, now)).toMatchObject({ ok: true, event: { recipientType: 'account', contactType: 'contact' } });
    expect(validateEvent({ ...pref, contactType: 'lead' }, now)).toMatchObject({ ok: true, event: { contactType: 'lead' } });
  });

  it('fills optional fields and nested defaults of EmailSent', () => {
    const result = validateEvent(
      {
        type: 'EmailSent',
        orgId: 'o1',
        emailId: 'e1',
        senderId: 's1',
        follow: true,
        recipients: [{ contactId: 'c1', contactType: 'lead', followed: true }],
      },
      now,
    );
    expect(result).toMatchObject({ ok: true, event: { templateId: null, links: [], recipients: [{ timeZone: null }] } });
  });

  it("reads EmailSent's acceptedAt as ISO or epoch ms, leaves it null when absent, bounds it like occurredAt", () => {
    const sent = { type: 'EmailSent', orgId: 'o1', emailId: 'e1', senderId: 's1', follow: true, recipients: [] };
    expect(validateEvent(sent, now)).toMatchObject({ ok: true, event: { acceptedAt: null } });
    expect(validateEvent({ ...sent, acceptedAt: '2026-11-24T10:00:00Z' }, now)).toMatchObject({ ok: true, event: { acceptedAt: Date.UTC(2026, 10, 24, 10) } });
    expect(validateEvent({ ...sent, acceptedAt: now - 1 }, now)).toMatchObject({ ok: true, event: { acceptedAt: now - 1 } });
    expect(validateEvent({ ...sent, acceptedAt: 'soon' }, now)).toMatchObject({ ok: false, errors: [{ path: 'acceptedAt' }] });
    expect(validateEvent({ ...sent, acceptedAt: now + 301_000 }, now)).toEqual({
      ok: false,
      errors: [{ path: 'acceptedAt', message: 'is 301 s ahead of the server clock: at most 300 s (MAX_CLOCK_SKEW_SECONDS) is accepted' }],
    });
  });

  it('refuses an occurredAt more than MAX_CLOCK_SKEW_SECONDS ahead of the receiving clock, naming the field', () => {
    const reply = { type: 'EmailReplied', orgId: 'o', emailId: 'e1', contactId: 'c' };
    expect(validateEvent({ ...reply, occurredAt: now + 300_000 }, now).ok).toBe(true);
    expect(validateEvent({ ...reply, occurredAt: now + 301_000 }, now)).toEqual({
      ok: false,
      errors: [{ path: 'occurredAt', message: 'is 301 s ahead of the server clock: at most 300 s (MAX_CLOCK_SKEW_SECONDS) is accepted' }],
    });
    expect(validateEvent({ ...reply, occurredAt: new Date(now + 3_600_000).toISOString() }, now).ok).toBe(false); // an hour: refused (a day used to pass)
    expect(validateEvent({ ...reply, occurredAt: now + 3_600_000 }, now, 7_200_000).ok).toBe(true);
  });

  it.each([
    [{ type: 'Nope' }, 'type'],
    [{ type: 'EmailReplied', orgId: 'o1', emailId: 'e1' }, 'contactId'],
    [{ type: 'EmailReplied', orgId: 'o1', emailId: 'e1', contactId: 7 }, 'contactId'],
    [{ type: 'EmailReplied', orgId: '', emailId: 'e1', contactId: 'c' }, 'orgId'],
    [{ type: 'EmailReplied', orgId: 'o', emailId: 'e1', contactId: 'c', occurredAt: 'soon' }, 'occurredAt'],
    [{ type: 'EmailReplied', orgId: 'o', emailId: 'e1', contactId: 'c', occurredAt: now + 3 * 86_400_000 }, 'occurredAt'],
    [{ type: 'EmailReplied', orgId: 'o', emailId: 'e1', contactId: 'c', eventId: 'not-a-uuid' }, 'eventId'],
    [{ type: 'ContactFollowPreferenceChanged', orgId: 'o', contactId: 'c', contactType: 'person', allow: true }, 'contactType'],
    [
      { type: 'EmailSent', orgId: 'o', emailId: 'e', senderId: 's', follow: true, recipients: [], links: [{ linkId: 'l0', url: 'javascript:x' }] },
      'links.0.url',
    ],
  ])('rejects %j naming %s', (input, path) => {
    const result = validateEvent(input, now);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => e.path)).toContain(path);
  });

  it('rejects non-objects', () => {
    expect(validateEvent([1], now)).toMatchObject({ ok: false, errors: [{ path: '' }] });
    expect(validateEvent(null, now).ok).toBe(false);
  });
});
