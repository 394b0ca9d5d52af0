/**
 * A purge in progress, kept in Redis (`P:purges`, field orgId) from before its OrgPurged event is
 * sent until its last deletion, so a pass that crashed or met an outage at any step is finished by
 * the next one (retention/run-retention.ts). Pure: the steps in order and the JSON form.
 *
 *   event    OrgPurged (this eventId, at purgedAt) to the control topic, then to the control store
 *   key      the tombstone of the org's data keys on the keys topic (crypto-shredding): only after
 *            OrgPurged is acknowledged, so a reader that misses the key already knows the purge
 *   fence    P:purge:fence: the projector refuses every batch gated without the purge
 *   redis    the org's projection keys (every version) and control-store entries deleted
 *   landers  wait until every lander instance has passed the OrgPurged event (controlEnds)
 *   blobs    the org's blobs deleted; then the record goes
 */

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
