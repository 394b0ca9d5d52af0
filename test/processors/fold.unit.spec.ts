/** Given/when/then on the pure fold; every spec delivers the same event twice (idempotency). */

import { describe, expect, it } from 'vitest';
import { dayOf, hourOfWeekUtc } from '../../projections/keys.js';
import type { EmailEvent } from '../../schemas/events.js';
import { fixture } from '../support/fixtures.js';
import { InMemoryProjection, keys } from './support/in-memory-projection.js';

const SENT_AT = Date.UTC(2026, 0, 5, 9);
const LATER = SENT_AT + 3_600_000;
const DAY = dayOf(SENT_AT);
const sent = fixture('EmailSent', { occurredAt: SENT_AT });
const email = keys.email('org-1', 'e-1');
const orgd = keys.orgDay('org-1', DAY);
const senderd = keys.senderDay('org-1', 's-1', DAY);
const templated = keys.templateDay('org-1', 'tpl-1', DAY);
const contactd = keys.contactDay('org-1', 'c-1', DAY);

function given(...events: EmailEvent[]): InMemoryProjection {
  return new InMemoryProjection().deliver(...events);
}

describe('fold: EmailSent', () => {
  it('records the meta, recipients and the followed recipients once', () => {
    const p = given();
    p.deliver(sent, sent);
    p.deliver(sent);
    expect(p.get(email)).toMatchObject({ sentAt: String(SENT_AT), senderId: 's-1', templateId: 'tpl-1', subject: 'Quarterly review', recipients: '2', followedRecipients: '1' });
    for (const key of [orgd, senderd, templated]) expect(p.get(key)).toEqual({ emails: '1', recipients: '2', followedRecipients: '1' });
    expect(p.get(contactd)).toEqual({ received: '1' });
    expect(p.get(keys.contact('org-1', 'c-1'))).toEqual({ tz: 'Europe/Paris' });
    expect(p.get(keys.contactDay('org-1', 'c-2', DAY))).toEqual({});
  });
});

describe('fold: EmailOpened', () => {
  it('counts opens, unique opens once per recipient, first/last open and the hour histogram', () => {
    const first = fixture('EmailOpened', { occurredAt: LATER });
    const second = fixture('EmailOpened', { occurredAt: LATER + 60_000 });
    const p = given(sent);
    p.deliver(first, first);
    p.deliver(second);
    p.deliver(second);
    expect(p.get(email)).toMatchObject({ opens: '2', uniqueOpens: '1', firstOpenedAt: String(LATER), lastOpenedAt: String(LATER + 60_000) });
    for (const key of [orgd, senderd, templated]) expect(p.get(key)).toMatchObject({ opens: '2', uniqueOpens: '1' });
    expect(p.get(contactd)).toEqual({ received: '1', opened: '1' });
    expect(p.get(keys.contact('org-1', 'c-1'))).toEqual({ tz: 'Europe/Paris', lastOpenedAt: String(LATER + 60_000), [`h:${hourOfWeekUtc(LATER)}`]: '2' });
  });

  it('counts a machine open only as machineOpens', () => {
    const bot = fixture('EmailOpened', { occurredAt: LATER, machineReason: 'head_request' });
    const p = given(sent).deliver(bot).deliver(bot);
    expect(p.get(email)).toMatchObject({ machineOpens: '1' });
    expect(p.get(email).opens).toBeUndefined();
    expect(p.get(orgd)).toMatchObject({ machineOpens: '1' });
    expect(p.get(contactd)).toEqual({ received: '1' });
  });
});

describe('fold: LinkClicked', () => {
  it('counts clicks per link, unique clickers per email and per link', () => {
    const a = fixture('LinkClicked', { occurredAt: LATER });
    const b = fixture('LinkClicked', { occurredAt: LATER + 1000, linkId: 'l1', url: 'https://example.com/b' });
    const p = given(sent).deliver(a, a, b).deliver(b);
    expect(p.get(email)).toMatchObject({ clicks: '2', uniqueClicks: '1', 'lc:l0': '1', 'lc:l1': '1', 'lu:l0': '1', 'lu:l1': '1', 'url:l1': 'https://example.com/b' });
    expect(p.get(orgd)).toMatchObject({ clicks: '2', uniqueClicks: '1' });
    expect(p.get(contactd)).toEqual({ received: '1', clicked: '1' });
  });

  it('treats a click sooner than MACHINE_CLICK_SECONDS after the send as a machine', () => {
    const scanner = fixture('LinkClicked', { occurredAt: SENT_AT + 4999 });
    const p = given(sent).deliver(scanner, scanner);
    expect(p.get(email)).toMatchObject({ machineClicks: '1' });
    expect(p.get(email).clicks).toBeUndefined();
    expect(p.get(senderd)).toMatchObject({ machineClicks: '1' });
  });
});

describe('fold: AttachmentViewed and EmailReplied', () => {
  it('counts attachment views and replies (a recipient once in the rollups)', () => {
    const view = fixture('AttachmentViewed', { occurredAt: LATER });
    const reply = fixture('EmailReplied', { occurredAt: LATER });
    const reply2 = fixture('EmailReplied', { occurredAt: LATER + 1 });
    const p = given(sent).deliver(view, reply, view, reply).deliver(reply2, reply2);
    expect(p.get(email)).toMatchObject({ attachmentViews: '1', replies: '2' });
    expect(p.get(templated)).toMatchObject({ attachmentViews: '1', replies: '1' });
    expect(p.get(contactd)).toEqual({ received: '1', replied: '1' });
  });

  it('indexes every touched key under the org', () => {
    const p = given(sent, fixture('EmailOpened', { occurredAt: LATER }));
    expect(p.sets.get(keys.orgIndex('org-1'))).toEqual(new Set([email, keys.emailRecipients('org-1', 'e-1'), orgd, senderd, templated, contactd, keys.contact('org-1', 'c-1')]));
  });
});
