import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../core/config.js';
import { CONTACT_DAY_FIELDS, dayOf, packedDayOf, ROLLUP_FIELDS, type VersionKeys } from '../../projections/keys.js';
import { hourOfWeekIn } from '../../projections/local-hour.js';
import type { EmailEvent } from '../../schemas/events.js';
import { fixture } from '../support/fixtures.js';
import { RedisProjection } from './support/redis-projection.js';

/**
 * Given/when/then on the fold, through the projector's batch step and apply-batch.lua on the real
 * Redis; every spec delivers the same event twice (idempotency). The send is yesterday 09:00 UTC,
 * not a fixed date: the script EXPIREATs contact-day keys 400 days after their day, so a fixed
 * date would one day write keys that Redis drops at once.
 */
const DAY_MS = 86_400_000;
const SENT_AT = Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS + 9 * 3_600_000;
const LATER = SENT_AT + 3_600_000;
const DAY = dayOf(SENT_AT);
const sent = fixture('EmailSent', { occurredAt: SENT_AT });
const email = (k: VersionKeys) => k.email('org-1', 'e-1');
const orgd = (k: VersionKeys) => k.orgDay('org-1', DAY);
const senderd = (k: VersionKeys) => k.senderDay('org-1', 's-1', DAY);
const templated = (k: VersionKeys) => k.templateDay('org-1', 'tpl-1', DAY);
const contactd = (k: VersionKeys) => k.contactDay('org-1', 'c-1', DAY);
const contact = (k: VersionKeys) => k.contact('org-1', 'c-1');

function given(...events: EmailEvent[]): Promise<RedisProjection> {
  return RedisProjection.open().deliver(...events);
}

describe('fold: EmailSent', () => {
  it('records the meta, recipients and the followed recipients once', async () => {
    const p = await given();
    await p.deliver(sent, sent);
    await p.deliver(sent);
    expect(await p.get(email)).toMatchObject({ sentAt: String(SENT_AT), senderId: 's-1', templateId: 'tpl-1', subject: 'Quarterly review', recipients: '2', followedRecipients: '1' });
    for (const key of [orgd, senderd, templated]) expect(await p.get(key)).toEqual({ emails: '1', recipients: '2', followedRecipients: '1' });
    expect(await p.get(contactd)).toEqual({ received: '1' });
    expect(await p.get(contact)).toEqual({ tz: 'Europe/Paris' });
    expect(await p.get((k) => k.contactDay('org-1', 'c-2', DAY))).toEqual({});
  });
});

describe('fold: EmailSent retried under the same emailId', () => {
  // a retry is the same send with another sentAt: the same eventId, and another day's seen set
  const retryNextDay = { ...sent, occurredAt: SENT_AT - 2 * DAY_MS + 3_600_000, subject: 'Retried', senderId: 's-2' };
  const firstSend = { ...sent, occurredAt: SENT_AT - 3 * DAY_MS };
  const retryLater = { ...sent, occurredAt: SENT_AT + 6 * 3_600_000, templateId: 'tpl-2' };
  const firstDay = dayOf(firstSend.occurredAt);

  it('is one email: the first send wins and its counts are applied once, in later batches or the same one', async () => {
    const p = await given(firstSend);
    await p.deliver(retryNextDay);
    await p.deliver(retryLater, retryNextDay);
    expect(await p.get(email)).toMatchObject({ sentAt: String(firstSend.occurredAt), senderId: 's-1', templateId: 'tpl-1', subject: 'Quarterly review', recipients: '2', followedRecipients: '1' });
    expect(await p.get((k) => k.orgDay('org-1', firstDay))).toEqual({ emails: '1', recipients: '2', followedRecipients: '1' });
    for (const day of [dayOf(retryNextDay.occurredAt), DAY]) {
      expect(await p.get((k) => k.orgDay('org-1', day))).toEqual({});
      expect(await p.get((k) => k.senderDay('org-1', 's-2', day))).toEqual({});
      expect(await p.get((k) => k.templateDay('org-1', 'tpl-2', day))).toEqual({});
      expect(await p.get((k) => k.contactDay('org-1', 'c-1', day))).toEqual({});
    }
    expect(await p.get((k) => k.contactDay('org-1', 'c-1', firstDay))).toEqual({ received: '1' });
  });

  it('a retry in the same batch as the first send changes nothing either', async () => {
    const p = await given(firstSend, retryNextDay, retryLater);
    expect(await p.get(email)).toMatchObject({ sentAt: String(firstSend.occurredAt), senderId: 's-1', recipients: '2', followedRecipients: '1' });
    expect(await p.get((k) => k.orgDay('org-1', firstDay))).toEqual({ emails: '1', recipients: '2', followedRecipients: '1' });
    expect(await p.get((k) => k.orgDay('org-1', dayOf(retryNextDay.occurredAt)))).toEqual({});
  });

  it('clicks are judged against the first send time', async () => {
    const p = await given(firstSend);
    await p.deliver(retryLater, fixture('LinkClicked', { occurredAt: retryLater.occurredAt + 1000 }));
    expect(await p.get(email)).toMatchObject({ clicks: '1' });
  });
});

