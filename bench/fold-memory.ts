/**
 * What a fresh replay's in-memory fold holds per record, without Kafka or Redis: the bench
 * workload's events folded as a replay folds them (3,333-record batches, seen eventIds checked, a
 * drain every 250,000 records), then the live heap after forced collections with the decoded
 * events still referenced, so only the fold's own state is counted. The figure behind
 * REPLAY_FOLD_MAX_MB's default (bench/RESULTS.md):
 *
 *   npm run bench:fold-memory -- [records, default 200000]
 */
import { pathToFileURL } from 'node:url';
import { fold } from '../processors/projector/fold.js';
import type { EmailMeta } from '../processors/projector/email-meta.js';
import { FoldState } from '../projections/projector/fold-state.js';
import { dayOf, keysFor } from '../projections/keys.js';
import { EventCodec } from '../schemas/codec.js';
import type { EmailEvent } from '../schemas/events.js';
import { generateBenchWorkload } from './workload.js';

const BATCH = 3_333;
const DRAIN_EVERY = 250_000;

export interface FoldMemory {
  records: number;
  retainedBytesPerRecord: number;
  foldMicrosPerRecord: number;
  /** entries per kind of state the fold keeps for the whole log */
  entries: Record<string, number>;
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc (npm run bench:fold-memory does)');
  gc();
  gc();
}

export function measureFoldMemory(records: number): FoldMemory {
  const workload = generateBenchWorkload({ events: records });
  const codec = new EventCodec();
  const events: EmailEvent[] = [];
  for (const record of workload.emails) {
    try {
      events.push(codec.decode(record.value) as EmailEvent);
    } catch {
      // the workload's garbage records: dead letters, never folded
    }
  }
  workload.emails.length = 0;
  const keys = keysFor('fold-memory').version(2);
  collect();
  const before = process.memoryUsage().heapUsed;
  const state = new FoldState();
  const metas = new Map<string, EmailMeta>();
  const started = process.hrtime.bigint();
  for (let at = 0; at < events.length; at += BATCH) {
    const batch = events.slice(at, at + BATCH).filter((e) => !state.hasSeen(keys.seen(dayOf(e.occurredAt)), e.eventId));
    const sends = new Map<string, EmailMeta>();
    state.merge(fold(batch, metas, keys, { machineClickSeconds: 5, historyDays: 400 }, sends), Math.floor(Date.now() / 1000));
    for (const [key, meta] of sends) metas.set(key, meta);
    if (Math.floor((at + BATCH) / DRAIN_EVERY) > Math.floor(at / DRAIN_EVERY)) state.drain();
  }
  state.drain();
  const micros = Number(process.hrtime.bigint() - started) / 1000;
  collect();
  const retained = process.memoryUsage().heapUsed - before;
  const held = state as unknown as Record<string, Map<string, unknown> | Set<string>>;
  const entries: Record<string, number> = { emailMeta: metas.size };
  for (const name of ['flags', 'bursts', 'min', 'max', 'expiry', 'indexed', 'seen', 'written']) {
    const map = held[name]!;
    let n = 0;
    if (map instanceof Set) n = map.size;
    else for (const v of map.values()) n += v instanceof Map || v instanceof Set ? v.size : 1;
    entries[name] = n;
  }
  return { records: events.length, retainedBytesPerRecord: retained / events.length, foldMicrosPerRecord: micros / events.length, entries };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = measureFoldMemory(Number(process.argv[2] ?? 200_000));
  process.stdout.write(
    `${result.records} records folded: ${result.retainedBytesPerRecord.toFixed(0)} B of live heap per record, ${result.foldMicrosPerRecord.toFixed(1)} µs per record\n` +
      `state entries: ${Object.entries(result.entries)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}\n`,
  );
}
