import { describe, expect, it } from 'vitest';
import { evolveOrgState, fromHash, initialOrgState, pendingPurgeSince, subscriptionEnded, toHash, type OrgState } from '../../../projections/control/org-state.js';
import type { ControlEvent } from '../../../schemas/events.js';

const T = Date.UTC(2026, 0, 10, 12);
const MIN = 60_000;
let n = 0;
const event = (type: ControlEvent['type'], occurredAt: number): ControlEvent => ({ type, occurredAt, orgId: 'o', eventId: `e-${n++}` }) as ControlEvent;
const on = (at: number) => event('OrgEngagementEnabled', at);
const off = (at: number) => event('OrgEngagementDisabled', at);
const purged = (at: number) => event('OrgPurged', at);
const ended = (at: number) => event('SubscriptionEnded', at);
const renewed = (at: number) => event('SubscriptionRenewed', at);

const fold = (events: ControlEvent[]): OrgState => events.reduce(evolveOrgState, initialOrgState('o'));

/** every order and every event delivered twice end in the same state */
function expectSameInAnyOrder(events: ControlEvent[], expected: Partial<OrgState>): void {
  const orders = [events, [...events].reverse(), [...events, ...events], [...events].sort((a, b) => b.occurredAt - a.occurredAt)];
  for (const order of orders) expect(fold(order)).toMatchObject(expected);
}

describe('OrgState: the API\'s current view of an organisation', () => {
  it('after a purge the org is disabled, though it was enabled before', () => {
    expectSameInAnyOrder([on(T - MIN), purged(T)], { enabled: false, purgedAt: T });
  });

  it('an enable later than the purge enables it again', () => {
    expectSameInAnyOrder([on(T - MIN), purged(T), on(T + MIN)], { enabled: true, changedAt: T + MIN });
  });

  it('an enable at the purge instant does not outlive it', () => {
    expectSameInAnyOrder([purged(T), on(T)], { enabled: false });
  });

  it('a later purge disables again', () => {
    expectSameInAnyOrder([on(0), purged(T), on(T + MIN), purged(T + 2 * MIN)], { enabled: false, purgedAt: T + 2 * MIN });
  });

  it('a stored hash written before the purge rule reads as disabled after its purge', () => {
    const old = { ...toHash(fold([on(T - MIN)])), purgedAt: String(T) };
    expect(fromHash('o', old)).toMatchObject({ enabled: false, purgedAt: T });
    expect(fromHash('o', toHash(fold([on(T - MIN), purged(T), on(T + MIN)])))).toMatchObject({ enabled: true });
  });

  it('the switches alone work as before', () => {
    expectSameInAnyOrder([on(T - MIN), off(T), on(T + MIN)], { enabled: true, changedAt: T + MIN });
    expectSameInAnyOrder([on(T - MIN), off(T)], { enabled: false });
  });

  it('subscriptionEnded: from the end until a renewal or the purge', () => {
    expect(subscriptionEnded(fold([on(0)]))).toBe(false);
    expect(subscriptionEnded(fold([on(0), ended(T)]))).toBe(true);
    expect(subscriptionEnded(fold([on(0), ended(T), renewed(T + MIN)]))).toBe(false);
    expect(subscriptionEnded(fold([on(0), renewed(T + MIN), ended(T)]))).toBe(false);
    expect(subscriptionEnded(fold([on(0), ended(T), renewed(T + MIN), ended(T + 2 * MIN)]))).toBe(true);
    const purgedAfterEnd = fold([on(0), ended(T), purged(T + MIN)]);
    expect(subscriptionEnded(purgedAfterEnd)).toBe(false);
    expect(pendingPurgeSince(purgedAfterEnd)).toBeNull();
    expect(purgedAfterEnd.enabled).toBe(false);
  });
});
