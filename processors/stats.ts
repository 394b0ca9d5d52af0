import type { GateReason } from './gate/decide.js';

/** Per-role counters returned by the handle (the same numbers as the Prometheus counters). */
export interface RoleStats {
  records: number;
  collected: number;
  gatedOut: Record<GateReason, number>;
  deadLettered: number;
  duplicates: number;
  batches: number;
  fenceConflicts: number;
  /** batches refused by the purge fence (gated before a purge) and gated again */
  purgeFences: number;
  /** times Redis was found to have lost projection writes and the log was re-read */
  rebuilds: number;
  blobsUploaded: number;
  uploadRetries: number;
}

export function emptyStats(): RoleStats {
  return {
    records: 0,
    collected: 0,
    gatedOut: { org_disabled: 0, contact_opted_out: 0, org_purged: 0, subscription_ended: 0, control_unreadable: 0 },
    deadLettered: 0,
    duplicates: 0,
    batches: 0,
    fenceConflicts: 0,
    purgeFences: 0,
    rebuilds: 0,
    blobsUploaded: 0,
    uploadRetries: 0,
  };
}
