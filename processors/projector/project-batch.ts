import type { KafkaMessage } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { VersionKeys } from '../../projections/keys.js';
import { applyBatch, type ApplyResult } from '../../projections/projector/apply-batch.js';
import type { EventCodec } from '../../schemas/codec.js';
import { decodeRecords, type RejectedRecord } from '../decode-records.js';
import type { ControlHistory } from '../gate/control-history.js';
import type { GateReason } from '../gate/decide.js';
import { gateBatch } from '../gate/gate-batch.js';
import { dropSeen, firstOccurrences } from './dedupe.js';
import { fold } from './fold.js';
import type { EmailMetaLoader } from './meta-loader.js';

/**
 * One partition batch into one projection version: decode -> gate -> de-duplicate -> fold ->
 * one atomic apply with the batch's offsets. Shared by the live projector and `engagement replay`
 * so a replay folds with exactly the live pipeline. The caller has waited for the control topic
 * (`ControlReader.caughtUp()`) and has already dropped records before its stored position.
 */
export interface BatchTarget {
  redis: Redis;
  codec: EventCodec;
  history: ControlHistory;
  keys: VersionKeys;
  meta: EmailMetaLoader;
  machineClickSeconds: number;
  /** the live projector: write only while `P:proj:current` still names `keys.v` */
  currentVersionKey?: string;
  /** fold only this org's events (offsets still advance over every record) */
  orgId?: string;
}

export interface BatchOutcome {
  result: ApplyResult;
  records: number;
  /** events folded (fresh after de-duplication) */
  applied: number;
  duplicates: number;
  gatedOut: Map<GateReason, number>;
  deadLetters: RejectedRecord[];
}

export async function projectBatch(
  target: BatchTarget,
  topic: string,
  partition: number,
  records: readonly KafkaMessage[],
  beforeApply?: (deadLetters: RejectedRecord[]) => Promise<void>,
): Promise<BatchOutcome> {
  const decoded = decodeRecords(records, target.codec);
  const mine = target.orgId === undefined ? decoded.events : decoded.events.filter((r) => r.event.orgId === target.orgId);
  const { collected, rejected } = gateBatch(mine, target.history);
  const unique = firstOccurrences(collected);
  const fresh = await dropSeen(target.redis, target.keys, unique);
  const events = fresh.map((r) => r.event);
  const emailMeta = await target.meta.lookup(events);
  const delta = fold(events, emailMeta, target.keys, { machineClickSeconds: target.machineClickSeconds });

  if (beforeApply) await beforeApply(decoded.rejected);
  const result = await applyBatch(target.redis, delta, {
    offsetsKey: target.keys.offsets(topic),
    partition,
    firstOffset: Number(records[0]!.offset),
    nextOffset: Number(records[records.length - 1]!.offset) + 1,
    ...(target.currentVersionKey ? { follow: { currentVersionKey: target.currentVersionKey, version: target.keys.v } } : {}),
  });
  if (result.applied) target.meta.remember(events);
  return {
    result,
    records: records.length,
    applied: fresh.length,
    duplicates: collected.length - fresh.length,
    gatedOut: rejected,
    deadLetters: decoded.rejected,
  };
}
