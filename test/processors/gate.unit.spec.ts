import { describe, expect, it } from 'vitest';
import { ControlHistory } from '../../processors/gate/control-history.js';
import { gate, type GateDecision, type GateReason } from '../../processors/gate/decide.js';
import type { ControlEvent, EmailEvent } from '../../schemas/events.js';
import { fixture } from '../support/fixtures.js';

const T = Date.UTC(2026, 0, 10, 12);
const MIN = 60_000;
const on = (at: number): ControlEvent => fixture('OrgEngagementEnabled', { occurredAt: at });
const off = (at: number): ControlEvent => fixture('OrgEngagementDisabled', { occurredAt: at });
const pref = (at: number, allow: boolean, contactId = 'c-1'): ControlEvent => fixture('ContactFollowPreferenceChanged', { occurredAt: at, allow, contactId, contactType: 'contact', recipientType: null });
const purged = (at: number): ControlEvent => fixture('OrgPurged', { occurredAt: at });
const ended = (at: number): ControlEvent => fixture('SubscriptionEnded', { occurredAt: at });
const renewed = (at: number): ControlEvent => fixture('SubscriptionRenewed', { occurredAt: at });
const opened = (at: number, contactId = 'c-1'): EmailEvent => fixture('EmailOpened', { occurredAt: at, contactId });
/** a send accepted at its sentAt, unless said otherwise; `null`: a v1/v2 writer without acceptedAt */
const sent = (at: number, acceptedAt: number | null = at): EmailEvent => fixture('EmailSent', { occurredAt: at, acceptedAt });

function history(...events: ControlEvent[]): ControlHistory {
  const h = new ControlHistory();
  events.forEach((e) => h.apply(e));
  return h;
}

const COLLECT: GateDecision = { collect: true };
const no = (reason: GateReason): GateDecision => ({ collect: false, reason });

