import { describe, expect, it } from 'vitest';
import { isEngagementError } from '../../core/errors.js';
import { hourOfWeekUtc } from '../../projections/keys.js';
import { bestTimeToEmail, utcOffsetHours } from '../../projections/queries/best-time.js';
import { contactKpisFrom, parseDays } from '../../projections/queries/contact-kpis.js';
import { dateRange, lastDays } from '../../projections/queries/days.js';
import { emailKpisFromHash } from '../../projections/queries/email-kpis.js';
import { engagementRates, rate } from '../../projections/queries/rates.js';
import { resolveRange, rollupKpisFrom } from '../../projections/queries/rollup-kpis.js';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return isEngagementError(error) ? `${error.code}:${String((error.details?.fields as Array<{ path: string }> | undefined)?.[0]?.path)}` : 'other';
  }
  return undefined;
};

describe('rates', () => {
  it('are shares in 0..1 and 0 without a denominator', () => {
    expect(rate(1, 4)).toBe(0.25);
    expect(rate(3, 0)).toBe(0);
    expect(rate(5, 4)).toBe(1);
    expect(engagementRates({ followedRecipients: 10, uniqueOpens: 5, uniqueClicks: 2, uniqueReplies: 1 })).toEqual({
      openRate: 0.5,
      clickRate: 0.2,
      clickToOpenRate: 0.4,
      replyRate: 0.1,
    });
  });
});

describe('email KPIs from the projector hash', () => {
  it('maps counters, times and per-link fields', () => {
    const kpis = emailKpisFromHash('o', 'e', {
      sentAt: String(Date.UTC(2026, 0, 5, 9)),
      senderId: 's1',
      templateId: '',
      followedRecipients: '4',
      recipients: '5',
      opens: '7',
      uniqueOpens: '2',
      firstOpenedAt: String(Date.UTC(2026, 0, 5, 10)),
      clicks: '3',
      uniqueClicks: '1',
      'lc:l1': '1',
      'lc:l0': '2',
      'lu:l0': '1',
      'url:l0': 'https://a.example/x',
      machineOpens: '1',
    });
    expect(kpis).toMatchObject({
      sentAt: '2026-01-05T09:00:00.000Z',
      templateId: null,
      opens: 7,
      uniqueOpens: 2,
      replies: 0,
      machineOpens: 1,
      machineClicks: 0,
      firstOpenedAt: '2026-01-05T10:00:00.000Z',
      lastOpenedAt: null,
      openRate: 0.5,
      clickToOpenRate: 0.5,
    });
    expect(kpis.links).toEqual([
      { linkId: 'l0', url: 'https://a.example/x', clicks: 2, uniqueClicks: 1 },
      { linkId: 'l1', url: null, clicks: 1, uniqueClicks: 0 },
    ]);
  });
});

describe('best time to email', () => {
  const monday9 = hourOfWeekUtc(Date.UTC(2026, 10, 23, 9));
  const friday14 = hourOfWeekUtc(Date.UTC(2026, 10, 27, 14));

  it('is null below the minimum number of opens', () => {
    expect(bestTimeToEmail(new Map([[monday9, 4]]), null, Date.now())).toBeNull();
  });

  it('ranks slots by opens in UTC when no time zone is known', () => {
    const slots = bestTimeToEmail(
      new Map([
        [monday9, 3],
        [friday14, 5],
      ]),
      null,
      Date.now(),
    );
    expect(slots).toEqual([
      { dayOfWeek: 'Friday', hour: 14, opens: 5 },
      { dayOfWeek: 'Monday', hour: 9, opens: 3 },
    ]);
  });

  it('reads local slots as they are: the projector counted each open on the contact\u2019s clock', () => {
    expect(bestTimeToEmail(new Map([[monday9, 6]]), 'America/New_York', Date.UTC(2026, 11, 1))).toEqual([{ dayOfWeek: 'Monday', hour: 9, opens: 6 }]);
  });

  it('shifts the legacy UTC histogram into the contact time zone, wrapping around the week, and adds it', () => {
    const sundayLate = hourOfWeekUtc(Date.UTC(2026, 10, 29, 23));
    const winter = Date.UTC(2026, 11, 1);
    expect(utcOffsetHours('Europe/Paris', winter)).toBe(1);
    expect(utcOffsetHours('America/New_York', winter)).toBe(-5);
    expect(bestTimeToEmail(new Map(), 'Europe/Paris', winter, { legacyUtc: new Map([[sundayLate, 6]]) })).toEqual([{ dayOfWeek: 'Monday', hour: 0, opens: 6 }]);
    expect(bestTimeToEmail(new Map(), 'America/New_York', winter, { legacyUtc: new Map([[monday9, 6]]) })).toEqual([{ dayOfWeek: 'Monday', hour: 4, opens: 6 }]);
    expect(bestTimeToEmail(new Map([[4, 3]]), 'America/New_York', winter, { legacyUtc: new Map([[monday9, 3]]) })).toEqual([{ dayOfWeek: 'Monday', hour: 4, opens: 6 }]);
  });
});

