/**
 * Numbers from a raw Redis reply (bulk strings as Buffers, a missing field nil or empty), read as
 * Lua's `tonumber(v) or 0` read them when read-kpis.lua still converted them itself: missing or
 * not a number is 0, a fraction is truncated (a Lua number became an integer reply). Doing it
 * here rather than in Lua roughly halved the Redis time of an org window read (330 values).
 */

import { EngagementError } from '../../core/errors.js';

/** At most 15 digits accumulate exactly in a double (< 2^53). */
const MAX_FAST_DIGITS = 15;
const MINUS = 45;
const ZERO = 48;
const COMMA = 44;

/** One bulk string → a number; decimal digits read straight from the bytes (the common case). Pure. */
export function countOf(bytes: Uint8Array | null): number {
  return bytes === null ? 0 : countIn(bytes, 0, bytes.length);
}

/** Anything but a plain integer (never written by the projector's HINCRBY). */
function slowCountOf(bytes: Uint8Array): number {
  const value = Number(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  return Number.isFinite(value) ? Math.trunc(value) : 0;
}

/**
 * One 'rows' answer of read-kpis.lua (a key's `fields` values joined by ',', a missing one empty)
 * → one number per field, read as `countOf` reads a value. A row with another number of values
 * is not one the projector wrote: an internal error, never numbers in the wrong columns. Pure.
 */
export function countsInRow(row: Uint8Array | null, fields: number): number[] {
  const out = new Array<number>(fields);
  if (row === null) return out.fill(0);
  let values = 0;
  let start = 0;
  for (let i = 0; i <= row.length; i++) {
    if (i < row.length && row[i] !== COMMA) continue;
    if (values < fields) out[values] = countIn(row, start, i);
    values++;
    start = i + 1;
  }
  if (values !== fields) throw new EngagementError('internal', `a rollup row holds ${values} values where ${fields} fields were read`);
  return out;
}

/** `countOf` over bytes [start, end) of `bytes`, without a view per value. */
function countIn(bytes: Uint8Array, start: number, end: number): number {
  if (end === start) return 0;
  const negative = bytes[start] === MINUS && end - start > 1;
  const from = negative ? start + 1 : start;
  if (end - from > MAX_FAST_DIGITS) return slowCountOf(bytes.subarray(start, end));
  let n = 0;
  for (let i = from; i < end; i++) {
    const digit = bytes[i]! - ZERO;
    if (digit < 0 || digit > 9) return slowCountOf(bytes.subarray(start, end));
    n = n * 10 + digit;
  }
  return negative ? -n : n;
}