describe('gate: decided at the event time', () => {
  const cases: Array<[string, ControlEvent[], EmailEvent, GateDecision]> = [
    ['unknown org starts disabled', [], opened(T), no('org_disabled')],
    ['enabled org collects', [on(T - MIN)], opened(T), COLLECT],
    ['before the enable', [on(T)], opened(T - 1), no('org_disabled')],
    ['switch at exactly t applies at t', [on(T)], opened(T), COLLECT],
    ['disable at exactly t applies at t', [on(T - MIN), off(T)], opened(T), no('org_disabled')],
    ['1 ms before a disable is collected', [on(T - MIN), off(T)], opened(T - 1), COLLECT],
    ['1 ms after a disable is not', [on(T - MIN), off(T)], opened(T + 1), no('org_disabled')],
    ['enable -> disable -> re-enable: inside the window', [on(T - 2 * MIN), off(T - MIN), on(T + MIN)], opened(T), no('org_disabled')],
    ['enable -> disable -> re-enable: after', [on(T - 2 * MIN), off(T - MIN), on(T + MIN)], opened(T + MIN), COLLECT],
    ['enable -> disable -> re-enable: before', [on(T - 2 * MIN), off(T - MIN), on(T + MIN)], opened(T - MIN - 1), COLLECT],
    ['switches read out of order', [on(T + MIN), off(T - MIN), on(T - 2 * MIN)], opened(T), no('org_disabled')],
    ['opt-out applies from its time', [on(0), pref(T, false)], opened(T), no('contact_opted_out')],
    ['before the opt-out is collected', [on(0), pref(T, false)], opened(T - 1), COLLECT],
    ['opt-out then opt-in', [on(0), pref(T - MIN, false), pref(T, true)], opened(T), COLLECT],
    ['opt-out then opt-in: in between', [on(0), pref(T - MIN, false), pref(T, true)], opened(T - 1), no('contact_opted_out')],
    ['another contact is not affected', [on(0), pref(T - MIN, false, 'c-2')], opened(T), COLLECT],
    ['EmailSent needs only the org enabled', [on(0), pref(T - MIN, false)], sent(T), COLLECT],
    ['EmailSent while disabled', [on(0), off(T - MIN)], sent(T), no('org_disabled')],
    ['purged: everything up to the purge', [on(0), purged(T)], opened(T), no('org_purged')],
    ['purged: even before it', [on(0), purged(T)], sent(T - 10 * MIN), no('org_purged')],
    ['purged: after the purge an org enabled before it collects nothing', [on(0), purged(T)], opened(T + 1), no('org_disabled')],
    ['purged: an enable after the purge restores collection', [on(0), purged(T), on(T + MIN)], opened(T + MIN), COLLECT],
    ['purged: between the purge and the enable', [on(0), purged(T), on(T + MIN)], opened(T + MIN - 1), no('org_disabled')],
    ['purged: an enable at the purge instant does not outlive it', [on(0), purged(T), on(T)], opened(T + 1), no('org_disabled')],
    ['purged: read out of order, the later enable still counts', [on(T + MIN), purged(T), on(0)], opened(T + MIN), COLLECT],
    ['purged twice: an enable between the purges is gone', [on(0), purged(T), on(T + MIN), purged(T + 2 * MIN)], opened(T + 3 * MIN), no('org_disabled')],
    ['purge wins over a disabled org', [purged(T)], opened(T - 1), no('org_purged')],
    ['subscription end: collected before it', [on(0), ended(T)], opened(T - 1), COLLECT],
    ['subscription end applies at its instant', [on(0), ended(T)], opened(T), no('subscription_ended')],
    ['subscription end: nothing after it', [on(0), ended(T)], opened(T + 60 * MIN), no('subscription_ended')],
    ['subscription end: a send accepted after it', [on(0), ended(T)], sent(T + 1), no('subscription_ended')],
    ['subscription end wins over a disabled org', [on(0), off(T - MIN), ended(T)], opened(T + 1), no('subscription_ended')],
    ['renewal restores collection from its instant', [on(0), ended(T), renewed(T + MIN)], opened(T + MIN), COLLECT],
    ['renewal: between the end and the renewal', [on(0), ended(T), renewed(T + MIN)], opened(T + MIN - 1), no('subscription_ended')],
    ['renewal: before the end still collected', [on(0), ended(T), renewed(T + MIN)], opened(T - 1), COLLECT],
    ['end, renew, end again', [on(0), ended(T), renewed(T + MIN), ended(T + 2 * MIN)], opened(T + 3 * MIN), no('subscription_ended')],
    ['end and renewal read out of order', [renewed(T + MIN), on(0), ended(T)], opened(T + 2 * MIN), COLLECT],
    ['renewal at the instant of the end wins', [on(0), ended(T), renewed(T)], opened(T), COLLECT],
    ['a renewed org that is disabled is still disabled', [on(0), ended(T), renewed(T + MIN), off(T + 2 * MIN)], opened(T + 3 * MIN), no('org_disabled')],
    ['purge after the end: up to the purge is purged', [on(0), ended(T), purged(T + MIN)], opened(T + MIN), no('org_purged')],
    ['purge after the end: a new enable starts over, the old end is done with', [on(0), ended(T), purged(T + MIN), on(T + 2 * MIN)], opened(T + 3 * MIN), COLLECT],
    ['purge after the end: not re-enabled, disabled', [on(0), ended(T), purged(T + MIN)], opened(T + 2 * MIN), no('org_disabled')],
  ];
  it.each(cases)('%s', (_name, control, event, expected) => {
    expect(gate(event, history(...control))).toEqual(expected);
  });

  describe('EmailSent is judged at acceptedAt, the instant of the follow decision', () => {
    const cases: Array<[string, ControlEvent[], EmailEvent, GateDecision]> = [
      ['reported an hour late, accepted after the enable', [on(T)], sent(T - 60 * MIN, T + 1), COLLECT],
      ['sentAt while enabled, accepted after a disable', [on(0), off(T)], sent(T - MIN, T + 1), no('org_disabled')],
      ['a v1/v2 writer (no acceptedAt): judged at occurredAt as before', [on(T)], sent(T - 60 * MIN, null), no('org_disabled')],
      ['a v1/v2 writer while enabled', [on(0)], sent(T, null), COLLECT],
      ['accepted before the subscription ended, sentAt after it', [on(0), ended(T)], sent(T + MIN, T - 1), COLLECT],
      ['accepted after the purge and the re-enable, sentAt before the purge', [on(0), purged(T), on(T + MIN)], sent(T - MIN, T + 2 * MIN), COLLECT],
      ['accepted before the purge', [on(0), purged(T)], sent(T - 2 * MIN, T - MIN), no('org_purged')],
    ];
    it.each(cases)('%s', (_name, control, event, expected) => {
      expect(gate(event, history(...control))).toEqual(expected);
    });

    it('interactions are still judged at their own occurredAt', () => {
      expect(gate(fixture('EmailOpened', { occurredAt: T - 1 }), history(on(T)))).toEqual(no('org_disabled'));
    });
  });

  // Of two switches at the same instant the later-read wins, so a re-delivered disable read after
  // an enable at that instant would turn the org off again if it were applied a second time.
  it('a re-delivered control event (same eventId) is applied once', () => {
    const disable = off(T);
    const h = history(on(T - MIN), disable, on(T), disable);
    expect(gate(opened(T), h)).toEqual(COLLECT);
    expect(h.size).toBe(3);
  });

  it('a re-delivered opt-out read after an opt-in at the same instant is applied once', () => {
    const optOut = pref(T, false);
    const h = history(on(0), optOut, pref(T, true), optOut);
    expect(gate(opened(T), h)).toEqual(COLLECT);
  });
});

