import type { Redis } from 'ioredis';
import type { Keys, RollupField, VersionKeys } from '../keys.js';
import { lastExpiredDay, PACKED, packedDayOf, ROLLUP_FIELDS } from '../keys.js';
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

/**
 * The counters of one day hash. Object literals, not a loop over ROLLUP_FIELDS: an org read
 * turns 30 × 11 counters into rows on every request, and objects built key by key cost several
 * times more. The types make a field added to ROLLUP_FIELDS a compile error here.
 */
function stored(h: Readonly<Record<string, string | number | undefined>>): StoredCounters {
  return {
    emails: toInt(h.emails),
    recipients: toInt(h.recipients),
    followedRecipients: toInt(h.followedRecipients),
    opens: toInt(h.opens),
    uniqueOpens: toInt(h.uniqueOpens),
    clicks: toInt(h.clicks),
    uniqueClicks: toInt(h.uniqueClicks),
    replies: toInt(h.replies),
    attachmentViews: toInt(h.attachmentViews),
    machineOpens: toInt(h.machineOpens),
    machineClicks: toInt(h.machineClicks),
  };
}

function plus(a: StoredCounters, b: StoredCounters): StoredCounters {
  return {
    emails: a.emails + b.emails,
    recipients: a.recipients + b.recipients,
    followedRecipients: a.followedRecipients + b.followedRecipients,
    opens: a.opens + b.opens,
    uniqueOpens: a.uniqueOpens + b.uniqueOpens,
    clicks: a.clicks + b.clicks,
    uniqueClicks: a.uniqueClicks + b.uniqueClicks,
    replies: a.replies + b.replies,
    attachmentViews: a.attachmentViews + b.attachmentViews,
    machineOpens: a.machineOpens + b.machineOpens,
    machineClicks: a.machineClicks + b.machineClicks,
  };
}

/** Stored field names → API names (the hash field `replies` is the API's uniqueReplies). */
function counters(s: StoredCounters): RollupCounters {
  return { ...s, uniqueReplies: s.replies };
}

function dailyRow(date: string, s: StoredCounters): DailyRow {
  return {
    date,
    emails: s.emails,
    recipients: s.recipients,
    followedRecipients: s.followedRecipients,
    opens: s.opens,
    uniqueOpens: s.uniqueOpens,
    clicks: s.clicks,
    uniqueClicks: s.uniqueClicks,
    replies: s.replies,
    attachmentViews: s.attachmentViews,
    machineOpens: s.machineOpens,
    machineClicks: s.machineClicks,
    uniqueReplies: s.replies,
  };
}

/** Where each counter is in a row read with `fields: ROLLUP_FIELDS` (read-kpis.lua 'rows'). */
const AT = Object.fromEntries(ROLLUP_FIELDS.map((f, i) => [f, i])) as Record<RollupField, number>;

function storedFromRow(row: readonly number[]): StoredCounters {
  return {
    emails: row[AT.emails] ?? 0,
    recipients: row[AT.recipients] ?? 0,
    followedRecipients: row[AT.followedRecipients] ?? 0,
    opens: row[AT.opens] ?? 0,
    uniqueOpens: row[AT.uniqueOpens] ?? 0,
    clicks: row[AT.clicks] ?? 0,
    uniqueClicks: row[AT.uniqueClicks] ?? 0,
    replies: row[AT.replies] ?? 0,
    attachmentViews: row[AT.attachmentViews] ?? 0,
    machineOpens: row[AT.machineOpens] ?? 0,
    machineClicks: row[AT.machineClicks] ?? 0,
  };
}

/** Pure: day hashes (in date order) → daily series, totals and rates. */
export function rollupKpisFrom(orgId: string, scope: RollupScope, dates: readonly string[], hashes: ReadonlyArray<Record<string, string | number>>): RollupKpis {
  return rollupOf(orgId, scope, dates, dates.map((_, i) => stored(hashes[i] ?? {})));
}

