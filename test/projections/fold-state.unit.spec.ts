import { describe, expect, it } from 'vitest';
import { addBurstClick, addExpireAt, addFixedExpireAt, addFlag, addIncr, addMax, addMin, addOrgKey, addSeen, addSet, emptyDelta, type Delta } from '../../projections/projector/delta.js';
import { FoldState } from '../../projections/projector/fold-state.js';

const NOW = 1_000_000;
const LATER = NOW + 1000;

function delta(build: (d: Delta) => void): Delta {
  const d = emptyDelta();
  build(d);
  return d;
}

const entries = <V>(m: Map<string, Map<string, V>>): Record<string, Record<string, V>> =>
  Object.fromEntries([...m].map(([k, f]) => [k, Object.fromEntries(f)]));

describe('FoldState: a fresh version folded in memory', () => {
  it('counts a first-time flag once across batches, and writes a key first as one HSET, then as increments', () => {
    const s = new FoldState();
    const open = (d: Delta): void => {
      addIncr(d, 'email', 'opens');
      addFlag(d, 'flags', 'o:c1', [['email', 'uniqueOpens', 1]]);
      addExpireAt(d, 'email', LATER);
      addExpireAt(d, 'flags', LATER);
    };
    expect(s.merge(delta(open), NOW)).toBe(1);
    expect(s.merge(delta(open), NOW)).toBe(0);
    const first = s.drain();
    expect(entries(first.set)).toEqual({ email: { opens: '2', uniqueOpens: '1' }, flags: { 'o:c1': '1' } });
    expect(first.incr.size).toBe(0);
    expect(Object.fromEntries(first.expireAt)).toEqual({ email: LATER, flags: LATER });
    expect(s.idle).toBe(true);

    expect(s.merge(delta(open), NOW)).toBe(0);
    const second = s.drain();
    expect(entries(second.incr)).toEqual({ email: { opens: 1 } });
    expect(second.set.size).toBe(0);
    expect(second.expireAt.size).toBe(0); // not later than the one written
  });

  it('keeps the smallest and largest times, written only when they change; set fields last wins', () => {
    const s = new FoldState();
    s.merge(delta((d) => (addMin(d, 'e', 'first', 50), addMax(d, 'e', 'last', 50), addSet(d, 'e', 'url', 'a'), addExpireAt(d, 'e', LATER))), NOW);
    s.drain();
    s.merge(delta((d) => (addMin(d, 'e', 'first', 70), addMax(d, 'e', 'last', 70), addSet(d, 'e', 'url', 'b'))), NOW);
    expect(entries(s.drain().set)).toEqual({ e: { last: '70', url: 'b' } });
  });

  it('drops a key created with an expiry already past, as the script deletes it; an existing key keeps its later expiry', () => {
    const s = new FoldState();
    s.merge(delta((d) => (addIncr(d, 'old', 'opens'), addExpireAt(d, 'old', NOW - 1), addIncr(d, 'live', 'opens'), addExpireAt(d, 'live', LATER))), NOW);
    s.merge(delta((d) => (addIncr(d, 'live', 'opens'), addExpireAt(d, 'live', NOW - 1))), NOW);
    const out = s.drain();
    expect(entries(out.set)).toEqual({ live: { opens: '2' } });
    expect(Object.fromEntries(out.expireAt)).toEqual({ live: LATER });
    // the old key comes back with only what a later batch writes, like a key the script deleted
    s.merge(delta((d) => (addIncr(d, 'old', 'opens'), addExpireAt(d, 'old', LATER))), NOW);
    expect(entries(s.drain().set)).toEqual({ old: { opens: '1' } });
  });

  it('sets an expiry that is a function of the key only on a key without one (EXPIREAT NX), as the script does', () => {
    const s = new FoldState();
    // the key made by a moving expiry in an earlier batch; a later batch gives it its send's, later one
    s.merge(delta((d) => (addIncr(d, 'email', 'opens'), addExpireAt(d, 'email', LATER))), NOW);
    s.merge(delta((d) => (addIncr(d, 'email', 'opens'), addFixedExpireAt(d, 'email', LATER + 500))), NOW);
    expect(Object.fromEntries(s.drain().expireAt)).toEqual({ email: LATER });
    // a key it creates gets it
    s.merge(delta((d) => (addIncr(d, 'day', 'opens'), addFixedExpireAt(d, 'day', LATER + 500))), NOW);
    expect(Object.fromEntries(s.drain().expireAt)).toEqual({ day: LATER + 500 });
  });

  it('holds the flags of a key dropped past the horizon, until a batch writes it again with an expiry to come: then it starts empty', () => {
    const s = new FoldState();
    const open = (at: number) => (d: Delta): void => {
      addFlag(d, 'flags', 'o:c1', [['cd', 'opened', 1]]);
      addExpireAt(d, 'flags', at);
      addExpireAt(d, 'cd', LATER);
    };
    expect(s.merge(delta(open(NOW - 1)), NOW)).toBe(1);
    expect(s.merge(delta(open(NOW - 1)), NOW)).toBe(0); // held: a second open before the email's horizon
    expect(s.heldFlags()).toEqual(new Map([['flags', new Map([['o:c1', '1']])]]));
    // after the email's horizon the live run met no flags hash: this open is a first again, and its hash is written
    expect(s.merge(delta(open(LATER)), NOW)).toBe(1);
    expect(s.heldFlags().size).toBe(0);
    expect(entries(s.drain().set).flags).toEqual({ 'o:c1': '1' });
  });

  it('remembers seen eventIds and indexed keys: each member is added once', () => {
    const s = new FoldState();
    const d = (): Delta => delta((x) => (addSeen(x, 'seen:1', 'ev-1'), addOrgKey(x, 'idx', 'email'), addExpireAt(x, 'idx', LATER)));
    s.merge(d(), NOW);
    expect(s.hasSeen('seen:1', 'ev-1')).toBe(true);
    expect(s.hasSeen('seen:2', 'ev-1')).toBe(false);
    expect(Object.fromEntries(s.drain().add)).toEqual({ 'seen:1': ['ev-1'], idx: ['email'] });
    s.merge(d(), NOW);
    const again = s.drain();
    expect(again.add.size).toBe(0);
    expect([...again.seenKeys]).toEqual(['seen:1']);
  });

  describe('click bursts (click-rule.ts)', () => {
    const S = 1_700_000_000;
    /** one click of recipient c1 on `link` in second `second`, with the expiries fold() gives its keys */
    const click = (link: string, second = S, recipient = 'c1') => (d: Delta): void => {
      addBurstClick(d, { flags: 'flags', email: 'email', contactDay: 'cd', recipient, link, second, rollups: ['org'] });
      for (const key of ['flags', 'email', 'cd', 'org']) addExpireAt(d, key, LATER);
    };
    const clicks = (...list: Array<(d: Delta) => void>): Delta => delta((d) => list.forEach((f) => f(d)));

    it('counts a person\u2019s click and its unique flags, and keeps the state string the script writes', () => {
      const s = new FoldState();
      expect(s.merge(clicks(click('l0')), NOW)).toBe(2);
      expect(s.merge(clicks(click('l0')), NOW)).toBe(0); // a double click: no burst
      const out = s.drain();
      expect(entries(out.set)).toEqual({
        flags: { 'c:c1': '1', 'c:l0:c1': '1', 'k:c1': `${S}\nh\n1\nl0\n2\n1\n` },
        email: { clicks: '2', 'lc:l0': '2', uniqueClicks: '1', 'lu:l0': '1' },
        org: { clicks: '2', uniqueClicks: '1' },
        cd: { clicked: '1' },
      });
      expect(out.del.size).toBe(0);
    });

    it('takes back a second\u2019s person clicks and flags when a second link joins it, within one write', () => {
      const s = new FoldState();
      expect(s.merge(clicks(click('l0'), click('l0'), click('l1'), click('l2')), NOW)).toBe(2);
      const out = s.drain();
      expect(entries(out.set)).toEqual({
        flags: { 'k:c1': `${S}\nb\n0\n` },
        email: { clicks: '0', 'lc:l0': '0', machineClicks: '4', uniqueClicks: '0', 'lu:l0': '0' },
        org: { clicks: '0', machineClicks: '4', uniqueClicks: '0' },
        cd: { clicked: '0' },
      });
      expect(out.del.size).toBe(0); // never written: nothing to delete
    });

    it('deletes flags an earlier write wrote when the burst shows in a later one', () => {
      const s = new FoldState();
      s.merge(clicks(click('l0')), NOW);
      s.drain();
      s.merge(clicks(click('l1')), NOW);
      const out = s.drain();
      expect(Object.fromEntries([...out.del].map(([k, f]) => [k, [...f].sort()]))).toEqual({ flags: ['c:c1', 'c:l0:c1'] });
      expect(entries(out.set)).toEqual({ flags: { 'k:c1': `${S}\nb\n0\n` } });
      expect(entries(out.incr)).toEqual({
        email: { clicks: -1, 'lc:l0': -1, machineClicks: 2, 'lu:l0': -1, uniqueClicks: -1 },
        org: { clicks: -1, machineClicks: 2, uniqueClicks: -1 },
        cd: { clicked: -1 },
      });
      expect(s.idle).toBe(true);
    });

    it('a flag deleted and set again before the write is only set; a later person counts as the first again', () => {
      const s = new FoldState();
      s.merge(clicks(click('l0')), NOW);
      s.drain();
      s.merge(clicks(click('l1'), click('l2')), NOW);
      expect(s.merge(clicks(click('l0', S + 60)), NOW)).toBe(2);
      const out = s.drain();
      expect(entries(out.set)).toEqual({ flags: { 'c:c1': '1', 'c:l0:c1': '1', 'k:c1': `${S + 60}\nh\n1\nl0\n1\n1\n` } });
      expect(out.del.size).toBe(0);
      expect(entries(out.incr).email).toEqual({ clicks: 0, 'lc:l0': 0, machineClicks: 3, 'lu:l0': 0, uniqueClicks: 0 });
    });

    it('keeps recipients apart, and holds the burst state of a key dropped beyond the horizon', () => {
      const s = new FoldState();
      s.merge(clicks(click('l0'), click('l1', S, 'c2')), NOW);
      expect(entries(s.drain().set).email).toEqual({ clicks: '2', 'lc:l0': '1', 'lc:l1': '1', uniqueClicks: '2', 'lu:l0': '1', 'lu:l1': '1' });
      const old = (link: string) => (d: Delta): void => {
        addBurstClick(d, { flags: 'oldflags', email: 'oldemail', contactDay: 'oldcd', recipient: 'c1', link, second: S, rollups: [] });
        for (const key of ['oldflags', 'oldemail', 'oldcd']) addExpireAt(d, key, NOW - 1);
      };
      expect(s.merge(clicks(old('l0')), NOW)).toBe(2);
      expect(s.heldFlags()).toEqual(new Map([['oldflags', new Map([['c:c1', '1'], ['c:l0:c1', '1'], ['k:c1', `${S}\nh\n1\nl0\n1\n1\n`]])]]));
      // nothing of it is written, but the build still knows the state (when these clicks happened the
      // email was young and the live run kept it): the second link in the same second is a burst
      expect(s.merge(clicks(old('l1')), NOW)).toBe(0);
      expect(s.drain().set.size).toBe(0);
      const held = s.heldFlags().get('oldflags');
      expect(held?.has('c:c1')).toBe(false);
      expect(held?.get('k:c1')?.split('\n')[1]).toBe('b'); // the second is a burst
    });
  });
});
