/**
 * A fresh build's fold of one batch into its in-memory state (replay/version-builder.ts), without
 * I/O: de-duplicate against what was folded, fold run by run where an email's events cross its
 * horizon (horizon-runs.ts), merge, and remember the sends for later batches. The bench runs the
 * same function with no Kafka and no Redis around it, to show what the fold alone costs.
 */
import type { EmailEvent } from '../schemas/events.js';
import { dayOf, type VersionKeys } from '../projections/keys.js';
import type { FoldState } from '../projections/projector/fold-state.js';
import { firstOccurrences } from '../processors/projector/dedupe.js';
import { fold } from '../processors/projector/fold.js';
import { horizonRuns } from '../processors/projector/horizon-runs.js';
import { emailMetaOrg, outlivesPurge, type EmailMeta } from '../processors/projector/email-meta.js';

export interface FreshFold {
  state: FoldState;
  /** every first EmailSent folded: the fold's email meta (an email's events share its partition) */
  metas: Map<string, EmailMeta>;
  keys: VersionKeys;
  machineClickSeconds: number;
  historyDays: number;
  /** the seen key of an event's day (seenKeys) */
  seenKey: (occurredAtMs: number) => string;
  /** the org's purge the gate knew (ControlHistory.purgedAt) */
  purgedAt: (orgId: string) => number | null;
}

/** Folds the gated records of one batch at `nowSeconds`; returns those not folded before (the rest are duplicates). */
export function foldCollected<T extends { offset: number; event: EmailEvent }>(f: FreshFold, collected: readonly T[], nowSeconds: number): T[] {
  const { state, metas } = f;
  const fresh = firstOccurrences(collected).filter((r) => !state.hasSeen(f.seenKey(r.event.occurredAt), r.event.eventId));
  // The emails first sent in this batch, as the fold read them: the meta of its later runs and batches.
  const sends = new Map<string, EmailMeta>();
  for (const run of horizonRuns(fresh, metas, f.historyDays)) {
    const delta = fold(run.map((r) => r.event), metas, f.keys, { machineClickSeconds: f.machineClickSeconds, historyDays: f.historyDays }, sends);
    state.merge(delta, nowSeconds);
  }
  for (const [key, meta] of sends) {
    // as the live projector's lookup (meta-loader.ts): a send at or before its org's purge (accepted
    // after the org was enabled again, dated before) is not remembered for later batches
    if (outlivesPurge(meta, f.purgedAt(emailMetaOrg(key)))) metas.set(key, meta);
  }
  return fresh;
}

const DAY_MS = 86_400_000;

/** The seen key of an event's day, built once per UTC day of the build. */
export function seenKeys(keys: VersionKeys): (occurredAtMs: number) => string {
  const byDay = new Map<number, string>();
  return (ms) => {
    const day = Math.floor(ms / DAY_MS);
    let key = byDay.get(day);
    if (key === undefined) byDay.set(day, (key = keys.seen(dayOf(ms))));
    return key;
  };
}
