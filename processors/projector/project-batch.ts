/**
 * One partition batch into one projection version: decode -> gate -> de-duplicate -> fold ->
 * one atomic apply with the batch's offsets. Shared by the live projector and `engagement replay`
 * so a replay folds with exactly the live pipeline. The caller has already dropped records before
 * its stored position, and passes `waitForControl` (`ControlReader.caughtUp`), called after the
 * batch was received and before it is gated.
 */

import type { KafkaMessage } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { VersionKeys } from '../../projections/keys.js';
import { applyBatch, readStoredFields, type ApplyResult } from '../../projections/projector/apply-batch.js';
import { resolveClicks, resolveFlags, storedFieldsOf } from '../../projections/projector/delta.js';
import type { HeldFlags } from '../../projections/projector/held-flags.js';
import type { EventCodec } from '../../schemas/codec.js';
import type { EmailEvent } from '../../schemas/events.js';
import { decodeRecords, type RejectedRecord } from '../decode-records.js';
import { openRecords, type ProcessorKeys } from '../open-records.js';
import type { ControlHistory } from '../gate/control-history.js';
import type { GateReason } from '../gate/decide.js';
import { gateBatch, refusedByReason } from '../gate/gate-batch.js';
import { dropSeen, firstOccurrences } from './dedupe.js';
import { fold } from './fold.js';
import type { EmailMeta, EmailMetaLookup } from './email-meta.js';
import { horizonRuns } from './horizon-runs.js';
import type { EmailMetaLoader } from './meta-loader.js';

export interface BatchTarget {
  redis: Redis;
  codec: EventCodec;
  history: ControlHistory;
  keys: VersionKeys;
  meta: EmailMetaLoader;
  machineClickSeconds: number;
  /** HISTORY_DAYS: every key the fold writes expires at this horizon from its event time */
  historyDays: number;
  /** where the version starts on a partition with nothing stored (the two-sided fence) */
  expectedStart: (partition: number) => number;
  /** the live projector: write only while `P:proj:current` still names `keys.v` and no replay holds it */
  follow?: { currentVersionKey: string; holdKey: string };
  /** MAX_CLOCK_SKEW_SECONDS: how far an occurredAt may be ahead of its record's timestamp */
  maxClockSkewSeconds: number;
  /** fold only this org's events (offsets still advance over every record) */
  orgId?: string;
  /** P:purge:fence: a batch gated without a purge retention has fenced is refused (apply-batch.lua) */
  purgeFenceKey?: string;
  /** the org data keys: sealed events are opened before they are gated (processors/open-records.ts) */
  dataKeys?: ProcessorKeys;
  /** a replay: the flags of emails past the horizon, which Redis drops with each batch (held-flags.ts) */
  held?: HeldFlags;
}

export interface BatchOutcome {
  /** the last script's: when a batch is applied in runs (horizon-runs.ts), a refused later run's */
  result: ApplyResult;
  /**
   * The offset after the last record applied: the batch's end when it is applied, its first offset
   * when nothing is. In between when runs before a refused one were applied: the counts below are
   * then those of the records before it, and the caller reads on from there.
   */
  reached: number;
  records: number;
  /** events folded (fresh after de-duplication) */
  applied: number;
  duplicates: number;
  gatedOut: Map<GateReason, number>;
  deadLetters: RejectedRecord[];
  /**
   * A later run failed (Redis unavailable, say) after the runs before it were applied: the counts
   * are theirs, and the caller, having counted them and moved on to `reached`, fails as for a batch.
   */
  failure?: unknown;
}