describe('gate: recipient types are separate namespaces', () => {
  const leadPref = (at: number, allow: boolean): ControlEvent =>
    fixture('ContactFollowPreferenceChanged', { occurredAt: at, allow, contactId: 'c-1', contactType: 'lead', recipientType: 'lead' });
  const accountPref = (at: number, allow: boolean): ControlEvent =>
    fixture('ContactFollowPreferenceChanged', { occurredAt: at, allow, contactId: 'c-1', contactType: 'contact', recipientType: 'account' });
  const openedBy = (type: 'contact' | 'lead' | 'account'): EmailEvent => fixture('EmailOpened', { occurredAt: T, contactId: 'c-1', recipientType: type === 'contact' ? null : type });

  it('a lead who opted out does not opt out the contact with the same id, nor the reverse', () => {
    const h = history(on(0), leadPref(T - MIN, false));
    expect(gate(openedBy('lead'), h)).toEqual(no('contact_opted_out'));
    expect(gate(openedBy('contact'), h)).toEqual(COLLECT);
    expect(gate(openedBy('account'), h)).toEqual(COLLECT);
    const h2 = history(on(0), pref(T - MIN, false));
    expect(gate(openedBy('contact'), h2)).toEqual(no('contact_opted_out'));
    expect(gate(openedBy('lead'), h2)).toEqual(COLLECT);
  });

  it('an account is a recipient with its own preference', () => {
    const h = history(on(0), accountPref(T - MIN, false));
    expect(gate(openedBy('account'), h)).toEqual(no('contact_opted_out'));
    expect(gate(openedBy('contact'), h)).toEqual(COLLECT);
  });

  it('a v1 preference (no recipientType) of a lead stays a lead', () => {
    const v1Lead = fixture('ContactFollowPreferenceChanged', { occurredAt: T - MIN, allow: false, contactId: 'c-1', contactType: 'lead', recipientType: null });
    const h = history(on(0), v1Lead);
    expect(gate(openedBy('lead'), h)).toEqual(no('contact_opted_out'));
    expect(gate(openedBy('contact'), h)).toEqual(COLLECT);
  });
});

