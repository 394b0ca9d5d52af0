/**
 * The control store's list of unresolved unreadable records follows the history's rule: a
 * resolution counts from the record's time on. One dated before it (an API clock behind the
 * writer's) resolves nothing in the gate, so it must not take the record off the list either
 * (the operations page and the follow route would stop showing an org that stays blocked).
 */
import { describe, expect, it } from 'vitest';
import { ControlStore } from '../../projections/control/control-store.js';
import { keysFor } from '../../projections/keys.js';
import { fixture } from '../support/fixtures.js';
import { testRedis } from '../support/env.js';

describe('the control store and a resolution of an unreadable record', () => {
  it('keeps the record listed for a resolution dated before it, and takes it off for one after', async () => {
    const { config, redis } = testRedis();
    const store = new ControlStore(redis, keysFor(config.redisPrefix), undefined, 'a-suppression-secret');
    const at = Date.now();
    await store.setUnreadable([{ partition: 0, offset: 7, orgId: 'org-1', at, reason: 'garbage' }]);
    await store.apply([fixture('ControlRecordResolved', { orgId: 'org-1', occurredAt: at - 5_000, partition: 0, offset: 7 })]);
    expect((await store.readUnreadable('org-1')).map((r) => r.offset)).toEqual([7]);
    await store.apply([fixture('ControlRecordResolved', { orgId: 'org-1', occurredAt: at + 5_000, partition: 0, offset: 7 })]);
    expect(await store.readUnreadable('org-1')).toEqual([]);
  });
});
