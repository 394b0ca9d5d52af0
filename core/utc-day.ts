/**
 * A text of an epoch-ms time that depends on its UTC day only (a day bucket, a blob date),
 * computed once per day: `toISOString` and its slicing cost about half a microsecond, and the
 * processors ask for the same few days several times per event. Pure; the cache is bounded.
 */
const MS_PER_DAY = 86_400_000;
const MAX_DAYS = 4096;
/** the largest time a Date holds, either side of 1970 */
const MAX_DATE_MS = 8.64e15;

export function perUtcDay(format: (ms: number) => string): (ms: number) => string {
  const cache = new Map<number, string>();
  return (ms) => {
    // beyond Date's range (or NaN): as `format` does, uncached (a day there may be half valid)
    if (!(Math.abs(ms) <= MAX_DATE_MS)) return format(ms);
    // Date truncates a fractional time toward zero before it finds the day
    const day = Math.floor(Math.trunc(ms) / MS_PER_DAY);
    let text = cache.get(day);
    if (text === undefined) {
      // computed from `ms` itself, so an invalid time throws as it always did (and is not cached)
      text = format(ms);
      if (cache.size >= MAX_DAYS) cache.clear();
      cache.set(day, text);
    }
    return text;
  };
}
