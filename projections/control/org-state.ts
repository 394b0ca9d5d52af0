/**
 * The current enablement state of one organisation, as the API needs it (not the history:
 * the gate keeps that). Pure evolve over control events; applying an event twice or out of
 * order leaves the same state, because each field remembers the time it was set.
 * After a purge the org is disabled until an enable later than the purge (DESIGN §2.3), and its
 * ended subscription is done with: a purged org starts over like a new one.
 */

import type { ControlEvent } from '../../schemas/events.js';

export interface OrgState {
  orgId: string;
  /** the latest switch was an enable, and it came after the latest purge */
  enabled: boolean;
  /** occurredAt of the switch that set `enabled`, 0 when never switched */
  changedAt: number;
  subscriptionEndedAt: number | null;
  renewedAt: number | null;
  purgedAt: number | null;
}

export function initialOrgState(orgId: string): OrgState {
  return { orgId, enabled: false, changedAt: 0, subscriptionEndedAt: null, renewedAt: null, purgedAt: null };
}

export function evolveOrgState(state: OrgState, event: ControlEvent): OrgState {
  return disabledByPurge(evolveFields(state, event));
}

/** A switch at or before the latest purge does not outlive it (order-independent: both times are kept). */
function disabledByPurge(state: OrgState): OrgState {
  return state.enabled && state.purgedAt !== null && state.changedAt <= state.purgedAt ? { ...state, enabled: false } : state;
}

function evolveFields(state: OrgState, event: ControlEvent): OrgState {
  switch (event.type) {
    case 'OrgEngagementEnabled':
    case 'OrgEngagementDisabled':
      if (event.occurredAt < state.changedAt) return state;
      return { ...state, enabled: event.type === 'OrgEngagementEnabled', changedAt: event.occurredAt };
    case 'SubscriptionEnded':
      return event.occurredAt >= (state.subscriptionEndedAt ?? 0) ? { ...state, subscriptionEndedAt: event.occurredAt } : state;
    case 'SubscriptionRenewed':
      return event.occurredAt >= (state.renewedAt ?? 0) ? { ...state, renewedAt: event.occurredAt } : state;
    case 'OrgPurged':
      return event.occurredAt >= (state.purgedAt ?? 0) ? { ...state, purgedAt: event.occurredAt } : state;
    case 'ContactFollowPreferenceChanged':
    case 'ControlRecordResolved':
      return state;
    default: {
      const never: never = event;
      return never;
    }
  }
}

/** A subscription that ended and was not renewed since: the org is on its way to a purge. */
export function pendingPurgeSince(state: OrgState): number | null {
  const ended = state.subscriptionEndedAt;
  if (ended === null) return null;
  if (state.renewedAt !== null && state.renewedAt >= ended) return null;
  if (state.purgedAt !== null && state.purgedAt >= ended) return null;
  return ended;
}

/**
 * The subscription ended and was neither renewed nor purged since: nothing of the org is
 * collected (the gate decides so by event time), its KPIs stay readable until the purge.
 */
export function subscriptionEnded(state: OrgState): boolean {
  return pendingPurgeSince(state) !== null;
}

export function toHash(state: OrgState): Record<string, string> {
  return {
    enabled: state.enabled ? '1' : '0',
    changedAt: String(state.changedAt),
    subscriptionEndedAt: state.subscriptionEndedAt === null ? '' : String(state.subscriptionEndedAt),
    renewedAt: state.renewedAt === null ? '' : String(state.renewedAt),
    purgedAt: state.purgedAt === null ? '' : String(state.purgedAt),
  };
}

export function fromHash(orgId: string, hash: Record<string, string>): OrgState {
  const time = (value: string | undefined): number | null => (value === undefined || value === '' ? null : Number(value));
  if (Object.keys(hash).length === 0) return initialOrgState(orgId);
  // disabledByPurge: a hash written before that rule still reads as disabled after its purge
  return disabledByPurge({
    orgId,
    enabled: hash.enabled === '1',
    changedAt: Number(hash.changedAt ?? 0),
    subscriptionEndedAt: time(hash.subscriptionEndedAt),
    renewedAt: time(hash.renewedAt),
    purgedAt: time(hash.purgedAt),
  });
}
