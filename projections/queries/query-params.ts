import { invalidParameter } from '../../core/errors.js';

/** A whole-number query parameter from 1 to `max`; absent or empty is `fallback`. */
export function parseWholeNumber(name: string, raw: unknown, fallback: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw invalidParameter(name, `${name} must be a whole number from 1 to ${max}, got "${String(raw)}"`);
  }
  return n;
}
