import { describe, expect, it } from 'vitest';
import { CONTACT_DAY_FIELDS, keysFor, ROLLUP_FIELDS } from '../../projections/keys.js';
import { buildApplyArgs, SEEN_TTL_SECONDS } from '../../projections/projector/apply-args.js';
import { fold } from '../../processors/projector/fold.js';
import { resolveClicks, resolveFlags } from '../../projections/projector/delta.js';
import { fixture } from '../support/fixtures.js';

const keys = keysFor('t').version(1);

describe('buildApplyArgs', () => {
  it('declares each key once and refers to it by KEYS index', () => {
    const opened = fixture('EmailOpened', { occurredAt: Date.UTC(2026, 0, 5, 10) });
    const delta = fold([opened, { ...opened, eventId: '00000000-0000-4000-8000-000000000001' }], new Map(), keys, { machineClickSeconds: 5, historyDays: 400 });
    resolveFlags(delta, () => null);
    const { keys: declared, argv } = buildApplyArgs(delta, { offsetsKey: keys.offsets('emails'), partition: 2, firstOffset: 10, expectedStart: 0, nextOffset: 12 });
    expect(declared[0]).toBe(keys.offsets('emails'));
    expect(new Set(declared).size).toBe(declared.length);
    expect(argv.slice(0, 3)).toEqual(['2', '10', '12']);
    const [counts, version, expectedStart, fence, ...ops] = argv.slice(3);
    expect(version).toBe('');
    expect(expectedStart).toBe('0');
    expect(fence).toBe('');
    const [i, s, , , d, , , , e, p] = counts!.split(' ').map(Number);
    const email = String(declared.indexOf(keys.email('org-1', 'e-1')) + 1);
    const increments = Array.from({ length: i! }, (_, n) => ops.slice(3 * n, 3 * n + 3));
    expect(increments).toContainEqual([email, 'opens', '2']);
    expect(increments).toContainEqual([email, 'uniqueOpens', '1']); // the new flag's increment, coalesced
    expect(s).toBeGreaterThan(0);
    expect(d).toBe(0);
    expect(e).toBe(1);
    // section p last: its header (the rollup fields), then one entry per rollup day
    expect(p).toBe(delta.pack.size);
    const header = [String(ROLLUP_FIELDS.length), ...ROLLUP_FIELDS, String(CONTACT_DAY_FIELDS.length), ...CONTACT_DAY_FIELDS];
    const packAt = ops.length - (header.length + 6 * p!);
    expect(ops.slice(packAt - 2, packAt)).toEqual([String(declared.indexOf(keys.seen('20260105')) + 1), String(SEEN_TTL_SECONDS)]);
    expect(ops.slice(packAt, packAt + header.length)).toEqual(header);
    const entries = Array.from({ length: p! }, (_, n) => ops.slice(packAt + header.length + 6 * n, packAt + header.length + 6 * (n + 1)));
    const expiry = String(Date.UTC(2026, 0, 31) / 1000 + 400 * 86_400); // the month hash expires with its last day
    const at = (key: string) => String(declared.indexOf(key) + 1);
    expect(entries).toContainEqual([at(keys.orgDay('org-1', '20260105')), at(keys.orgMonth('org-1', '202601')), '05', expiry, 'r', at(keys.orgIndex('org-1'))]);
    expect(entries).toContainEqual([at(keys.contactDay('org-1', 'c-1', '20260105')), at(keys.contactMonth('org-1', 'c-1', '202601')), '05', expiry, 'c', at(keys.orgIndex('org-1'))]);
  });

  it('sends one HSET entry per key with all of its fields', () => {
    const sent = fixture('EmailSent', { occurredAt: Date.UTC(2026, 0, 5, 10) });
    const delta = fold([sent], new Map(), keys, { machineClickSeconds: 5, historyDays: 400 });
    resolveFlags(delta, () => null);
    const { keys: declared, argv } = buildApplyArgs(delta, { offsetsKey: keys.offsets('emails'), partition: 0, firstOffset: 0, expectedStart: 0, nextOffset: 1 });
    const [i, s] = argv[3]!.split(' ').map(Number);
    const ops = argv.slice(7);
    let at = 3 * i!;
    const sets = new Map<string, Record<string, string>>();
    for (let n = 0; n < s!; n++) {
      const key = declared[Number(ops[at]) - 1]!;
      const count = Number(ops[at + 1]);
      const fields: Record<string, string> = { ...sets.get(key) };
      for (let j = 0; j < count; j++) fields[ops[at + 2 + 2 * j]!] = ops[at + 3 + 2 * j]!;
      sets.set(key, fields);
      at += 2 + 2 * count;
    }
    const expected = new Map([...delta.set].map(([key, byField]) => [key, Object.fromEntries(byField)]));
    expect(sets).toEqual(expected);
    expect(s).toBe(delta.set.size);
  });

  it('names the purge fence and, per org written, the purge its gate knew, before the entries', () => {
    const opened = fixture('EmailOpened', { occurredAt: Date.UTC(2026, 0, 5, 10) });
    const delta = fold([opened], new Map(), keys, { machineClickSeconds: 5, historyDays: 400 });
    resolveFlags(delta, () => null);
    const plain = buildApplyArgs(delta, { offsetsKey: keys.offsets('emails'), partition: 0, firstOffset: 0, expectedStart: 0, nextOffset: 1 });
    const fenced = buildApplyArgs(delta, {
      offsetsKey: keys.offsets('emails'),
      partition: 0,
      firstOffset: 0,
      expectedStart: 0,
      nextOffset: 1,
      fence: { key: 't:purge:fence', orgs: new Map([['org-1', -1], ['org-2', 1234]]) },
    });
    expect(fenced.keys[1]).toBe('t:purge:fence');
    expect(fenced.argv.slice(6, 11)).toEqual(['2 2', 'org-1', '-1', 'org-2', '1234']);
    // The payload refers to keys by index: one more key up front shifts every index by one.
    expect(fenced.argv.slice(11).length).toBe(plain.argv.slice(7).length);
    expect(fenced.keys.slice(2)).toEqual(plain.keys.slice(1));
  });

  it('refuses a Delta whose first-time flags or clicks were not resolved (the script no longer decides them)', () => {
    const clicked = fixture('LinkClicked', { occurredAt: Date.UTC(2026, 0, 5, 10) });
    const delta = fold([clicked], new Map(), keys, { machineClickSeconds: 5, historyDays: 400 });
    const position = { offsetsKey: keys.offsets('emails'), partition: 0, firstOffset: 0, expectedStart: 0, nextOffset: 1 };
    expect(() => buildApplyArgs(delta, position)).toThrow(/resolved/);
    resolveFlags(delta, () => null);
    expect(() => buildApplyArgs(delta, position)).toThrow(/resolved/);
    resolveClicks(delta, () => null);
    expect(() => buildApplyArgs(delta, position)).not.toThrow();
  });
});
