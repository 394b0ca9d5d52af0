import { describe, expect, it } from 'vitest';
import { addDel, addExpireAt, addFixedExpireAt, addSet, emptyDelta, type Delta } from '../../projections/projector/delta.js';
import { HeldFlags } from '../../projections/projector/held-flags.js';

const NOW = 1_000_000;

function delta(build: (d: Delta) => void): Delta {
  const d = emptyDelta();
  build(d);
  return d;
}

const nothing = (): null => null;

describe('HeldFlags: a replay’s flags of emails past the horizon', () => {
  it('keeps the flags a batch wrote to a flags hash already expired, and only those it read', () => {
    const held = new HeldFlags();
    const d = delta((x) => {
      addSet(x, 'gone', 'o:c1', '1');
      addFixedExpireAt(x, 'gone', NOW - 1);
      addSet(x, 'young', 'o:c1', '1');
      addFixedExpireAt(x, 'young', NOW + 1);
      addSet(x, 'email', 'opens', '1'); // not a flags hash the batch read
      addExpireAt(x, 'email', NOW - 1);
    });
    held.keep(d, ['gone', 'young'], NOW);
    expect(held.size).toBe(1);
    const stored = held.over(nothing);
    expect(stored('gone', 'o:c1')).toBe('1');
    expect(stored('gone', 'o:c2')).toBeNull();
    expect(stored('young', 'o:c1')).toBeNull(); // Redis holds that one
    expect(stored('email', 'opens')).toBeNull();
  });

  it('answers under what Redis holds, and follows every later write of a held hash, deletes included', () => {
    const held = new HeldFlags();
    held.add(new Map([['gone', new Map([['c:c1', '1'], ['k:c1', 'state-1']])]]));
    const redis = (key: string, field: string): string | null => (key === 'gone' && field === 'k:c1' ? 'from-redis' : null);
    expect(held.over(redis)('gone', 'k:c1')).toBe('from-redis');
    expect(held.over(redis)('gone', 'c:c1')).toBe('1');
    // a later batch (a burst took the flag back) whose expiry is in the future: still followed
    held.keep(delta((x) => (addDel(x, 'gone', 'c:c1'), addSet(x, 'gone', 'k:c1', 'state-2'), addExpireAt(x, 'gone', NOW + 10))), ['gone'], NOW);
    expect(held.over(nothing)('gone', 'c:c1')).toBeNull();
    expect(held.over(nothing)('gone', 'k:c1')).toBe('state-2');
    held.keep(delta((x) => addDel(x, 'gone', 'k:c1')), ['gone'], NOW);
    expect(held.size).toBe(0);
  });

  it('without anything held, hands back what Redis answered', () => {
    const held = new HeldFlags();
    expect(held.over(nothing)).toBe(nothing);
  });
});
