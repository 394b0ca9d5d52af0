import { describe, expect, it } from 'vitest';
import { addBurstClick, addFixedExpireAt, addExpireAt, addFlag, addIncr, emptyDelta, resolveClicks, resolveFlags, type BurstClick } from '../../projections/projector/delta.js';

/** The batch's first-time flags are decided in Node from what Redis held (delta.ts resolveFlags). */
describe('resolveFlags', () => {
  it('turns a flag Redis does not hold into an HSET and coalesces its increments with the others', () => {
    const delta = emptyDelta();
    addIncr(delta, 'email', 'opens', 2);
    addFlag(delta, 'flags', 'o:c1', [['email', 'uniqueOpens', 1], ['org-day', 'uniqueOpens', 1]]);
    addFlag(delta, 'flags', 'o:c2', [['email', 'uniqueOpens', 1], ['org-day', 'uniqueOpens', 1]]);
    addFlag(delta, 'flags', 'r:c1', [['email', 'uniqueReplies', 1]]);
    const fresh = resolveFlags(delta, (key, field) => (key === 'flags' && field === 'r:c1' ? '1' : null));
    expect(fresh).toBe(2);
    expect(delta.flags.size).toBe(0);
    expect(delta.set.get('flags')).toEqual(new Map([['o:c1', '1'], ['o:c2', '1']]));
    expect(delta.incr.get('email')).toEqual(new Map([['opens', 2], ['uniqueOpens', 2]]));
    expect(delta.incr.get('org-day')).toEqual(new Map([['uniqueOpens', 2]]));
  });

  it('drops a stored flag with every increment it gated', () => {
    const delta = emptyDelta();
    addFlag(delta, 'flags', 'sent', [['email', 'recipients', 3]]);
    expect(resolveFlags(delta, () => '1')).toBe(0);
    expect(delta.incr.size).toBe(0);
    expect(delta.set.size).toBe(0);
  });
});

describe('expiries set once', () => {
  it('a key is set-once only while every expiry the batch gives it is a function of the key', () => {
    const delta = emptyDelta();
    addFixedExpireAt(delta, 'day', 100);
    addFixedExpireAt(delta, 'email', 200);
    addExpireAt(delta, 'email', 150); // the send was unknown for one event: the expiry may move
    addFixedExpireAt(delta, 'email', 180);
    addExpireAt(delta, 'contact', 300);
    addFixedExpireAt(delta, 'contact', 310); // EXPIREAT NX after the moving one: nothing, as in two batches
    expect([...delta.expireOnce]).toEqual(['day']);
    expect(delta.expireAt).toEqual(new Map([['day', 100], ['email', 200], ['contact', 300]]));
  });
});

describe('resolveClicks', () => {
  const click = (link: string, second: number): BurstClick => ({ flags: 'fk', email: 'ek', contactDay: 'cd', recipient: 'c1', link, second, rollups: ['org-day'] });

  it("takes back what a stored second counted as a person's when another link joins it: HDEL of the flags Redis holds", () => {
    const delta = emptyDelta();
    addBurstClick(delta, click('l1', 100));
    const stored: Record<string, string> = { 'k:c1': '100\nh\n1\nl0\n1\n1\n', 'c:c1': '1', 'c:l0:c1': '1' };
    expect(resolveClicks(delta, (key, field) => (key === 'fk' ? (stored[field] ?? null) : null))).toBe(0);
    expect(delta.clicks).toEqual([]);
    expect(delta.del.get('fk')).toEqual(new Set(['c:c1', 'c:l0:c1']));
    expect(delta.set.get('fk')).toEqual(new Map([['k:c1', '100\nb\n0\n']]));
    expect(delta.incr.get('ek')).toEqual(new Map([['clicks', -1], ['lc:l0', -1], ['machineClicks', 2], ['lu:l0', -1], ['uniqueClicks', -1]]));
    expect(delta.incr.get('org-day')).toEqual(new Map([['clicks', -1], ['machineClicks', 2], ['uniqueClicks', -1]]));
    expect(delta.incr.get('cd')).toEqual(new Map([['clicked', -1]]));
  });

  it('a flag taken back and set again within the batch is only set', () => {
    const delta = emptyDelta();
    // second 100: a person's click, then a burst takes it back; second 200: a person again
    for (const c of [click('l0', 100), click('l1', 100), click('l0', 200)]) addBurstClick(delta, c);
    expect(resolveClicks(delta, () => null)).toBe(4); // the two flags of second 100, and again at 200
    expect(delta.del.size).toBe(0);
    expect(delta.set.get('fk')).toEqual(new Map([['c:c1', '1'], ['c:l0:c1', '1'], ['k:c1', '200\nh\n1\nl0\n1\n1\n']]));
    expect(delta.incr.get('ek')).toEqual(new Map([['clicks', 1], ['lc:l0', 1], ['uniqueClicks', 1], ['lu:l0', 1], ['machineClicks', 2]]));
  });

  it("deletes a flag the burst takes back even when the batch did not read it (another link's, set by an earlier batch)", () => {
    const delta = emptyDelta();
    addBurstClick(delta, click('l1', 100));
    const stored: Record<string, string> = { 'k:c1': '100\nh\n1\nl0\n1\n1\n', 'c:c1': '1' }; // c:l0:c1 not among the fields read
    resolveClicks(delta, (key, field) => (key === 'fk' ? (stored[field] ?? null) : null));
    expect(delta.del.get('fk')).toEqual(new Set(['c:c1', 'c:l0:c1']));
    expect(delta.set.get('fk')).toEqual(new Map([['k:c1', '100\nb\n0\n']]));
  });
});
