import { describe, expect, it } from 'vitest';
import { applySendPolicy, parseIngestBody, screenEvents, stampAcceptedAt } from '../../../producers/ingest/ingest-batch.js';
import { controlEvent, parseFollowEmailBody } from '../../../producers/control/control-commands.js';
import { fixture, plain } from '../../support/fixtures.js';

const now = Date.UTC(2026, 10, 3);

describe('ingest batch', () => {
  it('refuses bodies that are not a non-empty array of at most 10,000 items', () => {
    expect(parseIngestBody({}).ok).toBe(false);
    expect(parseIngestBody([]).ok).toBe(false);
    expect(parseIngestBody(new Array(10_001).fill({})).ok).toBe(false);
    expect(parseIngestBody([{}]).ok).toBe(true);
  });

  it('judges each event on its own: valid, invalid, foreign org, control event', () => {
    const items = [
      plain(fixture('EmailReplied')),
      { ...plain(fixture('EmailReplied')), contactId: 42 },
      plain(fixture('EmailReplied', { orgId: 'org-2' })),
      plain(fixture('OrgEngagementEnabled')),
    ];
    const { accepted, rejected } = screenEvents(items, (orgId) => orgId === 'org-1', now);
    expect(accepted.map((a) => a.index)).toEqual([0]);
    expect(rejected).toEqual([
      expect.objectContaining({ index: 1, status: 'rejected', error: 'validation_failed' }),
      expect.objectContaining({ index: 2, status: 'rejected', error: 'forbidden', errors: [expect.objectContaining({ path: 'orgId' })] }),
      expect.objectContaining({ index: 3, status: 'rejected', error: 'forbidden', errors: [expect.objectContaining({ path: 'type' })] }),
    ]);
  });

  it('takes control events (an admin history backfill) from the admin key only', () => {
    const items = [plain(fixture('OrgEngagementEnabled')), plain(fixture('EmailReplied'))];
    const { accepted, rejected } = screenEvents(items, () => true, now, true);
    expect(accepted.map((a) => a.event.type)).toEqual(['OrgEngagementEnabled', 'EmailReplied']);
    expect(rejected).toEqual([]);
  });

  it('an ingested EmailSent obeys the org switch and the contacts preferences', () => {
    const sent = fixture('EmailSent');
    expect(applySendPolicy(sent, false, new Map())).toMatchObject({ ok: false, error: 'engagement_disabled' });
    const allowed = applySendPolicy(sent, true, new Map([['contact:c-1', false]]));
    expect(allowed.ok && allowed.event.recipients.map((r) => r.followed)).toEqual([false, false]);
    const unfollowed = applySendPolicy({ ...sent, follow: false }, false, new Map());
    expect(unfollowed.ok && unfollowed.event.recipients.every((r) => !r.followed)).toBe(true);
  });

  it('an ingested EmailSent is not followed once the subscription has ended', () => {
    const sent = fixture('EmailSent');
    expect(applySendPolicy(sent, true, new Map(), { subscriptionEnded: true })).toMatchObject({
      ok: false,
      error: 'subscription_ended',
      errors: [{ path: 'follow' }],
    });
    expect(applySendPolicy({ ...sent, follow: false }, true, new Map(), { subscriptionEnded: true }).ok).toBe(true);
  });

  it("an ingested EmailSent is accepted at the ingest time; only the admin key's backfill keeps its own acceptedAt", () => {
    const given = fixture('EmailSent', { acceptedAt: now - 86_400_000 });
    const absent = fixture('EmailSent', { acceptedAt: null });
    expect(stampAcceptedAt(absent, now, false).acceptedAt).toBe(now);
    expect(stampAcceptedAt(given, now, false).acceptedAt).toBe(now);
    expect(stampAcceptedAt(absent, now, true).acceptedAt).toBe(now);
    expect(stampAcceptedAt(given, now, true).acceptedAt).toBe(now - 86_400_000);
  });
});

describe('control commands', () => {
  it('builds control events stamped with the accepted time', () => {
    expect(controlEvent('o', { kind: 'engagement', enabled: false }, 'id', 123)).toEqual({ type: 'OrgEngagementDisabled', eventId: 'id', orgId: 'o', occurredAt: 123 });
    expect(controlEvent('o', { kind: 'follow-email', contactId: 'c', recipientType: 'lead', allow: false }, 'id', 5)).toMatchObject({
      type: 'ContactFollowPreferenceChanged',
      contactId: 'c',
      contactType: 'lead',
      recipientType: 'lead',
      allow: false,
    });
    // an account: older readers see a contact in the legacy enum, the type is in recipientType
    expect(controlEvent('o', { kind: 'follow-email', contactId: 'c', recipientType: 'account', allow: false }, 'id', 5)).toMatchObject({
      contactType: 'contact',
      recipientType: 'account',
    });
  });

  it('follow-email type defaults to contact and is checked', () => {
    expect(parseFollowEmailBody({ allow: true })).toEqual({ ok: true, value: { allow: true, recipientType: 'contact' } });
    expect(parseFollowEmailBody({ allow: true, type: 'account' })).toEqual({ ok: true, value: { allow: true, recipientType: 'account' } });
    expect(parseFollowEmailBody({ allow: true }, 'lead')).toEqual({ ok: true, value: { allow: true, recipientType: 'lead' } });
    expect(parseFollowEmailBody({ allow: true, type: 'contact' }, 'lead').ok).toBe(false);
    expect(parseFollowEmailBody({ allow: 'no', type: 'x' }).ok).toBe(false);
  });
});
