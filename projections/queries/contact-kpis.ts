import type { Redis } from 'ioredis';
import { DEFAULTS } from '../../core/config.js';
import { EngagementError } from '../../core/errors.js';
import { parseWholeNumber } from './query-params.js';
import { CONTACT_DAY_FIELDS, hourMonths, lastExpiredDay, PACKED, type Keys } from '../keys.js';
import { monthsOf } from './rollup-kpis.js';
import type { RecipientType } from '../../schemas/events.js';
import { bestTimeToEmail, contactHashOf, openHistograms, contactOpens, type BestTimeSlot, type OpenHistograms } from './best-time.js';
import type { ControlFallback } from '../control/control-store.js';
import { readHashes, readLive, runQuery } from './context.js';
import { bucketOf, lastDays } from './days.js';
import { rate, toInt, toIso } from './rates.js';

export const CONTACT_WINDOW = { defaultDays: 30, maxDays: 365 } as const;

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

/**
 * A window's packed days summed (CONTACT_DAY_FIELDS), and how many hold anything: a day at or
 * before `lastGone` (its day hash expired at the horizon) counts as empty, as its hash would. Pure.
 */
export function sumWindow(buckets: readonly string[], rows: readonly (readonly number[])[], held: readonly boolean[], lastGone: string): { sums: Record<string, number>; present: number } {
  const totals = CONTACT_DAY_FIELDS.map(() => 0);
  let present = 0;
  rows.forEach((row, i) => {
    if (!held[i] || buckets[i]! <= lastGone) return;
    present++;
    row.forEach((n, f) => (totals[f]! += n));
  });
  return { sums: Object.fromEntries(CONTACT_DAY_FIELDS.map((field, f) => [field, totals[f]!])), present };
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
  /** HISTORY_DAYS: days older than this horizon read as empty */
  historyDays: number = DEFAULTS.HISTORY_DAYS,
): Promise<ContactKpis & { recipientType: RecipientType }> {
  const dates = lastDays(days, now);
  const buckets = dates.map((d) => bucketOf(d));
  const hours = hourMonths(now, historyDays);
  // The window from the contact's month hashes: two HMGETs for 30 days (read-kpis.lua, 'packed'),
  // with the contact hash and its best-time months read whole.
  const { data } = await runQuery<'packed'>(
    redis,
    keys,
    orgId,
    (v) => ({
      mode: 'packed',
      marker: v.packedRollups(),
      level: PACKED.contacts,
      heads: [v.contact(orgId, contactId, type), ...hours.map((month) => v.contactHours(orgId, contactId, month, type))],
      months: monthsOf(buckets, (month) => v.contactMonth(orgId, contactId, month, type)),
      fields: CONTACT_DAY_FIELDS,
    }),
    fallback,
  );
  let first: unknown;
  let hourHashes: unknown[];
  let sums: Record<string, number>;
  let present: number;
  if (data.packed) {
    [first, ...hourHashes] = data.heads;
    ({ sums, present } = sumWindow(buckets, data.rows, data.held, lastExpiredDay(now, historyDays)));
  } else {
    // A version written before contact months (until a replay rebuilds it): summed over its day
    // hashes in Redis, then its months of opens, in two round trips; readLive reads both again if
    // a replay switched versions meanwhile (the replay that rebuilds this one, typically).
    ({ first, sums, present, hourHashes } = await readLive(redis, keys, orgId, fallback, async (live) => {
      const unpacked = await runQuery<'sum'>(
        redis,
        keys,
        orgId,
        (v) => ({ mode: 'sum', keys: [v.contact(orgId, contactId, type), ...buckets.map((b) => v.contactDay(orgId, contactId, b, type))], fields: CONTACT_DAY_FIELDS }),
        fallback,
      );
      const months = await readHashes(redis, hours.map((month) => live.contactHours(orgId, contactId, month, type)));
      // a sum of another version than `live` means a switch: readLive finds `live` gone and reads again
      return { ...unpacked.data, hourHashes: months };
    }));
  }
  const contact = contactHashOf(first);
  const opens = contactOpens(contact.histograms, contact.fields.lastOpenedAt, hourHashes);
  if (contact.size === 0 && present === 0 && !opens.any) {
    throw new EngagementError('not_found', `no KPIs for ${type} ${contactId} of organisation ${orgId}`);
  }
  // recipientType third, as recipientKpisResponse orders it (the answer is serialised in that order)
  const { orgId: _org, contactId: _contact, ...kpis } = contactKpisFrom(orgId, contactId, dates, withLastOpen(contact.fields, opens.lastOpenedAt), [sums], now, opens.histograms);
  return { orgId, contactId, recipientType: type, ...kpis };
}

/** The contact hash's fields with the last open of its months of opens. */
function withLastOpen(fields: Record<string, string>, lastOpenedAt: string | null): Record<string, string> {
  return lastOpenedAt === null || fields.lastOpenedAt === lastOpenedAt ? fields : { ...fields, lastOpenedAt };
}
