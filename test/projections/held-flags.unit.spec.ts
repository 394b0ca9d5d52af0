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
    const stored = held.over(nothing, emptyDelta(), NOW);
    expect(stored('gone', 'o:c1')).toBe('1');
    expect(stored('gone', 'o:c2')).toBeNull();
    expect(stored('young', 'o:c1')).toBeNull(); // Redis holds that one
    expect(stored('email', 'opens')).toBeNull();
  });

  it('answers under what Redis holds, and follows every later write of a held hash that leaves it expired, deletes included', () => {
    const held = new HeldFlags();
    held.add(new Map([['gone', new Map([['c:c1', '1'], ['k:c1', 'state-1']])]]));
    const none = emptyDelta();
    const redis = (key: string, field: string): string | null => (key === 'gone' && field === 'k:c1' ? 'from-redis' : null);
    expect(held.over(redis, none, NOW)('gone', 'k:c1')).toBe('from-redis');
    expect(held.over(redis, none, NOW)('gone', 'c:c1')).toBe('1');
    // a later batch before the email's horizon (a burst took the flag back): its hash still expired at once
    held.keep(delta((x) => (addDel(x, 'gone', 'c:c1'), addSet(x, 'gone', 'k:c1', 'state-2'), addFixedExpireAt(x, 'gone', NOW - 1))), ['gone'], NOW);
    expect(held.over(nothing, none, NOW)('gone', 'c:c1')).toBeNull();
    expect(held.over(nothing, none, NOW)('gone', 'k:c1')).toBe('state-2');
    held.keep(delta((x) => (addDel(x, 'gone', 'k:c1'), addFixedExpireAt(x, 'gone', NOW - 1))), ['gone'], NOW);
    expect(held.size).toBe(0);
  });

  it('forgets a held hash that a batch writes again with an expiry to come: it starts empty, as the live run’s did', () => {
    const held = new HeldFlags();
    held.add(new Map([['gone', new Map([['o:c1', '1']])]]));
    // an open after the email's horizon, folded as one of an unknown email: the flags hash lives from it
    const late = delta((x) => addExpireAt(x, 'gone', NOW + 10));
    expect(held.over(nothing, late, NOW)('gone', 'o:c1')).toBeNull();
    addSet(late, 'gone', 'o:c1', '1');
    held.keep(late, ['gone'], NOW);
    expect(held.size).toBe(0);
  });

  it('without anything held, hands back what Redis answered', () => {
    const held = new HeldFlags();
    expect(held.over(nothing, emptyDelta(), NOW)).toBe(nothing);
  });
});
