import { describe, expect, it } from 'vitest';
import { dayOf, type VersionKeys } from '../../projections/keys.js';
import { SEEN_TTL_SECONDS } from '../../projections/projector/apply-args.js';
import { fixture } from '../support/fixtures.js';
import { RedisProjection } from './support/redis-projection.js';

/**
 * The expiries the projector leaves in the real Redis (projectBatch + apply-batch.lua): every
 * projection key expires at the HISTORY_DAYS horizon from its event time, and an expiry only
 * ever moves later. The send is yesterday 09:00 UTC so the keys are inside the horizon.
 */
const DAY_MS = 86_400_000;
const DAY_S = 86_400;
const SENT_AT = Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS + 9 * 3_600_000;
const DAY = dayOf(SENT_AT);
const DAY_START_S = Math.floor(SENT_AT / DAY_MS) * DAY_S;
const H = 400;
const email = (k: VersionKeys) => k.email('org-1', 'e-1');
const flags = (k: VersionKeys) => k.emailRecipients('org-1', 'e-1');
const contact = (k: VersionKeys) => k.contact('org-1', 'c-1');
const index = (k: VersionKeys) => k.orgIndex('org-1');
const daily = [
  (k: VersionKeys) => k.orgDay('org-1', DAY),
  (k: VersionKeys) => k.senderDay('org-1', 's-1', DAY),
  (k: VersionKeys) => k.templateDay('org-1', 'tpl-1', DAY),
  (k: VersionKeys) => k.contactDay('org-1', 'c-1', DAY),
];
const at = (ms: number): number => Math.floor(ms / 1000) + H * DAY_S;
/** the org index lives as long as the month hashes it lists: their month's last day + the horizon */
const monthEnd = (ms: number): number => {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0) / 1000 + H * DAY_S;
};

describe('projection keys expire at the HISTORY_DAYS horizon', () => {
  it('a projected email: its keys HISTORY_DAYS after its send (as its EmailSent in the log), the contact after the send that gave its zone, its month of opens after the newest day it counts, the org index with its month hashes, daily keys after their day, seen sets after the de-dup window', async () => {
    const sent = fixture('EmailSent', { occurredAt: SENT_AT });
    const opened = fixture('EmailOpened', { occurredAt: SENT_AT + 3_600_000 });
    const p = await RedisProjection.open(5, H).deliver(sent, sent);
    expect(await p.expiresAt(email)).toBe(at(SENT_AT));
    await p.deliver(opened, opened);
    for (const key of [email, flags]) expect(await p.expiresAt(key), p.name(key)).toBe(at(SENT_AT));
    expect(await p.expiresAt(contact)).toBe(at(SENT_AT));
    expect(await p.expiresAt((k) => k.contactHours('org-1', 'c-1', DAY.slice(0, 6)))).toBe(DAY_START_S + H * DAY_S);
    expect(await p.expiresAt(index)).toBe(monthEnd(SENT_AT));
    expect(await p.expiresAt((k) => k.contactMonth('org-1', 'c-1', DAY.slice(0, 6)))).toBe(monthEnd(SENT_AT));
    for (const key of daily) expect(await p.expiresAt(key), p.name(key)).toBe(DAY_START_S + H * DAY_S);
    const seenTtl = await p.ttl((k) => k.seen(DAY));
    expect(seenTtl).toBeGreaterThan(SEEN_TTL_SECONDS - 60);
    expect(seenTtl).toBeLessThanOrEqual(SEEN_TTL_SECONDS);
  });

  it('an expiry only moves later: an older event arriving after a newer one leaves it', async () => {
    const sent = fixture('EmailSent', { occurredAt: SENT_AT });
    const late = fixture('EmailOpened', { occurredAt: SENT_AT + 7_200_000 });
    const early = fixture('EmailOpened', { occurredAt: SENT_AT + 3_600_000, contactId: 'c-2' });
    // an older send of another email to the same contact, with a zone, arriving after
    const older = fixture('EmailSent', { emailId: 'e-0', occurredAt: SENT_AT - 3_600_000 });
    const p = await RedisProjection.open(5, H).deliver(sent, late);
    await p.deliver(early, older);
    for (const key of [email, flags]) expect(await p.expiresAt(key), p.name(key)).toBe(at(SENT_AT));
    expect(await p.expiresAt(index)).toBe(monthEnd(SENT_AT));
    expect(await p.expiresAt(contact)).toBe(at(SENT_AT));
  });

  it('an event beyond the horizon leaves no key behind (as a live projection would have dropped it)', async () => {
    const old = SENT_AT - 3 * DAY_MS;
    const p = await RedisProjection.open(5, 2).deliver(fixture('EmailSent', { occurredAt: old }), fixture('EmailOpened', { occurredAt: old + 60_000 }));
    const hours = (k: VersionKeys) => k.contactHours('org-1', 'c-1', dayOf(old).slice(0, 6));
    for (const key of [email, flags, contact, index, hours, (k: VersionKeys) => k.orgDay('org-1', dayOf(old))]) expect(await p.expiresAt(key), p.name(key)).toBe(-2);
  });
});
