import { invalidParameter } from '../../core/errors.js';
import { dayOf } from '../keys.js';

const DAY_MS = 86_400_000;
export const MAX_RANGE_DAYS = 366;

/** Inclusive list of YYYY-MM-DD dates from `from` to `to`. Pure (memoised: every range read builds one). */
export function dateRange(from: string, to: string): string[] {
  return remember(ranges, `${from}:${to}`, () => buildRange(from, to)).slice();
}

function buildRange(from: string, to: string): string[] {
  const start = parseDate('from', from);
  const end = parseDate('to', to);
  if (end < start) throw invalidParameter('to', `"to" (${to}) is before "from" (${from})`);
  const days = Math.round((end - start) / DAY_MS) + 1;
  if (days > MAX_RANGE_DAYS) {
    throw invalidParameter('from', `the range spans ${days} days; at most ${MAX_RANGE_DAYS}`);
  }
  return Array.from({ length: days }, (_, i) => new Date(start + i * DAY_MS).toISOString().slice(0, 10));
}

/** Every query builds its window of dates: memoised per (days, today), a handful of entries live at once. */
const windows = new Map<string, string[]>();
const ranges = new Map<string, string[]>();
const MAX_MEMO = 2_000;

function remember<V>(memo: Map<string, V>, key: string, make: () => V): V {
  let value = memo.get(key);
  if (value === undefined) {
    if (memo.size >= MAX_MEMO) memo.clear();
    memo.set(key, (value = make()));
  }
  return value;
}

export function lastDays(days: number, now: number): string[] {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  return remember(windows, `${days}:${today}`, () =>
    Array.from({ length: days }, (_, i) => new Date(today - (days - 1 - i) * DAY_MS).toISOString().slice(0, 10)),
  ).slice();
}

export function parseDate(parameter: string, value: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const ms = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : NaN;
  if (!match || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value) {
    throw invalidParameter(parameter, `${parameter} must be a date YYYY-MM-DD, got "${value}"`);
  }
  return ms;
}

/** YYYY-MM-DD → the YYYYMMDD bucket name the projector uses. */
const buckets = new Map<string, string>();

export function bucketOf(date: string): string {
  return remember(buckets, date, () => dayOf(Date.parse(`${date}T00:00:00Z`)));
}