describe('fold: EmailOpened', () => {
  it('counts opens, unique opens once per recipient, first/last open and the hour histogram', async () => {
    const first = fixture('EmailOpened', { occurredAt: LATER });
    const second = fixture('EmailOpened', { occurredAt: LATER + 60_000 });
    const p = await given(sent);
    await p.deliver(first, first);
    await p.deliver(second);
    await p.deliver(second);
    expect(await p.get(email)).toMatchObject({ opens: '2', uniqueOpens: '1', firstOpenedAt: String(LATER), lastOpenedAt: String(LATER + 60_000) });
    for (const key of [orgd, senderd, templated]) expect(await p.get(key)).toMatchObject({ opens: '2', uniqueOpens: '1' });
    expect(await p.get(contactd)).toEqual({ received: '1', opened: '1' });
    expect(await p.get(contact)).toEqual({ tz: 'Europe/Paris' });
    // the open's month: best time in the recipient's local hour of week, and the last open, kept to the horizon from the newest open's day
    const hours = (k: VersionKeys) => k.contactHours('org-1', 'c-1', packedDayOf(DAY).month);
    expect(await p.get(hours)).toEqual({ [`hl:${hourOfWeekIn(LATER, 'Europe/Paris')}`]: '2', lastOpenedAt: String(LATER + 60_000) });
    expect(await p.expiresAt(hours)).toBe(await p.expiresAt(contactd));
  });

  it('counts a machine open only as machineOpens', async () => {
    const bot = fixture('EmailOpened', { occurredAt: LATER, machineReason: 'head_request' });
    const p = await given(sent);
    await p.deliver(bot);
    await p.deliver(bot);
    expect(await p.get(email)).toMatchObject({ machineOpens: '1' });
    expect((await p.get(email)).opens).toBeUndefined();
    expect(await p.get(orgd)).toMatchObject({ machineOpens: '1' });
    expect(await p.get(contactd)).toEqual({ received: '1' });
  });
});

describe('fold: LinkClicked', () => {
  it('counts clicks per link, unique clickers per email and per link', async () => {
    const a = fixture('LinkClicked', { occurredAt: LATER });
    const b = fixture('LinkClicked', { occurredAt: LATER + 1000, linkId: 'l1', url: 'https://example.com/b' });
    const p = await given(sent);
    await p.deliver(a, a, b);
    await p.deliver(b);
    expect(await p.get(email)).toMatchObject({ clicks: '2', uniqueClicks: '1', 'lc:l0': '1', 'lc:l1': '1', 'lu:l0': '1', 'lu:l1': '1', 'url:l1': 'https://example.com/b' });
    expect(await p.get(orgd)).toMatchObject({ clicks: '2', uniqueClicks: '1' });
    expect(await p.get(contactd)).toEqual({ received: '1', clicked: '1' });
  });

  it('treats a click sooner than MACHINE_CLICK_SECONDS after the send as a machine', async () => {
    const scanner = fixture('LinkClicked', { occurredAt: SENT_AT + 4999 });
    const p = await given(sent);
    await p.deliver(scanner, scanner);
    expect(await p.get(email)).toMatchObject({ machineClicks: '1' });
    expect((await p.get(email)).clicks).toBeUndefined();
    expect(await p.get(senderd)).toMatchObject({ machineClicks: '1' });
  });
});

