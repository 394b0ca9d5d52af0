import { describe, expect, it } from 'vitest';
import { addFixedExpireAt, addExpireAt, addFlag, addIncr, emptyDelta, resolveFlags } from '../../projections/projector/delta.js';

/** The batch's first-time flags are decided in Node from what Redis held (delta.ts resolveFlags). */
describe('resolveFlags', () => {
  it('turns a flag Redis does not hold into an HSET and coalesces its increments with the others', () => {
    const delta = emptyDelta();
    addIncr(delta, 'email', 'opens', 2);
    addFlag(delta, 'flags', 'o:c1', [['email', 'uniqueOpens', 1], ['org-day', 'uniqueOpens', 1]]);
    addFlag(delta, 'flags', 'o:c2', [['email', 'uniqueOpens', 1], ['org-day', 'uniqueOpens', 1]]);
    addFlag(delta, 'flags', 'r:c1', [['email', 'uniqueReplies', 1]]);
    const fresh = resolveFlags(delta, (key, field) => key === 'flags' && field === 'r:c1');
    expect(fresh).toBe(2);
    expect(delta.flags.size).toBe(0);
    expect(delta.set.get('flags')).toEqual(new Map([['o:c1', '1'], ['o:c2', '1']]));
    expect(delta.incr.get('email')).toEqual(new Map([['opens', 2], ['uniqueOpens', 2]]));
    expect(delta.incr.get('org-day')).toEqual(new Map([['uniqueOpens', 2]]));
  });

  it('drops a stored flag with every increment it gated', () => {
    const delta = emptyDelta();
    addFlag(delta, 'flags', 'sent', [['email', 'recipients', 3]]);
    expect(resolveFlags(delta, () => true)).toBe(0);
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
    addFixedExpireAt(delta, 'contact', 310);
    expect([...delta.expireOnce]).toEqual(['day']);
    expect(delta.expireAt).toEqual(new Map([['day', 100], ['email', 200], ['contact', 310]]));
  });
});
