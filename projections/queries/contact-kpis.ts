import type { Redis } from 'ioredis';
import { EngagementError } from '../../core/errors.js';
import { parseWholeNumber } from './query-params.js';
import type { Keys } from '../keys.js';
import type { RecipientType } from '../../schemas/events.js';
import { bestTimeToEmail, contactHashOf, openHistograms, type BestTimeSlot, type OpenHistograms } from './best-time.js';
import type { ControlFallback } from '../control/control-store.js';
import { runQuery } from './context.js';
import { bucketOf, lastDays } from './days.js';
import { rate, toInt, toIso } from './rates.js';

export const CONTACT_WINDOW = { defaultDays: 30, maxDays: 365 } as const;
/** The counters of a contact-day hash (the fold writes them) that a window sums. */
const CONTACT_DAY_FIELDS = ['received', 'opened', 'clicked', 'replied'] as const;

export interface ContactKpis {
  orgId: string;
  contactId: string;
  days: number;
  from: string;
  to: string;
  timeZone: string | null;
  emailsReceived: number;
  emailsOpened: number;
  emailsClicked: number;
  emailsReplied: number;
  openRate: number;
  clickRate: number;
  replyRate: number;
  lastOpenedAt: string | null;
  bestTimeToEmail: BestTimeSlot[] | null;
}

/**
 * Pure: the contact hash and its day buckets (oldest first, or already summed) → the KPI document.
 * `histograms`: the hash's open histograms when the caller has read them already (contactHashOf).
 */
export function contactKpisFrom(
  orgId: string,
  contactId: string,
  dates: readonly string[],
  contact: Record<string, string>,
  buckets: ReadonlyArray<Record<string, string | number>>,
  now: number,
  histograms: OpenHistograms = openHistograms(contact),
): ContactKpis {
  let received = 0;
  let opened = 0;
  let clicked = 0;
  let replied = 0;
  for (const b of buckets) {
    received += toInt(b.received);
    opened += toInt(b.opened);
    clicked += toInt(b.clicked);
    replied += toInt(b.replied);
  }
  const { local: histogram, legacyUtc } = histograms;
  const timeZone = contact.tz || null;
  return {
    orgId,
    contactId,
    days: dates.length,
    from: dates[0]!,
    to: dates[dates.length - 1]!,
    timeZone,
    emailsReceived: received,
    emailsOpened: opened,
    emailsClicked: clicked,
    emailsReplied: replied,
    openRate: rate(opened, received),
    clickRate: rate(clicked, received),
    replyRate: rate(replied, received),
    lastOpenedAt: toIso(contact.lastOpenedAt),
    bestTimeToEmail: bestTimeToEmail(histogram, timeZone, now, { legacyUtc }),
  };
}

export function parseDays(raw: unknown): number {
  return parseWholeNumber('days', raw, CONTACT_WINDOW.defaultDays, CONTACT_WINDOW.maxDays);
}

export async function queryContactKpis(
  redis: Redis,
  keys: Keys,
  orgId: string,
  contactId: string,
  days: number = CONTACT_WINDOW.defaultDays,
  now: number = Date.now(),
  fallback?: ControlFallback,
  type: RecipientType = 'contact',
): Promise<ContactKpis & { recipientType: RecipientType }> {
  const dates = lastDays(days, now);
  const buckets = dates.map((d) => bucketOf(d));
  // The window is summed inside Redis (read-kpis.lua): one reply of four numbers, not one hash per day.
  const { data } = await runQuery<'sum'>(
    redis,
    keys,
    orgId,
    (v) => ({ mode: 'sum', keys: [v.contact(orgId, contactId, type), ...buckets.map((b) => v.contactDay(orgId, contactId, b, type))], fields: CONTACT_DAY_FIELDS }),
    fallback,
  );
  const contact = contactHashOf(data.first);
  if (contact.size === 0 && data.present === 0) {
    throw new EngagementError('not_found', `no KPIs for ${type} ${contactId} of organisation ${orgId}`);
  }
  // recipientType third, as recipientKpisResponse orders it (the answer is serialised in that order)
  const { orgId: _org, contactId: _contact, ...kpis } = contactKpisFrom(orgId, contactId, dates, contact.fields, [data.sums], now, contact.histograms);
  return { orgId, contactId, recipientType: type, ...kpis };
}
