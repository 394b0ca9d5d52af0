import { describe, expect, it } from 'vitest';
import { diffSnapshots, formatDifference, type Snapshot } from '../../replay/diff.js';
import { withoutDeadIndexEntries, withoutExpiredPackedDays, withoutPackedRollups, withoutSeenPastWindow } from '../../replay/snapshot.js';

const snap = (entries: Record<string, Record<string, string>>): Snapshot => new Map(Object.entries(entries));

describe('diffSnapshots', () => {
  it('given equal projections (any key or field order), finds nothing', () => {
    const a = snap({ 'email:o:e': { opens: '2', clicks: '1' }, 'orgd:o:20260105': { emails: '1' } });
    const b = snap({ 'orgd:o:20260105': { emails: '1' }, 'email:o:e': { clicks: '1', opens: '2' } });
    expect(diffSnapshots(a, b)).toEqual([]);
  });

  it('reports a changed, a missing and an extra field of one key, field by field, sorted', () => {
    const a = snap({ 'email:o:e': { opens: '2', replies: '1' } });
    const b = snap({ 'email:o:e': { opens: '3', clicks: '1' } });
    expect(diffSnapshots(a, b)).toEqual([
      { key: 'email:o:e', field: 'clicks', left: null, right: '1' },
      { key: 'email:o:e', field: 'opens', left: '2', right: '3' },
      { key: 'email:o:e', field: 'replies', left: '1', right: null },
    ]);
  });

  it('reports a key missing on either side once, as the whole key', () => {
    const a = snap({ 'contact:o:c1': { tz: 'Europe/Paris' } });
    const b = snap({ 'contact:o:c2': { tz: 'UTC', 'h:3': '1' } });
    const d = diffSnapshots(a, b);
    expect(d).toEqual([
      { key: 'contact:o:c1', field: '*', left: '{1 fields}', right: null },
      { key: 'contact:o:c2', field: '*', left: null, right: '{2 fields}' },
    ]);
    expect(formatDifference(d[0]!)).toBe('contact:o:c1: live={1 fields} rebuilt=(missing)');
  });

  it('is symmetric up to swapping sides', () => {
    const a = snap({ k: { x: '1' }, only: { y: '2' } });
    const b = snap({ k: { x: '2' } });
    expect(diffSnapshots(b, a)).toEqual(diffSnapshots(a, b).map((d) => ({ ...d, left: d.right, right: d.left })));
  });
});

describe('withoutPackedRollups', () => {
  it('drops the month hashes and their org index entries, nothing else', () => {
    const snapshot = snap({
      'orgd:o:20261101': { emails: '1' },
      'orgm:o:202611': { '01': '1,,,,,,,,,,' },
      'senderm:o:s:202611': { '01': '1,,,,,,,,,,' },
      'templatem:o:t:202611': { '01': '1,,,,,,,,,,' },
      'orgkeys:o': { 'orgd:o:20261101': '1', 'orgm:o:202611': '1', 'senderm:o:s:202611': '1', 'email:o:e': '1' },
    });
    expect(withoutPackedRollups(snapshot)).toEqual(snap({ 'orgd:o:20261101': { emails: '1' }, 'orgkeys:o': { 'orgd:o:20261101': '1', 'email:o:e': '1' } }));
  });

  it('below the contact-hours level: drops the contact hours and the opens of the contact hashes (histograms, last open), keeps the rest', () => {
    const snapshot = snap({
      'contact:o:c1': { tz: 'Europe/Paris', lastOpenedAt: '1', 'hl:10': '2', 'h:33': '1' },
      'contact:o:c2': { 'hl:10': '2' },
      'contactm:o:c1:202611': { '01': '1,1,,' },
      'contacth:o:c1:202611': { 'hl:10': '2' },
      'orgkeys:o': { 'contact:o:c1': '1', 'contactm:o:c1:202611': '1', 'contacth:o:c1:202611': '1' },
    });
    expect(withoutPackedRollups(snapshot, 2)).toEqual(
      snap({
        'contact:o:c1': { tz: 'Europe/Paris' },
        'contactm:o:c1:202611': { '01': '1,1,,' },
        'orgkeys:o': { 'contact:o:c1': '1', 'contactm:o:c1:202611': '1' },
      }),
    );
    expect(withoutPackedRollups(snapshot, 3)).toBe(snapshot);
  });
});

describe('withoutExpiredPackedDays', () => {
  it('drops the packed days at or before the last expired day, and a month hash left empty', () => {
    const snapshot = snap({
      'orgm:o:202610': { '30': '1,,,,,,,,,,', '31': '2,,,,,,,,,,' },
      'senderm:o:s%3Ax:202611': { '01': '3,,,,,,,,,,', '02': '4,,,,,,,,,,' },
      'templatem:o:t:202609': { '15': '5,,,,,,,,,,' },
      'orgd:o:20261031': { emails: '2' },
    });
    expect(withoutExpiredPackedDays(snapshot, '20261101')).toEqual(
      snap({ 'senderm:o:s%3Ax:202611': { '02': '4,,,,,,,,,,' }, 'orgd:o:20261031': { emails: '2' } }),
    );
  });

  it('drops the contact-hours months that hold a day at or before the last expired day (the log may not hold its opens)', () => {
    const snapshot = snap({ 'contacth:o:c:202610': { 'hl:1': '1' }, 'contacth:o:c:202611': { 'hl:2': '1' }, 'contacth:o:c:202612': { 'hl:3': '1' } });
    expect([...withoutExpiredPackedDays(snapshot, '20261101').keys()]).toEqual(['contacth:o:c:202612']);
    expect([...withoutExpiredPackedDays(snapshot, '20261031').keys()]).toEqual(['contacth:o:c:202611', 'contacth:o:c:202612']);
  });
});

describe('withoutSeenPastWindow', () => {
  it('keeps a seen set while its day started less than the window minus a day ago, and every other key', () => {
    const now = Date.UTC(2026, 10, 26, 12);
    const snapshot = snap({
      'seen:20261126': { a: '1' },
      'seen:20261120': { b: '1' }, // started 6.5 days ago: 6.5 + 1 < 8
      'seen:20261119': { c: '1' }, // 7.5 days ago: live may have lost it
      'seen:20261001': { d: '1' },
      'orgd:o:20261001': { emails: '1' },
    });
    expect([...withoutSeenPastWindow(snapshot, now).keys()].sort()).toEqual(['orgd:o:20261001', 'seen:20261120', 'seen:20261126']);
  });
});

describe('withoutDeadIndexEntries', () => {
  it('keeps the index entries of keys the snapshot holds, and drops an index left empty', () => {
    const snapshot = snap({
      'email:o:e1': { opens: '1' },
      'orgkeys:o': { 'email:o:e1': '1', 'email:o:e0': '1', 'orgd:o:20250101': '1' },
      'orgkeys:p': { 'email:p:gone': '1' },
    });
    expect(withoutDeadIndexEntries(snapshot)).toEqual(snap({ 'email:o:e1': { opens: '1' }, 'orgkeys:o': { 'email:o:e1': '1' } }));
  });
});