describe('contact KPIs', () => {
  it('sums the window and computes rates', () => {
    const kpis = contactKpisFrom(
      'o',
      'c',
      ['2026-01-01', '2026-01-02'],
      { tz: 'Europe/Paris', lastOpenedAt: String(Date.UTC(2026, 0, 2)) },
      [{ received: '2', opened: '1' }, { received: '2', clicked: '1', replied: '1' }],
      Date.UTC(2026, 0, 2),
    );
    expect(kpis).toMatchObject({
      emailsReceived: 4,
      emailsOpened: 1,
      emailsClicked: 1,
      emailsReplied: 1,
      openRate: 0.25,
      from: '2026-01-01',
      to: '2026-01-02',
      lastOpenedAt: '2026-01-02T00:00:00.000Z',
      bestTimeToEmail: null,
    });
  });

  it('bounds the window with a named parameter error', () => {
    expect(parseDays(undefined)).toBe(30);
    expect(parseDays('7')).toBe(7);
    expect(code(() => parseDays('0'))).toBe('bad_request:days');
    expect(code(() => parseDays('abc'))).toBe('bad_request:days');
    expect(code(() => parseDays('366'))).toBe('bad_request:days');
  });
});

describe('date ranges', () => {
  it('lists inclusive days and rejects bad ones by name', () => {
    expect(dateRange('2026-02-27', '2026-03-01')).toEqual(['2026-02-27', '2026-02-28', '2026-03-01']);
    expect(lastDays(2, Date.UTC(2026, 0, 1, 13))).toEqual(['2025-12-31', '2026-01-01']);
    expect(code(() => dateRange('2026-02-30', '2026-03-01'))).toBe('bad_request:from');
    expect(code(() => dateRange('2026-03-02', '2026-03-01'))).toBe('bad_request:to');
    expect(code(() => dateRange('2020-01-01', '2026-03-01'))).toBe('bad_request:from');
    expect(code(() => resolveRange({ to: 'yesterday' }, Date.now()))).toBe('bad_request:to');
  });
});

describe('rollups', () => {
  it('totals the daily series and derives rates from totals', () => {
    const kpis = rollupKpisFrom('o', { kind: 'org' }, ['2026-01-01', '2026-01-02'], [
      { emails: '1', followedRecipients: '4', opens: '3', uniqueOpens: '2', machineOpens: '5' },
      { uniqueClicks: '1', clicks: '2', replies: '1' },
    ]);
    expect(kpis).toMatchObject({ emails: 1, opens: 3, uniqueOpens: 2, machineOpens: 5, clicks: 2, uniqueReplies: 1, replies: 1, openRate: 0.5, clickRate: 0.25, replyRate: 0.25 });
    expect(kpis.daily).toHaveLength(2);
    expect(kpis.daily[1]).toMatchObject({ date: '2026-01-02', clicks: 2, opens: 0, uniqueReplies: 1 });
  });
});
