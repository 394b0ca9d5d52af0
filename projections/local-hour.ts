/**
 * The hour-of-week slot (0..167, Monday 00:00 = 0) of an instant on a recipient's own clock, in
 * an IANA time zone at that instant: daylight saving and :30/:45 offsets included. The best-time
 * histogram is kept in these local slots, counted at each open (DESIGN §5). Pure (Intl).
 *
 * Formatters are cached per zone, and the answer per zone and quarter hour (every offset in the
 * tz database, and every transition, falls on a quarter hour), so a busy fold formats rarely.
 */
const WEEKDAYS: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };
const QUARTER_MS = 15 * 60_000;
const MAX_CACHED = 50_000;

const formatters = new Map<string, Intl.DateTimeFormat | null>();
const slots = new Map<string, number>();

/** Slot in UTC, the clock of a recipient whose zone is unknown. */
export function hourOfWeekUtc(ms: number): number {
  const d = new Date(ms);
  return ((d.getUTCDay() + 6) % 7) * 24 + d.getUTCHours();
}

/** Slot on the clock of `timeZone` (UTC when null or not a zone this runtime knows). */
export function hourOfWeekIn(ms: number, timeZone: string | null): number {
  if (!timeZone) return hourOfWeekUtc(ms);
  const format = formatterFor(timeZone);
  if (!format) return hourOfWeekUtc(ms);
  const quarter = Math.floor(ms / QUARTER_MS);
  const key = `${timeZone}\u0000${quarter}`;
  const cached = slots.get(key);
  if (cached !== undefined) return cached;
  let weekday = 0;
  let hour = 0;
  for (const part of format.formatToParts(new Date(quarter * QUARTER_MS))) {
    if (part.type === 'weekday') weekday = WEEKDAYS[part.value] ?? 0;
    else if (part.type === 'hour') hour = Number(part.value) % 24;
  }
  const slot = weekday * 24 + hour;
  if (slots.size >= MAX_CACHED) slots.clear();
  slots.set(key, slot);
  return slot;
}

function formatterFor(timeZone: string): Intl.DateTimeFormat | null {
  let format = formatters.get(timeZone);
  if (format === undefined) {
    try {
      format = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: 'numeric', hourCycle: 'h23' });
    } catch {
      format = null; // an unknown zone: counted in UTC rather than not at all
    }
    formatters.set(timeZone, format);
  }
  return format;
}
