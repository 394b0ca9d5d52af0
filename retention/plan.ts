import { oldestKeptBlobDate } from '../processors/lander/blob-names.js';
import { pendingPurgeSince, type OrgState } from '../projections/control/org-state.js';

const DAY_MS = 86_400_000;

/**
 * Which organisations are due for a purge at `now`: subscription ended more than
 * `retentionDays` ago and not renewed since (a renewal before the purge cancels it). Pure.
 */
export function orgsDueForPurge(states: Iterable<OrgState>, now: number, retentionDays: number): OrgState[] {
  const due: OrgState[] = [];
  for (const state of states) {
    const endedAt = pendingPurgeSince(state);
    if (endedAt !== null && now - endedAt > retentionDays * DAY_MS) due.push(state);
  }
  return due.sort((a, b) => a.orgId.localeCompare(b.orgId));
}

/** The date of a landing blob, from its `org=…/date=YYYY-MM-DD/…` name; null for foreign names. */
export function blobDate(name: string): string | null {
  const match = /(?:^|\/)date=(\d{4}-\d{2}-\d{2})\//.exec(name);
  return match ? match[1]! : null;
}

/** Raw blobs whose date is older than the landing-zone retention are expired. */
export function isBlobExpired(name: string, now: number, blobRetentionDays: number): boolean {
  const date = blobDate(name);
  if (date === null) return false;
  return date < oldestKeptBlobDate(now, blobRetentionDays);
}
