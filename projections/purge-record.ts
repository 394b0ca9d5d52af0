/**
 * A purge in progress, kept in Redis (`P:purges`, field orgId) from before its OrgPurged event is
 * sent until its last deletion, so a pass that crashed or met an outage at any step is finished by
 * the next one (retention/run-retention.ts; the control role records one again when Redis lost
 * writes, purgeToFinishAgain). Pure: the steps in order and the JSON form.
 *
 *   event    OrgPurged (this eventId, at purgedAt) to the control topic, then to the control store
 *   fence    P:purge:fence: the projector refuses every batch gated without the purge
 *   key      the tombstone of the org's data keys on the keys topic (crypto-shredding): only after
 *            OrgPurged is acknowledged, so a reader that misses the key already knows the purge
 *   redis    the org's projection keys (every version) and control-store entries deleted
 *   landers  wait until every lander instance has passed the OrgPurged event (controlEnds)
 *   blobs    the org's blobs deleted; then the record goes
 */

import type { ControlEvent } from '../schemas/events.js';
import { evolveOrgState, initialOrgState } from './control/org-state.js';

// 'key' after 'fence': once the key is gone every API already sees the purge (fence), so no late event creates a new one.
export const PURGE_STEPS = ['event', 'fence', 'key', 'redis', 'landers', 'blobs'] as const;
export type PurgeStep = (typeof PURGE_STEPS)[number];

export interface PurgeRecord {
  eventId: string;
  purgedAt: number;
  subscriptionEndedAt: number;
  step: PurgeStep;
  /** control topic end offsets once the OrgPurged event was acknowledged: what the landers must pass */
  controlEnds?: Record<string, number>;
  /**
   * Recorded again by the control role after Redis lost writes (purgeToFinishAgain), for an org
   * not enabled after its purge then: retention drops it before its deletions if the org was
   * switched since (enabled, and maybe disabled again, meanwhile), and spares a data key created
   * after the purge
   */
  again?: boolean;
  /** with `again`: the time of the org's latest switch (changedAt) when it was recorded again */
  switchedAt?: number;
}

export function nextStep(step: PurgeStep): PurgeStep | null {
  return PURGE_STEPS[PURGE_STEPS.indexOf(step) + 1] ?? null;
}

export function parsePurgeRecord(raw: string): PurgeRecord | null {
  try {
    const value = JSON.parse(raw) as Partial<PurgeRecord>;
    if (typeof value.eventId !== 'string' || typeof value.purgedAt !== 'number' || typeof value.subscriptionEndedAt !== 'number') return null;
    if (!PURGE_STEPS.includes(value.step as PurgeStep)) return null;
    return value as PurgeRecord;
  } catch {
    return null;
  }
}

/**
 * The purge to finish again for an org whose control events are `events`, when Redis may have
 * lost writes (a flush, a restart from an older snapshot): purged and never enabled after its last
 * purge, that purge recorded again from its `fence` step (`again`), so retention fences it, makes
 * sure its data keys are destroyed, deletes again whatever the loss brought back (projection keys
 * restored from before the purge, a purge record lost before its deletions), waits for the landers
 * to pass `controlEnds` and deletes its blobs. Every step from there is idempotent. Null when the
 * org is not purged, or was enabled after its purge (whatever it holds since is its own, even if
 * it was disabled again). Pure.
 */
export function purgeToFinishAgain(orgId: string, events: readonly ControlEvent[], controlEnds: Record<string, number>): PurgeRecord | null {
  const state = events.reduce(evolveOrgState, initialOrgState(orgId));
  const purgedAt = state.purgedAt;
  if (purgedAt === null) return null;
  let purge: ControlEvent | undefined;
  for (const event of events) {
    if (event.type === 'OrgEngagementEnabled' && event.occurredAt > purgedAt) return null;
    if (event.type === 'OrgPurged' && event.occurredAt === purgedAt) purge = event;
  }
  if (!purge) return null;
  const ended = state.subscriptionEndedAt ?? purge.occurredAt;
  return { eventId: purge.eventId, purgedAt, subscriptionEndedAt: ended, step: 'fence', controlEnds, again: true, switchedAt: state.changedAt };
}