describe('gate: an unreadable control record fails closed for its org, from its time until resolved', () => {
  const unreadable = (orgId: string | null, at: number) => ({ partition: 0, offset: 7, orgId, at, reason: 'garbage' });
  const resolved = (at: number): ControlEvent => fixture('ControlRecordResolved', { occurredAt: at, partition: 0, offset: 7 });
  const openedIn = (orgId: string, at: number): EmailEvent => fixture('EmailOpened', { occurredAt: at, orgId });
  const enabled = (orgId: string): ControlEvent => fixture('OrgEngagementEnabled', { occurredAt: 0, orgId });

  it('blocks only that org, from the record time, and resolution reopens it from its own time', () => {
    const h = history(enabled('org-a'), enabled('org-b'));
    h.markUnreadable(unreadable('org-a', T));
    expect(gate(openedIn('org-a', T - 1), h)).toEqual(COLLECT);
    expect(gate(openedIn('org-a', T + 10 * MIN), h)).toEqual({ collect: false, reason: 'control_unreadable' });
    expect(gate(openedIn('org-b', T + 10 * MIN), h)).toEqual(COLLECT);
    h.apply(resolved(T + 5 * MIN));
    expect(gate(openedIn('org-a', T + MIN), h)).toEqual({ collect: false, reason: 'control_unreadable' });
    expect(gate(openedIn('org-a', T + 5 * MIN), h)).toEqual(COLLECT);
    expect(h.unresolved()).toEqual([]);
  });

  it('a resolution read before its record (another partition) still applies; an unreadable key blocks every org', () => {
    const h = history(enabled('org-a'), enabled('org-b'), resolved(T + MIN));
    expect(h.markUnreadable(unreadable(null, T))).toBe(true);
    expect(h.markUnreadable(unreadable(null, T))).toBe(false);
    expect(gate(openedIn('org-b', T), h)).toEqual({ collect: false, reason: 'control_unreadable' });
    expect(gate(openedIn('org-b', T + MIN), h)).toEqual(COLLECT);
  });
});

describe('gate: preferences a purge left only as suppression hashes', () => {
  const hasher = (orgId: string, type: string, id: string): string => `h:${orgId}:${type}:${id}`;
  const sealedPref = (at: number, allow: boolean, contactId: string): ControlEvent =>
    fixture('ContactFollowPreferenceChanged', { occurredAt: at, allow, contactId: 'sealed-bytes', contactType: 'contact', recipientType: 'contact', suppressionHash: hasher('org-1', 'contact', contactId), encryption: { algorithm: 'A256GCM', keyId: 'gone' } });
  const build = (h: ControlHistory, ...events: ControlEvent[]): ControlHistory => {
    events.forEach((e) => h.apply(e));
    return h;
  };

  it('an opt-out kept as a hash still refuses the recipient after a re-enable; others are followed', () => {
    const h = build(new ControlHistory(hasher), on(T), sealedPref(T + MIN, false, 'c-1'), purged(T + 2 * MIN), on(T + 3 * MIN));
    expect(h.hasRecipientPreferences('org-1')).toBe(true);
    expect(gate(opened(T + 4 * MIN, 'c-1'), h)).toEqual(no('contact_opted_out'));
    expect(gate(opened(T + 4 * MIN, 'c-2'), h)).toEqual(COLLECT);
  });

  it('a later clear "allow" of the same recipient wins over the hashed opt-out', () => {
    const h = build(new ControlHistory(hasher), on(T), sealedPref(T + MIN, false, 'c-1'), purged(T + 2 * MIN), on(T + 3 * MIN), pref(T + 4 * MIN, true, 'c-1'));
    expect(gate(opened(T + 5 * MIN, 'c-1'), h)).toEqual(COLLECT);
  });

  it('without the secret a hashed preference cannot be checked: nobody of the org is followed (fail closed)', () => {
    const h = build(new ControlHistory(), on(T), sealedPref(T + MIN, false, 'c-1'), purged(T + 2 * MIN), on(T + 3 * MIN));
    expect(gate(opened(T + 4 * MIN, 'c-2'), h).collect).toBe(false);
  });
});
