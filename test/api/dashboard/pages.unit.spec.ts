import { describe, expect, it } from 'vitest';
import { groupedBars, heatmap, stackedBars } from '../../../api/dashboard/charts.js';
import { recipientDaysFrom } from '../../../projections/queries/recipient-daily.js';
import { esc, html, page, raw, table } from '../../../api/dashboard/html.js';
import { lagOf } from '../../../api/dashboard/operations-data.js';
import { classifyIndex, rankEmailCandidates, rankGroups } from '../../../projections/queries/org-top.js';
import { heatmapFrom } from '../../../projections/queries/recipient-heatmap.js';
import { hourOfWeekUtc, keysFor } from '../../../projections/keys.js';

describe('dashboard HTML', () => {
  it('escapes every interpolated value unless it is markup built here', () => {
    expect(esc('<script>"&\'')).toBe('&#60;script&#62;&#34;&#38;&#39;');
    expect(html`<p>${'<b>'}</p>${raw('<i>ok</i>')}`.html).toBe('<p>&#60;b&#62;</p><i>ok</i>');
    expect(table('t', 'c', ['a'], [['<x>'], [3]]).html).toContain('<td>&#60;x&#62;</td>');
    expect(page('<t>', html``)).toContain('<title>&#60;t&#62; · Email engagement</title>');
  });

  it('draws one labelled bar group per day and 168 heatmap cells', () => {
    const bars = stackedBars('Opens', [{ label: '2026-11-01', people: 3, machines: 1 }, { label: '2026-11-02', people: 0, machines: 0 }]).html;
    expect(bars.match(/<g>/g)).toHaveLength(2);
    expect(bars).toContain('aria-label="Opens"');
    expect(bars).toContain('3 people, 1 machines');
    expect(heatmap('h', Array.from({ length: 168 }, (_, i) => i % 5)).html.match(/class="heat"/g)).toHaveLength(168);
  });

  it('draws a recipient’s days with one bar per series, from its day buckets', () => {
    const days = recipientDaysFrom(['2026-11-01', '2026-11-02'], [{ received: '2', opened: '1' }, {}]);
    expect(days).toEqual([
      { date: '2026-11-01', received: 2, opened: 1, clicked: 0, replied: 0 },
      { date: '2026-11-02', received: 0, opened: 0, clicked: 0, replied: 0 },
    ]);
    const chart = groupedBars('Activity', ['received', 'opened'], days.map((d) => ({ label: d.date, values: [d.received, d.opened] }))).html;
    expect(chart.match(/<g>/g)).toHaveLength(2);
    expect(chart.match(/class="series-\d"/g)).toHaveLength(4);
    expect(chart).toContain('2026-11-01: 2 received, 1 opened');
  });
});

describe('dashboard reads (pure parts)', () => {
  const v = keysFor('p').version(2);

  it('finds an org’s emails and its sender and template days in range from the key index', () => {
    const members = [
      v.email('o:1', 'e{1}'),
      v.email('o:10', 'not-mine'),
      v.senderDay('o:1', 's:a', '20261101'),
      v.senderDay('o:1', 's:a', '20261001'),
      v.templateDay('o:1', 't1', '20261102'),
      v.contact('o:1', 'c1'),
      v.orgDay('o:1', '20261101'),
    ];
    const found = classifyIndex(v, 'o:1', members, new Set(['20261101', '20261102']));
    expect(found.emails).toEqual([v.email('o:1', 'e{1}')]);
    expect(found.senders).toEqual([{ key: v.senderDay('o:1', 's:a', '20261101'), id: 's:a' }]);
    expect(found.templates).toEqual([{ key: v.templateDay('o:1', 't1', '20261102'), id: 't1' }]);
  });

  it('keeps only emails sent in the range before cutting to the limit', () => {
    const c = (key: string, sentAt: string | null, uniqueOpens: string) => ({ key, sentAt, uniqueOpens, uniqueClicks: '0' });
    const ranked = rankEmailCandidates([c('a', '5', '100'), c('b', '15', '1'), c('c', '12', '3'), c('d', null, '50'), c('e', '20', '9')], 10, 20, 1);
    expect(ranked).toEqual(['c']);
    expect(rankEmailCandidates([c('b', '15', '3'), c('a', '12', '3')], 10, 20, 5)).toEqual(['a', 'b']);
  });

  it('ranks senders by unique opens over their days, with rates', () => {
    const day = (uniqueOpens: number, followed: number) => ({ emails: '1', followedRecipients: String(followed), uniqueOpens: String(uniqueOpens), replies: '1' });
    const ranked = rankGroups([{ id: 'a', hash: day(1, 4) }, { id: 'b', hash: day(3, 4) }, { id: 'a', hash: day(3, 4) }], 10);
    expect(ranked.map((r) => [r.id, r.emails, r.uniqueOpens, r.openRate, r.uniqueReplies])).toEqual([
      ['a', 2, 4, 0.5, 2],
      ['b', 1, 3, 0.75, 1],
    ]);
  });

  it('shifts the UTC histogram into the recipient’s zone, keeping every slot', () => {
    const mondayNineUtc = Date.UTC(2026, 10, 23, 9);
    const map = heatmapFrom({ tz: 'Asia/Tokyo', [`h:${hourOfWeekUtc(mondayNineUtc)}`]: '2' }, mondayNineUtc);
    expect(map.opens).toHaveLength(7);
    expect(map.opens[0]![18]).toBe(2); // 09:00 UTC is 18:00 in Tokyo
    expect(map.totalOpens).toBe(2);
  });

  it('takes slots already on the recipient’s clock as they are, next to older UTC ones', () => {
    const mondayNineUtc = Date.UTC(2026, 10, 23, 9);
    const map = heatmapFrom({ tz: 'Asia/Tokyo', 'hl:10': '3', [`h:${hourOfWeekUtc(mondayNineUtc)}`]: '2' }, mondayNineUtc);
    expect(map.opens[0]![10]).toBe(3);
    expect(map.opens[0]![18]).toBe(2);
    expect(map.totalOpens).toBe(5);
  });

  it('computes lag per partition; a group that never committed lags by the whole log', () => {
    const ends = [{ partition: 1, high: '10', low: '2' }, { partition: 0, high: '5', low: '0' }];
    expect(lagOf(ends, new Map([[0, 5]]))).toEqual([
      { partition: 0, committed: 5, end: 5, lag: 0 },
      { partition: 1, committed: null, end: 10, lag: 8 },
    ]);
  });
});
