/**
 * What a fresh replay's fold costs with no I/O around it: the bench's records decoded, gated,
 * folded into a FoldState (replay/fresh-fold.ts, the function the replay runs) and drained every
 * FLUSH_RECORDS, in this process, in batches of the size a replay fetches. Its rate is the ceiling
 * of a replay on this box whatever Kafka and Redis do; the replay's own rate against it says how
 * much of the gap is the fold and how much the reading and writing around it.
 */
import { performance, PerformanceObserver } from 'node:perf_hooks';
import type { KafkaMessage } from 'kafkajs';
import { decodeRecords } from '../processors/decode-records.js';
import { ControlHistory } from '../processors/gate/control-history.js';
import { gateBatch } from '../processors/gate/gate-batch.js';
import type { EmailMeta } from '../processors/projector/email-meta.js';
import { keysFor } from '../projections/keys.js';
import { FoldState } from '../projections/projector/fold-state.js';
import { foldCollected, seenKeys } from '../replay/fresh-fold.js';
import { FLUSH_RECORDS } from '../replay/version-builder.js';
import { EventCodec } from '../schemas/codec.js';
import { isControlEvent, type AnyEvent } from '../schemas/events.js';
import type { RawRecord } from './workload.js';

export interface FoldAloneResult {
  records: number;
  /** events the gate let through, re-sent ones included */
  collected: number;
  /** of those, the events folded (first occurrences) */
  folded: number;
  wallMs: number;
  cpuMicros: number;
  gcMs: number;
}

/** about what one 4 MiB fetch of a fresh replay holds of the bench's records */
const BATCH_RECORDS = 10_000;

export async function foldAlone(control: readonly RawRecord[], emails: readonly RawRecord[], settings: { machineClickSeconds: number; historyDays: number; maxClockSkewSeconds: number }): Promise<FoldAloneResult> {
  const codec = new EventCodec();
  const history = new ControlHistory();
  for (const raw of control) {
    const event = codec.decode(raw.value) as AnyEvent;
    if (isControlEvent(event)) history.apply(event);
  }
  const keys = keysFor('bench-fold-alone').version(2);
  const fold = {
    state: new FoldState(),
    metas: new Map<string, EmailMeta>(),
    keys,
    machineClickSeconds: settings.machineClickSeconds,
    historyDays: settings.historyDays,
    seenKey: seenKeys(keys),
    purgedAt: (orgId: string) => history.purgedAt(orgId),
  };
  let gcMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  observer.observe({ entryTypes: ['gc'] });
  let collectedTotal = 0;
  let folded = 0;
  let sinceDrain = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let at = 0; at < emails.length; at += BATCH_RECORDS) {
    const messages = emails.slice(at, at + BATCH_RECORDS).map((raw, i): KafkaMessage => ({ key: Buffer.from(raw.key), value: raw.value, timestamp: raw.timestamp, offset: String(at + i), attributes: 0, headers: {} }) as KafkaMessage);
    const decoded = decodeRecords(messages, codec, settings.maxClockSkewSeconds * 1000);
    const { collected } = gateBatch(decoded.events, history);
    collectedTotal += collected.length;
    folded += foldCollected(fold, collected, Math.floor(Date.now() / 1000)).length;
    sinceDrain += messages.length;
    if (sinceDrain >= FLUSH_RECORDS) {
      fold.state.drain();
      sinceDrain = 0;
    }
  }
  fold.state.drain();
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  // gc entries reach the observer on a timer after the work that caused them (an immediate is too early)
  await new Promise((resolve) => setTimeout(resolve, 0));
  observer.disconnect();
  return { records: emails.length, collected: collectedTotal, folded, wallMs, cpuMicros: cpu.user + cpu.system, gcMs };
}
