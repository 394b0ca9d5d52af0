import type { Redis } from 'ioredis';
import type { Keys, RollupField, VersionKeys } from '../keys.js';
import { ROLLUP_FIELDS } from '../keys.js';
import type { ControlFallback } from '../control/control-store.js';
import { runQuery } from './context.js';
import { bucketOf, dateRange, lastDays, parseDate } from './days.js';
import { engagementRates, toInt, type EngagementRates } from './rates.js';

type StoredCounters = Record<RollupField, number>;
export type RollupCounters = Omit<StoredCounters, 'replies'> & {
  /** recipients who replied at least once to an email (hash field `replies`), as on the email KPIs */
  uniqueReplies: number;
  /** @deprecated the same count as uniqueReplies, kept because DESIGN §6 names are never renamed */
  replies: number;
};
export type DailyRow = { date: string } & RollupCounters;
export type RollupScope = { kind: 'org' } | { kind: 'sender'; senderId: string } | { kind: 'template'; templateId: string };

export interface RollupKpis extends RollupCounters, EngagementRates {
  orgId: string;
  scope: RollupScope;
  from: string;
  to: string;
  daily: DailyRow[];
}

export const DEFAULT_ROLLUP_DAYS = 30;

function stored(hash: Record<string, string | number>): StoredCounters {
  return Object.fromEntries(ROLLUP_FIELDS.map((f) => [f, toInt(hash[f])])) as StoredCounters;
}

/** Stored field names → API names (the hash field `replies` is the API's uniqueReplies). */
function counters(s: StoredCounters): RollupCounters {
  return { ...s, uniqueReplies: s.replies };
}

/** Pure: day hashes (in date order) → daily series, totals and rates. */
export function rollupKpisFrom(orgId: string, scope: RollupScope, dates: readonly string[], hashes: ReadonlyArray<Record<string, string | number>>): RollupKpis {
  const days = dates.map((_, i) => stored(hashes[i] ?? {}));
  const daily = dates.map((date, i) => ({ date, ...counters(days[i]!) }));
  const sum = stored({});
  for (const day of days) for (const f of ROLLUP_FIELDS) sum[f] += day[f];
  const totals = counters(sum);
  return { orgId, scope, from: dates[0]!, to: dates[dates.length - 1]!, ...totals, ...engagementRates(totals), daily };
}

function dayKey(v: VersionKeys, orgId: string, scope: RollupScope, bucket: string): string {
  switch (scope.kind) {
    case 'org':
      return v.orgDay(orgId, bucket);
    case 'sender':
      return v.senderDay(orgId, scope.senderId, bucket);
    case 'template':
      return v.templateDay(orgId, scope.templateId, bucket);
    default: {
      const never: never = scope;
      return never;
    }
  }
}

export async function queryRollupKpis(
  redis: Redis,
  keys: Keys,
  orgId: string,
  scope: RollupScope,
  range: { from?: string; to?: string } = {},
  now: number = Date.now(),
  fallback?: ControlFallback,
): Promise<RollupKpis> {
  const dates = resolveRange(range, now);
  const buckets = dates.map((d) => bucketOf(d));
  const { data } = await runQuery<'rows'>(redis, keys, orgId, (v) => ({ mode: 'rows', keys: buckets.map((b) => dayKey(v, orgId, scope, b)), fields: ROLLUP_FIELDS }), fallback);
  return rollupKpisFrom(orgId, scope, dates, data.rows);
}

/** Defaults: the last 30 days up to today, or 30 days around whichever bound is given. */
export function resolveRange(range: { from?: string; to?: string }, now: number): string[] {
  const { from, to } = range;
  if (from && to) return dateRange(from, to);
  if (from) return dateRange(from, new Date(parseDate('from', from) + (DEFAULT_ROLLUP_DAYS - 1) * 86_400_000).toISOString().slice(0, 10));
  return lastDays(DEFAULT_ROLLUP_DAYS, to ? parseDate('to', to) : now);
}