function rollupOf(orgId: string, scope: RollupScope, dates: readonly string[], days: readonly StoredCounters[]): RollupKpis {
  const daily = new Array<DailyRow>(dates.length);
  let sum = stored({});
  for (let i = 0; i < dates.length; i++) {
    sum = plus(sum, days[i]!);
    daily[i] = dailyRow(dates[i]!, days[i]!);
  }
  const totals = counters(sum);
  return { orgId, scope, from: dates[0]!, to: dates[dates.length - 1]!, ...totals, ...engagementRates(totals), daily };
}

/** A scope's day hashes and month hashes, by day bucket (YYYYMMDD) and month (YYYYMM). */
function scopeKeys(v: VersionKeys, orgId: string, scope: RollupScope): { day(bucket: string): string; month(month: string): string } {
  switch (scope.kind) {
    case 'org':
      return { day: (b) => v.orgDay(orgId, b), month: (m) => v.orgMonth(orgId, m) };
    case 'sender':
      return { day: (b) => v.senderDay(orgId, scope.senderId, b), month: (m) => v.senderMonth(orgId, scope.senderId, m) };
    case 'template':
      return { day: (b) => v.templateDay(orgId, scope.templateId, b), month: (m) => v.templateMonth(orgId, scope.templateId, m) };
    default: {
      const never: never = scope;
      return never;
    }
  }
}

/** The month hashes holding `buckets` (YYYYMMDD, in order), each with its DD fields in order. Pure. */
export function monthsOf(buckets: readonly string[], keyOf: (month: string) => string): Array<{ key: string; days: string[] }> {
  const months: Array<{ month: string; key: string; days: string[] }> = [];
  for (const bucket of buckets) {
    const { month, field } = packedDayOf(bucket);
    let last = months[months.length - 1];
    if (last?.month !== month) months.push((last = { month, key: keyOf(month), days: [] }));
    last.days.push(field);
  }
  return months.map(({ key, days }) => ({ key, days }));
}

const EMPTY_ROW: readonly number[] = [];

/**
 * A day whose hash expired at the horizon (its start + HISTORY_DAYS) reads as empty, as its hash
 * would: its packed copy lives on in the month hash until the month's last day expires. Pure.
 */
export function withinHorizon(buckets: readonly string[], rows: readonly (readonly number[])[], now: number, historyDays: number): Array<readonly number[]> {
  const lastGone = lastExpiredDay(now, historyDays);
  return rows.map((row, i) => (buckets[i]! <= lastGone ? EMPTY_ROW : row));
}

export async function queryRollupKpis(
  redis: Redis,
  keys: Keys,
  orgId: string,
  scope: RollupScope,
  range: { from?: string; to?: string },
  now: number,
  /** HISTORY_DAYS: days older than this horizon read as empty (see withinHorizon) */
  historyDays: number,
  fallback?: ControlFallback,
): Promise<RollupKpis> {
  const dates = resolveRange(range, now);
  const buckets = dates.map((d) => bucketOf(d));
  const { data } = await runQuery<'packed'>(
    redis,
    keys,
    orgId,
    (v) => ({ mode: 'packed', marker: v.packedRollups(), level: PACKED.rollups, months: monthsOf(buckets, scopeKeys(v, orgId, scope).month), fields: ROLLUP_FIELDS }),
    fallback,
  );
  let rows = data.rows;
  if (!data.packed) {
    // a version written before the month hashes (until a replay rebuilds it): its day hashes
    const unpacked = await runQuery<'rows'>(redis, keys, orgId, (v) => ({ mode: 'rows', keys: buckets.map(scopeKeys(v, orgId, scope).day), fields: ROLLUP_FIELDS }), fallback);
    rows = unpacked.data.rows;
  }
  return rollupOf(orgId, scope, dates, withinHorizon(buckets, rows, now, historyDays).map(storedFromRow));
}

/** Defaults: the last 30 days up to today, or 30 days around whichever bound is given. */
export function resolveRange(range: { from?: string; to?: string }, now: number): string[] {
  const { from, to } = range;
  if (from && to) return dateRange(from, to);
  if (from) return dateRange(from, new Date(parseDate('from', from) + (DEFAULT_ROLLUP_DAYS - 1) * 86_400_000).toISOString().slice(0, 10));
  return lastDays(DEFAULT_ROLLUP_DAYS, to ? parseDate('to', to) : now);
}
