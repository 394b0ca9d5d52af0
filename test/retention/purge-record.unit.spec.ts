import { describe, expect, it } from 'vitest';
import { isPurgedTombstone } from '../../projections/control/purged-org.js';
import { evolveOrgState, initialOrgState } from '../../projections/control/org-state.js';
import { nextStep, parsePurgeRecord, purgeToFinishAgain, PURGE_STEPS } from '../../projections/purge-record.js';
import { fixture } from '../support/fixtures.js';
import type { ControlEvent } from '../../schemas/events.js';

describe('purge record', () => {
  it('walks the steps in order to the end', () => {
    expect(PURGE_STEPS).toEqual(['event', 'fence', 'key', 'redis', 'landers', 'blobs']);
    // the key is destroyed only once OrgPurged is on the control topic and the fence tells every API
    expect(nextStep('event')).toBe('fence');
    expect(nextStep('fence')).toBe('key');
    expect(nextStep('key')).toBe('redis');
    expect(nextStep('blobs')).toBeNull();
  });

  it('reads back what was written, and refuses what is not a record', () => {
    const record = { eventId: 'e', purgedAt: 2, subscriptionEndedAt: 1, step: 'redis' as const, controlEnds: { '0': 4 } };
    expect(parsePurgeRecord(JSON.stringify(record))).toEqual(record);
    expect(parsePurgeRecord('{')).toBeNull();
    expect(parsePurgeRecord(JSON.stringify({ ...record, step: 'later' }))).toBeNull();
  });
});

describe('a purged org in the control store', () => {
  const event = (type: ControlEvent['type'], occurredAt: number): ControlEvent => ({ type, occurredAt, orgId: 'o', eventId: `${type}-${occurredAt}` }) as ControlEvent;
  const state = (...events: ControlEvent[]) => events.reduce(evolveOrgState, initialOrgState('o'));

  it('is a tombstone when nothing happened after the purge, whatever the order the events are applied in', () => {
    const events = [event('OrgEngagementEnabled', 1), event('SubscriptionEnded', 2), event('OrgPurged', 10)];
    expect(isPurgedTombstone(state(...events))).toBe(true);
    expect(isPurgedTombstone(state(...[...events].reverse()))).toBe(true);
    expect(isPurgedTombstone(state(event('OrgPurged', 10)))).toBe(true);
    expect(isPurgedTombstone(state(...events.slice(0, 2)))).toBe(false);
  });

  it('lives on once re-enabled, ended or renewed after the purge', () => {
    const purged = [event('OrgEngagementEnabled', 1), event('SubscriptionEnded', 2), event('OrgPurged', 10)];
    expect(isPurgedTombstone(state(...purged, event('OrgEngagementEnabled', 11)))).toBe(false);
    expect(isPurgedTombstone(state(...purged, event('SubscriptionRenewed', 12)))).toBe(false);
    expect(isPurgedTombstone(state(...purged, event('SubscriptionEnded', 13)))).toBe(false);
  });
});

describe('the purge the control role records again after Redis lost writes', () => {
  const ends = { '0': 12 };
  const purged = fixture('OrgPurged', { orgId: 'o', occurredAt: 5_000 });
  const base = [fixture('OrgEngagementEnabled', { orgId: 'o', occurredAt: 1_000 }), fixture('SubscriptionEnded', { orgId: 'o', occurredAt: 2_000 }), purged];

  it('is the latest purge of an org not enabled since, from its fence on, marked again', () => {
    const older = fixture('OrgPurged', { orgId: 'o', occurredAt: 500 });
    expect(purgeToFinishAgain('o', [older, ...base], ends)).toEqual({ eventId: purged.eventId, purgedAt: 5_000, subscriptionEndedAt: 2_000, step: 'fence', controlEnds: ends, again: true, switchedAt: 1_000 });
  });

  it('is none for an org never purged, or enabled after its purge, even if disabled again (what it holds since is its own)', () => {
    expect(purgeToFinishAgain('o', base.slice(0, 2), ends)).toBeNull();
    expect(purgeToFinishAgain('o', [...base, fixture('OrgEngagementEnabled', { orgId: 'o', occurredAt: 6_000 })], ends)).toBeNull();
    const enabledThenDisabled = [fixture('OrgEngagementEnabled', { orgId: 'o', occurredAt: 6_000 }), fixture('OrgEngagementDisabled', { orgId: 'o', occurredAt: 7_000 })];
    expect(purgeToFinishAgain('o', [...base, ...enabledThenDisabled], ends)).toBeNull();
  });

  it('stays for an org whose enable is not later than its purge, or renewed without being enabled', () => {
    expect(purgeToFinishAgain('o', [...base, fixture('OrgEngagementEnabled', { orgId: 'o', occurredAt: 5_000 })], ends)).not.toBeNull();
    expect(purgeToFinishAgain('o', [...base, fixture('SubscriptionRenewed', { orgId: 'o', occurredAt: 7_000 })], ends)).not.toBeNull();
  });
});
