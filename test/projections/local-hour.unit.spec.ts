import { describe, expect, it } from 'vitest';
import { hourOfWeekIn, hourOfWeekUtc } from '../../projections/local-hour.js';

/** DESIGN §5: best time counts each open in the contact's local hour of week at that moment. */
const slot = (day: number, hour: number) => day * 24 + hour; // day 0 = Monday

describe('hourOfWeekIn', () => {
  it('puts 10:00 local in America/New_York in July (EDT) and in December (EST) in the same slot', () => {
    const july = Date.UTC(2026, 6, 15, 14, 5); // Wednesday 10:05 EDT (UTC-4)
    const december = Date.UTC(2026, 11, 16, 15, 59); // Wednesday 10:59 EST (UTC-5)
    expect(hourOfWeekIn(july, 'America/New_York')).toBe(slot(2, 10));
    expect(hourOfWeekIn(december, 'America/New_York')).toBe(slot(2, 10));
  });

  it('puts 10:00 local in Asia/Kolkata (UTC+5:30) in the 10:00 slot, not 9:00 or 11:00', () => {
    expect(hourOfWeekIn(Date.UTC(2026, 6, 15, 4, 30), 'Asia/Kolkata')).toBe(slot(2, 10)); // 10:00 IST
    expect(hourOfWeekIn(Date.UTC(2026, 6, 15, 5, 29), 'Asia/Kolkata')).toBe(slot(2, 10)); // 10:59 IST
    expect(hourOfWeekIn(Date.UTC(2026, 6, 15, 4, 29), 'Asia/Kolkata')).toBe(slot(2, 9));
  });

  it('handles :45 offsets and a day that differs from UTC\u2019s', () => {
    expect(hourOfWeekIn(Date.UTC(2026, 6, 15, 4, 15), 'Asia/Kathmandu')).toBe(slot(2, 10)); // UTC+5:45
    expect(hourOfWeekIn(Date.UTC(2026, 6, 19, 23, 0), 'Asia/Tokyo')).toBe(slot(0, 8)); // Sunday 23:00 UTC is Monday 08:00
    expect(hourOfWeekIn(Date.UTC(2026, 6, 20, 2, 0), 'America/Los_Angeles')).toBe(slot(6, 19)); // Monday 02:00 UTC is Sunday 19:00
  });

  it('counts on the clock of the moment across a DST change', () => {
    // Europe/Paris leaves summer time on 2026-10-25 at 01:00 UTC
    expect(hourOfWeekIn(Date.UTC(2026, 9, 25, 0, 30), 'Europe/Paris')).toBe(slot(6, 2));
    expect(hourOfWeekIn(Date.UTC(2026, 9, 25, 1, 30), 'Europe/Paris')).toBe(slot(6, 2));
    expect(hourOfWeekIn(Date.UTC(2026, 9, 25, 2, 30), 'Europe/Paris')).toBe(slot(6, 3));
  });

  it('counts in UTC without a zone or with one the runtime does not know', () => {
    const at = Date.UTC(2026, 6, 15, 14, 5);
    expect(hourOfWeekIn(at, null)).toBe(hourOfWeekUtc(at));
    expect(hourOfWeekIn(at, 'Mars/Olympus_Mons')).toBe(slot(2, 14));
  });
});
