/**
 * A recipient's activity per day over a window (the dashboard's daily chart), from the same day
 * buckets contact-kpis.ts sums. A read of its own: the KPI query sums the window inside Redis
 * (one reply of four numbers), so the per-day values only the dashboard needs are read here.
 */
import type { Redis } from 'ioredis';
import type { RecipientType } from '../../schemas/events.js';
import type { ControlFallback } from '../control/control-store.js';
import type { Keys } from '../keys.js';
import { readHashes, readLive } from './context.js';
import { bucketOf, lastDays } from './days.js';
import { toInt } from './rates.js';

export interface RecipientDay {
  date: string;
  received: number;
  opened: number;
  clicked: number;
  replied: number;
}

/** Pure: dates (oldest first) and their buckets → one entry per date. */
export function recipientDaysFrom(dates: readonly string[], buckets: ReadonlyArray<Record<string, string>>): RecipientDay[] {
  return dates.map((date, i) => {
    const b = buckets[i] ?? {};
    return { date, received: toInt(b.received), opened: toInt(b.opened), clicked: toInt(b.clicked), replied: toInt(b.replied) };
  });
}

export async function queryRecipientDaily(
  redis: Redis,
  keys: Keys,
  orgId: string,
  contactId: string,
  type: RecipientType,
  days: number,
  now: number,
  fallback?: ControlFallback,
): Promise<RecipientDay[]> {
  const dates = lastDays(days, now);
  return readLive(redis, keys, orgId, fallback, async (v) => recipientDaysFrom(dates, await readHashes(redis, dates.map((d) => v.contactDay(orgId, contactId, bucketOf(d), type)))));
}