describe('fold: AttachmentViewed and EmailReplied', () => {
  it('counts attachment views and replies (a recipient once in the rollups)', async () => {
    const view = fixture('AttachmentViewed', { occurredAt: LATER });
    const reply = fixture('EmailReplied', { occurredAt: LATER });
    const reply2 = fixture('EmailReplied', { occurredAt: LATER + 1 });
    const p = await given(sent);
    await p.deliver(view, reply, view, reply);
    await p.deliver(reply2, reply2);
    expect(await p.get(email)).toMatchObject({ attachmentViews: '1', replies: '2' });
    expect(await p.get(templated)).toMatchObject({ attachmentViews: '1', replies: '1' });
    expect(await p.get(contactd)).toEqual({ received: '1', replied: '1' });
  });

  it('indexes every touched key under the org', async () => {
    const p = await given(sent, fixture('EmailOpened', { occurredAt: LATER }));
    const { month } = packedDayOf(DAY);
    const months = [
      (k: VersionKeys) => k.orgMonth('org-1', month),
      (k: VersionKeys) => k.senderMonth('org-1', 's-1', month),
      (k: VersionKeys) => k.templateMonth('org-1', 'tpl-1', month),
      (k: VersionKeys) => k.contactMonth('org-1', 'c-1', month),
      (k: VersionKeys) => k.contactHours('org-1', 'c-1', month),
    ];
    const touched = [email, (k: VersionKeys) => k.emailRecipients('org-1', 'e-1'), orgd, senderd, templated, contactd, contact, ...months];
    expect(await p.members((k) => k.orgIndex('org-1'))).toEqual(new Set(touched.map((key) => p.name(key))));
  });

  it('packs each daily rollup into its month hash as the day hash holds it after the batch', async () => {
    const p = await given(sent, fixture('EmailOpened', { occurredAt: LATER }), fixture('EmailReplied', { occurredAt: LATER + 1000 }));
    const { month, field } = packedDayOf(DAY);
    for (const [day, monthKey] of [
      [orgd, (k: VersionKeys) => k.orgMonth('org-1', month)],
      [senderd, (k: VersionKeys) => k.senderMonth('org-1', 's-1', month)],
      [templated, (k: VersionKeys) => k.templateMonth('org-1', 'tpl-1', month)],
    ] as const) {
      const hash = await p.get(day);
      expect(hash).toMatchObject({ emails: '1', opens: '1', uniqueOpens: '1', replies: '1' });
      expect(await p.get(monthKey)).toEqual({ [field]: ROLLUP_FIELDS.map((f) => hash[f] ?? '').join(',') });
      // the month hash expires with its month's last day, at the horizon
      expect(await p.expiresAt(monthKey)).toBe((Date.UTC(Number(month.slice(0, 4)), Number(month.slice(4, 6)), 0) + DEFAULTS.HISTORY_DAYS * 86_400_000) / 1000);
    }
  });

  it("packs each contact day into the contact's month hash (the counters a contact window sums)", async () => {
    const p = await given(sent, fixture('EmailOpened', { occurredAt: LATER }), fixture('EmailReplied', { occurredAt: LATER + 1000 }));
    const { month, field } = packedDayOf(DAY);
    expect(await p.get(contactd)).toEqual({ received: '1', opened: '1', replied: '1' });
    expect(await p.get((k) => k.contactMonth('org-1', 'c-1', month))).toEqual({ [field]: '1,1,,1' });
    expect(CONTACT_DAY_FIELDS).toEqual(['received', 'opened', 'clicked', 'replied']);
  });
});
