import { describe, expect, it } from 'vitest';
import { addExpireAt, addFlag, addIncr, addMax, addMin, addOrgKey, addSeen, addSet, emptyDelta, type Delta } from '../../projections/projector/delta.js';
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
});
