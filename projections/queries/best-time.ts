/**
 * Best time to email: the hour-of-week slots with the most (human) opens on the contact's own
 * clock. The projector counts each open in the recipient's local slot at the moment of the open
 * (`hl:` fields, projections/local-hour.ts), so summer and winter opens at 10:00 are one slot,
 * and :30/:45 zones are exact. Opens projected before that were kept in UTC (`h:` fields): until a
 * replay rewrites them they are shifted by the zone's offset now, as before. Pure.
 */

import { toInt } from './rates.js';
import { countOf } from './reply-numbers.js';

export interface BestTimeSlot {
  dayOfWeek: string;
  hour: number;
  opens: number;
}

export const BEST_TIME_DEFAULTS = { minOpens: 5, top: 3 } as const;

const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const HOURS_PER_WEEK = 168;

/** Building an Intl.DateTimeFormat costs ~50 µs: one per time zone, kept (a bounded set: IANA zones). */
const formats = new Map<string, Intl.DateTimeFormat>();
const MAX_FORMATS = 1_000;

function formatFor(timeZone: string): Intl.DateTimeFormat {
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    if (formats.size >= MAX_FORMATS) formats.clear();
    formats.set(timeZone, format);
  }
  return format;
}

/** Offset of a time zone from UTC in whole hours at `at` (half-hour zones round down): only for
 *  the legacy UTC histogram, and the demo's history. */
export function utcOffsetHours(timeZone: string, at: number): number {
  try {
    const parts = formatFor(timeZone).formatToParts(new Date(at));
    const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
    const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'));
    return Math.floor((local - Math.floor(at / 60_000) * 60_000) / 3_600_000);
  } catch {
    return 0;
  }
}

export interface OpenHistograms {
  local: Map<number, number>;
  legacyUtc: Map<number, number>;
}

/** A contact hash's open histograms: `hl:` slots on the recipient's clock, `h:` ones (projected before that) in UTC. */
export function openHistograms(contact: Readonly<Record<string, string>>): OpenHistograms {
  const local = new Map<number, number>();
  const legacyUtc = new Map<number, number>();
  for (const [field, value] of Object.entries(contact)) {
    if (field.startsWith('hl:')) local.set(Number(field.slice(3)), toInt(value));
    else if (field.startsWith('h:')) legacyUtc.set(Number(field.slice(2)), toInt(value));
  }
  return { local, legacyUtc };
}

const H = 104; // 'h'
const L = 108; // 'l'
const COLON = 58;
const ZERO = 48;

/** `bytes[from..]` as a slot number when they are 1–3 decimal digits, else -1. */
function slotOf(bytes: Uint8Array, from: number): number {
  const n = bytes.length - from;
  if (n < 1 || n > 3) return -1;
  let slot = 0;
  for (let i = from; i < bytes.length; i++) {
    const digit = bytes[i]! - ZERO;
    if (digit < 0 || digit > 9) return -1;
    slot = slot * 10 + digit;
  }
  return slot;
}

/**
 * A contact hash as HGETALL sends it raw (field/value bulk strings as Buffers): its histogram
 * fields read straight from the bytes, only the others made strings. A contact has up to
 * 2 × 168 histogram fields, and making strings and an object of them was the largest part of a
 * contact read's API time (bench/RESULTS.md). For what the fold writes (HINCRBY integers under
 * canonical slot numbers) the same result as `openHistograms` over the hash; a fractional count
 * would be truncated here. Pure.
 */
export function contactHashOf(flat: unknown): { fields: Record<string, string>; histograms: OpenHistograms; size: number } {
  const list = (flat as Uint8Array[] | null) ?? [];
  const fields: Record<string, string> = {};
  const local = new Map<number, number>();
  const legacyUtc = new Map<number, number>();
  for (let i = 0; i + 1 < list.length; i += 2) {
    const field = list[i]!;
    const value = list[i + 1]!;
    if (field[0] === H) {
      const slot = field[1] === L && field[2] === COLON ? slotOf(field, 3) : field[1] === COLON ? slotOf(field, 2) : -1;
      if (slot >= 0) {
        (field[1] === L ? local : legacyUtc).set(slot, countOf(value));
        continue;
      }
    }
    fields[String(field)] = String(value);
  }
  // anything unusual (never written by the fold) goes the slow way, as before
  const odd = Object.keys(fields).some((f) => f.startsWith('h'));
  const histograms = odd ? merged(openHistograms(fields), local, legacyUtc) : { local, legacyUtc };
  return { fields, histograms, size: list.length >> 1 };
}

export interface ContactOpens {
  histograms: OpenHistograms;
  /** epoch ms as stored, the latest of the hash's (written before contact hours) and the months' */
  lastOpenedAt: string | null;
  /** some month holds an open */
  any: boolean;
}

/**
 * A contact's opens: its hash's (`histograms`, `lastOpenedAt`: written there before contact hours)
 * with those of its months of opens added (keys.ts, contacth), each month as HGETALL sent it raw
 * (contactHashOf) or as a record (a pipeline's answer). Pure.
 */
export function contactOpens(histograms: OpenHistograms, lastOpenedAt: string | undefined, months: readonly unknown[]): ContactOpens {
  const local = new Map(histograms.local);
  let last = lastOpenedAt === undefined ? null : lastOpenedAt;
  let any = false;
  for (const month of months) {
    const raw = Array.isArray(month) || month === null || month === undefined;
    const hash = raw ? contactHashOf(month) : undefined;
    const fields = hash ? hash.fields : (month as Record<string, string>);
    const slots = hash ? hash.histograms.local : openHistograms(fields).local;
    if (slots.size > 0 || fields.lastOpenedAt !== undefined) any = true;
    for (const [slot, count] of slots) local.set(slot, (local.get(slot) ?? 0) + count);
    if (fields.lastOpenedAt !== undefined && (last === null || Number(fields.lastOpenedAt) > Number(last))) last = fields.lastOpenedAt;
  }
  return { histograms: { local, legacyUtc: histograms.legacyUtc }, lastOpenedAt: last, any };
}

function merged(slow: OpenHistograms, local: Map<number, number>, legacyUtc: Map<number, number>): OpenHistograms {
  for (const [slot, count] of local) slow.local.set(slot, count);
  for (const [slot, count] of legacyUtc) slow.legacyUtc.set(slot, count);
  return slow;
}

export function bestTimeToEmail(
  histogramLocal: ReadonlyMap<number, number>,
  timeZone: string | null,
  now: number,
  options: { minOpens?: number; top?: number; legacyUtc?: ReadonlyMap<number, number> } = {},
): BestTimeSlot[] | null {
  const minOpens = options.minOpens ?? BEST_TIME_DEFAULTS.minOpens;
  const top = options.top ?? BEST_TIME_DEFAULTS.top;
  const local = new Map<number, number>();
  let total = 0;
  const add = (slot: number, count: number): void => {
    if (count <= 0) return;
    total += count;
    local.set(slot, (local.get(slot) ?? 0) + count);
  };
  for (const [slot, count] of histogramLocal) add(slot, count);
  if (options.legacyUtc && options.legacyUtc.size > 0) {
    const offset = timeZone ? utcOffsetHours(timeZone, now) : 0;
    for (const [slot, count] of options.legacyUtc) add((((slot + offset) % HOURS_PER_WEEK) + HOURS_PER_WEEK) % HOURS_PER_WEEK, count);
  }
  if (total < minOpens) return null;
  return [...local]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, top)
    .map(([slot, opens]) => ({ dayOfWeek: DAYS[Math.floor(slot / 24)]!, hour: slot % 24, opens }));
}
