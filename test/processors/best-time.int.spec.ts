import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../core/config.js';
import { hourMonths } from '../../projections/keys.js';
import { contactOpens, openHistograms } from '../../projections/queries/best-time.js';
import { contactKpisFrom } from '../../projections/queries/contact-kpis.js';
import type { EmailOpened } from '../../schemas/events.js';
import { fixture } from '../support/fixtures.js';
import { RedisProjection } from './support/redis-projection.js';

/**
 * DESIGN §5 best time, through the projector on the real Redis: each open is counted in the
 * contact's local hour of week at the moment of the open, in the zone the send gave the recipient.
 * A contact in America/New_York opening at 10:00 local in December (EST) and in July (EDT), and one
 * in Asia/Kolkata (UTC+5:30) at 10:00, all land in Wednesday 10:00.
 */
const SENT_AT = Date.UTC(2025, 11, 1, 12); // Monday 1 December 2025
const sent = fixture('EmailSent', {
  occurredAt: SENT_AT,
  recipients: [
    { contactId: 'ny', contactType: 'contact', recipientType: 'contact', followed: true, timeZone: 'America/New_York' },
    { contactId: 'kol', contactType: 'contact', recipientType: 'contact', followed: true, timeZone: 'Asia/Kolkata' },
  ],
});
const open = (contactId: string, at: number): EmailOpened => fixture('EmailOpened', { eventId: randomUUID(), contactId, occurredAt: at });

describe('best time to email, counted on the contact\u2019s clock', () => {
  it('puts 10:00 local in the 10:00 slot in July and December, and in a half-hour zone', async () => {
    const ny = [
      Date.UTC(2025, 11, 17, 15, 0), // Wednesday 17 December 2025, 10:00 EST
      Date.UTC(2025, 11, 17, 15, 40),
      Date.UTC(2025, 11, 24, 15, 10),
      Date.UTC(2026, 6, 15, 14, 0), // Wednesday 15 July 2026, 10:00 EDT
      Date.UTC(2026, 6, 15, 14, 59),
      Date.UTC(2026, 6, 22, 14, 30),
    ].map((at) => open('ny', at));
    const kol = [0, 7, 14, 21, 28].map((days) => open('kol', Date.UTC(2025, 11, 17 + days, 4, 30 + days))); // Wednesdays 10:00-10:28 IST
    const p = await RedisProjection.open().deliver(sent);
    await p.deliver(...ny.slice(0, 3), ...kol.slice(0, 2));
    await p.deliver(...ny.slice(3), ...kol.slice(2));
    const now = Date.UTC(2026, 10, 1); // the zone's offset today no longer matters
    // the contact hash and its months of opens, as the contact read sums them
    const best = async (id: string) => {
      const contact = await p.get((k) => k.contact('org-1', id));
      const months = await Promise.all(hourMonths(now, DEFAULTS.HISTORY_DAYS).map((month) => p.get((k) => k.contactHours('org-1', id, month))));
      expect(months.filter((m) => Object.keys(m).length > 0)).toHaveLength(2); // ny: December and July; kol: December and January
      return contactKpisFrom('org-1', id, ['2026-11-01'], contact, [{}], now, contactOpens(openHistograms(contact), undefined, months).histograms).bestTimeToEmail;
    };
    expect(await best('ny')).toEqual([{ dayOfWeek: 'Wednesday', hour: 10, opens: 6 }]);
    expect(await best('kol')).toEqual([{ dayOfWeek: 'Wednesday', hour: 10, opens: 5 }]);
  });

  it('leaves out an open past the horizon, as every other KPI does (the contact hash, kept alive by newer opens, counted it)', async () => {
    const DAY = 86_400_000;
    const HISTORY_DAYS = 70; // the month of an open an hour ago is always whole within it
    const now = Date.now();
    const recent = fixture('EmailSent', { emailId: 'e-new', occurredAt: now - 2 * 3_600_000, recipients: [sent.recipients[0]!] });
    const old = fixture('EmailSent', { emailId: 'e-old', occurredAt: now - 76 * DAY, recipients: [sent.recipients[0]!] });
    const p = await RedisProjection.open(5, HISTORY_DAYS).deliver(recent, { ...open('ny', now - 3_600_000), emailId: 'e-new' });
    // a late batch: an email and its open from before the horizon (an import, a tracking batch held back)
    await p.deliver(old, { ...open('ny', now - 75 * DAY), emailId: 'e-old' });
    const contact = await p.get((k) => k.contact('org-1', 'ny'));
    const months = await Promise.all(hourMonths(now, HISTORY_DAYS).map((month) => p.get((k) => k.contactHours('org-1', 'ny', month))));
    const opens = contactOpens(openHistograms(contact), contact.lastOpenedAt, months);
    const counted = [...opens.histograms.local.values()].reduce((a, b) => a + b, 0);
    expect(counted).toBe(1);
    expect(opens.lastOpenedAt).toBe(String(now - 3_600_000));
    expect(await p.get((k) => k.contactDay('org-1', 'ny', new Date(now - 75 * DAY).toISOString().slice(0, 10).replaceAll('-', '')))).toEqual({});
  });
});