export async function projectBatch(
  target: BatchTarget,
  topic: string,
  partition: number,
  records: readonly KafkaMessage[],
  waitForControl: () => Promise<void>,
  deadLetter?: (deadLetters: RejectedRecord[]) => Promise<void>,
): Promise<BatchOutcome> {
  const decoded = decodeRecords(records, target.codec, target.maxClockSkewSeconds * 1000);
  // Dead letters are sent while the batch is gated and folded; they are awaited before the apply.
  let deadLettered = deadLetter && decoded.rejected.length > 0 ? deadLetter(decoded.rejected) : undefined;
  deadLettered?.catch(() => undefined); // surfaced by the await below
  try {
    await waitForControl();
    const mine = target.orgId === undefined ? decoded.events : decoded.events.filter((r) => r.event.orgId === target.orgId);
    // Decrypt at one point, the fields the fold reads; a key nobody holds is a dead letter unless the org was purged.
    const { opened, failed } = await openRecords(mine, { keys: target.dataKeys, history: target.history, waitForControl, scope: 'projection' });
    const unopened = failed.map((f): RejectedRecord => ({ offset: f.offset, message: records.find((m) => Number(m.offset) === f.offset)!, error: f.error }));
    if (unopened.length > 0) decoded.rejected.push(...unopened);
    const keyLetters = deadLetter && unopened.length > 0 ? deadLetter(unopened) : undefined;
    keyLetters?.catch(() => undefined);
    deadLettered = deadLettered && keyLetters ? Promise.all([deadLettered, keyLetters]).then(() => undefined) : (deadLettered ?? keyLetters);
    const { collected, refused } = gateBatch(opened, target.history);
    // What the gate knew of each org's purge, read in the same tick as the gate: the history may
    // learn a purge while this batch awaits Redis, and the fence must judge what the gate used.
    const purgesKnown = knownPurges(collected, target.history);
    const unique = firstOccurrences(collected);
    // Both lookups only read: run them together. Meta is looked up for every unique event (a
    // superset of the fresh ones), which changes nothing for the fold.
    const uniqueEvents = unique.map((r) => r.event);
    const [fresh, emailMeta] = await Promise.all([dropSeen(target.redis, target.keys, unique), target.meta.lookup(uniqueEvents, (orgId) => target.history.purgedAt(orgId))]);
    const events = fresh.length === unique.length ? uniqueEvents : fresh.map((r) => r.event);
    if (deadLettered) await deadLettered;
    // Nearly always one run; a batch holding an email's events from both sides of its horizon is
    // folded and applied run by run, each with its own offsets (horizon-runs.ts).
    const runs = horizonRuns(fresh, emailMeta, target.historyDays);
    const firstOffset = Number(records[0]!.offset);
    const nextOffset = Number(records[records.length - 1]!.offset) + 1;
    const sends = new Map<string, EmailMeta>();
    let result: ApplyResult = { applied: true };
    let reached = firstOffset;
    let applied = 0;
    let failure: unknown;
    for (const [i, run] of runs.entries()) {
      const range = { first: i === 0 ? firstOffset : run[0]!.offset, next: i + 1 < runs.length ? runs[i + 1]![0]!.offset : nextOffset };
      const known = i === 0 ? emailMeta : new Map([...emailMeta, ...sends]);
      try {
        result = await applyRun(target, topic, partition, range, runs.length === 1 ? events : run.map((r) => r.event), known, sends, purgesKnown);
      } catch (error) {
        if (reached === firstOffset) throw error;
        failure = error;
        break;
      }
      if (!result.applied) break;
      reached = range.next;
      applied += run.length;
    }
    if (failure === undefined && (result.applied || reached === firstOffset)) {
      return { result, reached, records: records.length, applied: events.length, duplicates: collected.length - events.length, gatedOut: refusedByReason(refused), deadLetters: decoded.rejected };
    }
    // Runs before a refused or failed one are applied: what is counted is theirs.
    const before = <R extends { offset: number }>(list: readonly R[]) => list.filter((r) => r.offset < reached);
    return {
      result,
      reached,
      records: records.filter((m) => Number(m.offset) < reached).length,
      applied,
      duplicates: before(collected).length - applied,
      gatedOut: refusedByReason(refused, (r) => r.offset < reached),
      deadLetters: before(decoded.rejected),
      ...(failure !== undefined ? { failure } : {}),
    };
  } finally {
    await deadLettered?.catch(() => undefined);
  }
}

/**
 * Folds `events` and applies them with the records [range.first, range.next): first-time flags and
 * click bursts decided here from what Redis held, not by calls per event in the script (delta.ts).
 * `sends` receives the metas of the emails this fold sends first (the meta of a later run).
 */
async function applyRun(
  target: BatchTarget,
  topic: string,
  partition: number,
  range: { first: number; next: number },
  events: EmailEvent[],
  emailMeta: EmailMetaLookup,
  sends: Map<string, EmailMeta>,
  purgesKnown: ReadonlyMap<string, number>,
): Promise<ApplyResult> {
  const delta = fold(events, emailMeta, target.keys, { machineClickSeconds: target.machineClickSeconds, historyDays: target.historyDays }, sends);
  const wanted = storedFieldsOf(delta);
  const fromRedis = await readStoredFields(target.redis, wanted);
  const now = Math.floor(Date.now() / 1000);
  const stored = target.held ? target.held.over(fromRedis, delta, now) : fromRedis;
  resolveFlags(delta, stored);
  resolveClicks(delta, stored);
  const result = await applyBatch(target.redis, delta, {
    offsetsKey: target.keys.offsets(topic),
    partition,
    firstOffset: range.first,
    nextOffset: range.next,
    expectedStart: target.expectedStart(partition),
    ...(target.follow ? { follow: { ...target.follow, version: target.keys.v } } : {}),
    ...(target.purgeFenceKey ? { fence: { key: target.purgeFenceKey, orgs: purgesKnown } } : {}),
  });
  if (result.applied) {
    target.meta.remember(events, emailMeta);
    target.held?.keep(delta, wanted.keys(), now);
  }
  return result;
}

/** orgId -> the purgedAt the gate knew (-1 for none), for every org with a collected event. */
function knownPurges(collected: ReadonlyArray<{ event: EmailEvent }>, history: ControlHistory): Map<string, number> {
  const known = new Map<string, number>();
  for (const { event } of collected) if (!known.has(event.orgId)) known.set(event.orgId, history.purgedAt(event.orgId) ?? -1);
  return known;
}
