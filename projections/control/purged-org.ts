import type { OrgState } from './org-state.js';

/**
 * A purged organisation with nothing after its purge (no switch, subscription end or renewal
 * later than `purgedAt`): its control state is the initial one again (disabled, no subscription
 * end), so the control store keeps no entry of it (DESIGN §2 rule 3: the purge reaches the control
 * store). An org that lives on after its purge (re-enabled, ended again) is kept as usual. Pure.
 */
export function isPurgedTombstone(state: OrgState): boolean {
  const purgedAt = state.purgedAt;
  if (purgedAt === null) return false;
  return state.changedAt <= purgedAt && (state.subscriptionEndedAt ?? 0) <= purgedAt && (state.renewedAt ?? 0) <= purgedAt;
}
