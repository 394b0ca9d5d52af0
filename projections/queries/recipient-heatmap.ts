/**
 * A recipient's whole 7×24 open histogram in the recipient's own time zone (the dashboard's
 * heatmap): the same shift as best time to email, every slot kept.
 */
import type { Redis } from 'ioredis';
import { EngagementError } from '../../core/errors.js';
import type { RecipientType } from '../../schemas/events.js';
import type { ControlFallback } from '../control/control-store.js';
import { DEFAULTS } from '../../core/config.js';
import { hourMonths, type Keys } from '../keys.js';
import { bestTimeToEmail, contactOpens, openHistograms, type OpenHistograms } from './best-time.js';
import { readHashes, readLive } from './context.js';

export const HEATMAP_DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;

export interface RecipientHeatmap {
  orgId: string;
  contactId: string;
  recipientType: RecipientType;
  timeZone: string | null;
  /** opens per local hour of week: `opens[day][hour]`, Monday first */
  opens: number[][];
  totalOpens: number;
}

/** Pure: the contact hash (and its histograms, with its contact-hours months) → the local-time grid. */
export function heatmapFrom(
  contact: Record<string, string>,
  now: number,
  histograms: OpenHistograms = openHistograms(contact),
): { timeZone: string | null; opens: number[][]; totalOpens: number } {
  const { local: histogram, legacyUtc } = histograms;
  const timeZone = contact.tz || null;
  const opens = HEATMAP_DAYS.map(() => Array.from({ length: 24 }, () => 0));
  let totalOpens = 0;
  for (const slot of bestTimeToEmail(histogram, timeZone, now, { minOpens: 0, top: 168, legacyUtc }) ?? []) {
    opens[HEATMAP_DAYS.indexOf(slot.dayOfWeek as (typeof HEATMAP_DAYS)[number])]![slot.hour] = slot.opens;
    totalOpens += slot.opens;
  }
  return { timeZone, opens, totalOpens };
}

export async function queryRecipientHeatmap(
  redis: Redis,
  keys: Keys,
  orgId: string,
  contactId: string,
  type: RecipientType,
  now: number,
  fallback?: ControlFallback,
  /** HISTORY_DAYS: the months of opens counted (keys.ts, hourMonths) */
  historyDays: number = DEFAULTS.HISTORY_DAYS,
): Promise<RecipientHeatmap> {
  return readLive(redis, keys, orgId, fallback, async (v) => {
    const hours = hourMonths(now, historyDays).map((month) => v.contactHours(orgId, contactId, month, type));
    const [contact = {}, ...months] = await readHashes(redis, [v.contact(orgId, contactId, type), ...hours]);
    const opens = contactOpens(openHistograms(contact), contact.lastOpenedAt, months);
    if (Object.keys(contact).length === 0 && !opens.any) throw new EngagementError('not_found', `no KPIs for ${type} ${contactId} of organisation ${orgId}`);
    return { orgId, contactId, recipientType: type, ...heatmapFrom(contact, now, opens.histograms) };
  });
}
