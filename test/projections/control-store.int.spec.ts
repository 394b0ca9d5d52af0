/**
 * The control store on real Redis: concurrent writers (two API instances, each with its own
 * connection) end in the later state, whatever order their writes interleave in.
 * A purged org keeps no entry, and nothing older than its purge brings one back.
 */

import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { createRedis } from '../../core/redis.js';
import { ControlStore, type ControlFallback } from '../../projections/control/control-store.js';
import { initialOrgState, pendingPurgeSince } from '../../projections/control/org-state.js';
import { redisIdentity } from '../../core/redis.js';
import { keysFor } from '../../projections/keys.js';
import { recipientKey, type ControlEvent } from '../../schemas/events.js';
import { suppressionHash } from '../../projections/control/suppression.js';
import { deleteRedisPrefix, testConfig } from '../support/env.js';

let config: Config;
let redisA: Redis;
let redisB: Redis;

beforeAll(() => {
  config = testConfig();
  redisA = createRedis(config);
  redisB = createRedis(config);
});

afterAll(async () => {
  await deleteRedisPrefix(redisA, config.redisPrefix);
  redisA.disconnect();
  redisB.disconnect();
});

const T = Date.UTC(2026, 5, 1);

describe('ControlStore.apply is atomic', () => {
  it('two concurrent switches with different times end in the later one, every time', async () => {
    const keys = keysFor(config.redisPrefix);
    const a = new ControlStore(redisA, keys, undefined, 'secret');
    const b = new ControlStore(redisB, keys, undefined, 'secret');
    const wrong: string[] = [];
    for (let i = 0; i < 200; i++) {
      const orgId = `org-${i}`;
      const laterEnables = i % 2 === 0;
      const older: ControlEvent = { type: laterEnables ? 'OrgEngagementDisabled' : 'OrgEngagementEnabled', eventId: randomUUID(), orgId, occurredAt: T + i };
      const later: ControlEvent = { type: laterEnables ? 'OrgEngagementEnabled' : 'OrgEngagementDisabled', eventId: randomUUID(), orgId, occurredAt: T + i + 1 };
      // the instance holding the later switch writes first half of the time
      const [first, second] = i % 4 < 2 ? [b.apply([later]), a.apply([older])] : [a.apply([older]), b.apply([later])];
      await Promise.all([first, second]);
      const state = await a.readOrg(orgId);
      if (state.enabled !== laterEnables || state.changedAt !== later.occurredAt) wrong.push(`${orgId}: enabled=${state.enabled} changedAt=${state.changedAt}`);
    }
    expect(wrong).toEqual([]);
  });

  it('concurrent preference changes of one recipient end in the later one, and the suppression list agrees', async () => {
    const keys = keysFor(config.redisPrefix);
    const a = new ControlStore(redisA, keys, undefined, 'secret');
    const b = new ControlStore(redisB, keys, undefined, 'secret');
    const wrong: string[] = [];
    for (let i = 0; i < 100; i++) {
      const orgId = `org-pref-${i}`;
      const pref = (allow: boolean, at: number): ControlEvent => ({
        type: 'ContactFollowPreferenceChanged',
        eventId: randomUUID(),
        orgId,
        occurredAt: at,
        contactId: 'c-1',
        contactType: 'contact',
        recipientType: 'contact',
        allow,
      });
      const laterAllows = i % 2 === 0;
      await Promise.all(i % 4 < 2 ? [b.apply([pref(laterAllows, T + 2)]), a.apply([pref(!laterAllows, T + 1)])] : [a.apply([pref(!laterAllows, T + 1)]), b.apply([pref(laterAllows, T + 2)])]);
      const allows = (await a.readRecipientsAllow(orgId, [{ type: 'contact', id: 'c-1' }])).get('contact:c-1');
      const suppressed = await redisA.scard(keys.suppression(orgId));
      if (allows !== laterAllows || suppressed !== (laterAllows ? 0 : 1)) wrong.push(`${orgId}: allows=${allows} suppressed=${suppressed}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('ControlStore.apply after a purge', () => {
  it('keeps no entry of a purged org, and older control events applied again never make it due for a purge again', async () => {
    const keys = keysFor(config.redisPrefix);
    const store = new ControlStore(redisA, keys, undefined, 'secret');
    const orgId = `org-purged-${randomUUID()}`;
    const event = (type: 'OrgEngagementEnabled' | 'SubscriptionEnded' | 'OrgPurged', occurredAt: number): ControlEvent =>
      ({ type, eventId: randomUUID(), orgId, occurredAt }) as ControlEvent;
    const enabled = event('OrgEngagementEnabled', T);
    const ended = event('SubscriptionEnded', T + 1000);
    await store.apply([enabled, ended]);
    expect(pendingPurgeSince(await store.readOrg(orgId))).toBe(T + 1000);
    await store.apply([event('OrgPurged', T + 2000)]);
    expect(await redisA.exists(keys.controlOrg(orgId))).toBe(0);
    expect(await redisA.sismember(keys.controlOrgs(), orgId)).toBe(0);
    // the events before the purge, re-applied (a late batch, the control role re-reading the topic)
    await store.apply([enabled, ended]);
    expect(await redisA.exists(keys.controlOrg(orgId))).toBe(0);
    // re-enabled after the purge, then the old events once more: enabled, not due
    await store.apply([event('OrgEngagementEnabled', T + 3000)]);
    await store.apply([ended]);
    await store.apply([enabled, ended]);
    const state = await store.readOrg(orgId);
    expect(state).toMatchObject({ enabled: true, changedAt: T + 3000, purgedAt: T + 2000 });
    expect(pendingPurgeSince(state)).toBeNull();
    expect(await store.listOrgs()).toContain(orgId);
  });
});

describe('a store marked synced under the key layout before (org ids with an at sign under their own names)', () => {
  it('is not trusted: readers answer from the control topic until the control role has rewritten it, then from Redis', async () => {
    const prefix = `${config.redisPrefix}-layout`;
    const keys = keysFor(prefix);
    const orgId = `jane-${randomUUID()}@example.com`;
    const identity = await redisIdentity(redisA, 0);
    // as an older version left it: the org under its own name, stale (the topic has enabled it and ended its
    // subscription since), a suppression there, and the store marked synced for this Redis under that layout
    await redisA
      .multi()
      .hset(`${prefix}:ctl:org:${orgId}`, { enabled: '0', changedAt: String(T - 1000), rev: '3' })
      .sadd(`${prefix}:suppress:${orgId}`, 'kept-before')
      .sadd(keys.controlOrgs(), orgId)
      .set(keys.controlSyncedLayout1(), identity ?? 'unknown')
      .exec();
    const truth = { ...initialOrgState(orgId), enabled: true, changedAt: T, subscriptionEndedAt: T + 1000 };
    const fallback: ControlFallback = { orgState: () => truth, contactAllows: () => true, orgIds: () => [orgId], remember: () => undefined };
    const store = new ControlStore(redisA, keys, fallback, 'secret');
    try {
      expect(await store.isSynced(0)).toBe(false);
      // an upgrade, not a loss: the control role records no purge again for it
      expect(await store.syncState()).toMatchObject({ marked: false, synced: false, layout1Synced: true });
      expect(await store.readOrg(orgId)).toMatchObject({ enabled: true, subscriptionEndedAt: T + 1000 });
      expect((await store.readOrgs([orgId])).get(orgId)).toMatchObject({ enabled: true, subscriptionEndedAt: T + 1000 });
      // the control role's rewrite: the old names dropped (suppressions kept), every event of the topic, the mark
      const token = await store.beginSync();
      expect(await store.dropLegacyControlKeys([orgId, 'acme-1'], true)).toBe(2);
      await store.apply([
        { type: 'OrgEngagementEnabled', eventId: randomUUID(), orgId, occurredAt: T },
        { type: 'SubscriptionEnded', eventId: randomUUID(), orgId, occurredAt: T + 1000 },
      ]);
      expect(await store.finishSync(token, identity)).toBe(true);
      expect(await store.isSynced(0)).toBe(true);
      expect(await redisA.exists(`${prefix}:ctl:org:${orgId}`, `${prefix}:suppress:${orgId}`)).toBe(0);
      expect(await redisA.smembers(keys.suppression(orgId))).toEqual(['kept-before']);
      expect(await new ControlStore(redisA, keys, undefined, 'secret').readOrg(orgId)).toMatchObject({ enabled: true, subscriptionEndedAt: T + 1000 });
    } finally {
      await deleteRedisPrefix(redisA, prefix);
    }
  });

  it('merges an older copy of the suppressions before the rewrite applies the topic, so an "allow" since still wins', async () => {
    const prefix = `${config.redisPrefix}-layout-allow`;
    const keys = keysFor(prefix);
    const orgId = `ann-${randomUUID()}@example.com`;
    const store = new ControlStore(redisA, keys, undefined, 'secret');
    const pref = (contactId: string, allow: boolean, at: number): ControlEvent => ({
      type: 'ContactFollowPreferenceChanged',
      eventId: randomUUID(),
      orgId,
      occurredAt: at,
      contactId,
      contactType: 'contact',
      recipientType: 'contact',
      allow,
    });
    try {
      // the older copy still suppresses c-1, who has said "allow" since; c-2 said "do not allow" and nothing after
      await redisA.sadd(`${prefix}:suppress:${orgId}`, suppressionHash('secret', orgId, 'contact', 'c-1'), suppressionHash('secret', orgId, 'contact', 'c-2'));
      await store.dropLegacyControlKeys([orgId], true);
      await store.apply([pref('c-1', false, T), pref('c-2', false, T), pref('c-1', true, T + 1000)]);
      const allows = await store.readRecipientsAllow(orgId, [
        { type: 'contact', id: 'c-1' },
        { type: 'contact', id: 'c-2' },
      ]);
      expect([allows.get(recipientKey('contact', 'c-1')), allows.get(recipientKey('contact', 'c-2'))]).toEqual([true, false]);
      expect(await redisA.smembers(keys.suppression(orgId))).toEqual([suppressionHash('secret', orgId, 'contact', 'c-2')]);
    } finally {
      await deleteRedisPrefix(redisA, prefix);
    }
  });

  it('drops without merging what an older instance writes again once the store is rewritten: the topic has the same events', async () => {
    const prefix = `${config.redisPrefix}-layout-tick`;
    const keys = keysFor(prefix);
    const orgId = `joe-${randomUUID()}@example.com`;
    const store = new ControlStore(redisA, keys, undefined, 'secret');
    try {
      await redisA.multi().sadd(`${prefix}:suppress:${orgId}`, 'allowed-since').hset(`${prefix}:ctl:contacts:${orgId}`, 'c-1', '0:1').exec();
      expect(await store.dropLegacyControlKeys([orgId], false)).toBe(2);
      expect(await redisA.exists(`${prefix}:suppress:${orgId}`, `${prefix}:ctl:contacts:${orgId}`, keys.suppression(orgId))).toBe(0);
      expect(await store.dropLegacyControlKeys([orgId], false)).toBe(0);
    } finally {
      await deleteRedisPrefix(redisA, prefix);
    }
  });
});
