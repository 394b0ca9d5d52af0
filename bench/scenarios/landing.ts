/**
 * The lander's idle flushes on cycles that fill slowly (a quiet partition, BLOB_CYCLE_OFFSETS
 * apart): the same records, in the same growing files, written by BlobWriter flush after flush,
 * once with every file written whole at each flush (the baseline: what the lander did before it
 * extended files by blocks) and once as the lander writes them now. No Kafka: the files are
 * built from the backlog's records as the lander's cycle buffer would hold them, so the two runs
 * differ only in how the writer sends them. Two shapes: the workload's orgs (many small files
 * per partition) and one org (a few large ones).
 */

import { createContainerClient } from '../../core/blob.js';
import { topicsFor } from '../../core/topics.js';
import { encodeLandedRecord, readLandedFile } from '../../processors/lander/avro-file.js';
import { blobDate, blobName } from '../../processors/lander/blob-names.js';
import { BlobWriter } from '../../processors/lander/blob-writer.js';
import type { CycleSnapshot } from '../../processors/lander/cycle-buffer.js';
import { metrics } from '../../processors/metrics.js';
import { EventCodec } from '../../schemas/codec.js';
import { isEmailEvent, type EmailEvent } from '../../schemas/events.js';
import { freshSinks } from '../env.js';
import { progress } from '../progress.js';
import { ratio } from '../stats.js';
import type { BenchRow } from '../table.js';
import { check, type BenchContext, type Check, type ScenarioResult } from '../types.js';

const PARTITIONS = 6;
const FLUSHES = 12;

interface Landed {
  partition: number;
  name: string;
  record: Buffer;
}

interface Measured {
  sent: number;
  stored: number;
  ms: number;
  cpuMicros: number;
  records: number;
}

export async function landingScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const name = 'landing';
  const topic = topicsFor(ctx.config).emails;
  const codec = new EventCodec();
  const limit = ctx.smoke ? 6_000 : 60_000;
  const events: Array<{ offset: number; event: EmailEvent }> = [];
  for (const [offset, raw] of ctx.workload.emails.entries()) {
    if (events.length >= limit) break;
    let event;
    try {
      event = codec.decode(raw.value);
    } catch {
      continue; // the backlog's garbage records: the lander never lands them
    }
    if (isEmailEvent(event)) events.push({ offset, event });
  }
  const rows: BenchRow[] = [];
  const checks: Check[] = [];
  // The workload's orgs spread a partition over many small files; one org puts it in a few large ones.
  for (const shape of ['files of every org', 'one org'] as const) {
    const landed = events.map(({ offset, event }): Landed => {
      const partition = offset % PARTITIONS;
      const orgId = shape === 'one org' ? 'one-org' : event.orgId;
      return { partition, name: blobName({ orgId, date: blobDate(event.occurredAt), topic, partition, cycleStart: 0 }), record: encodeLandedRecord({ topic, partition, offset, event }) };
    });
    const files = new Set(landed.map((l) => l.name)).size;
    progress(`landing (${shape}): ${landed.length} records in ${files} files over ${PARTITIONS} partitions, ${FLUSHES} idle flushes before the cycles complete`);
    // Whole before and after: the local Azurite slows down as it holds more blobs, so a run
    // compared only with the one before it pays for that too.
    const before = await measure(ctx, landed, Number.POSITIVE_INFINITY);
    const blocks = await measure(ctx, landed, undefined);
    const after = await measure(ctx, landed, Number.POSITIVE_INFINITY);
    const whole: Measured = { sent: (before.sent + after.sent) / 2, stored: (before.stored + after.stored) / 2, ms: (before.ms + after.ms) / 2, cpuMicros: (before.cpuMicros + after.cpuMicros) / 2, records: before.records };
    progress(`landing (${shape}): whole ${(whole.sent / 1e6).toFixed(1)} MB sent in ${before.ms} / ${after.ms} ms; blocks ${(blocks.sent / 1e6).toFixed(1)} MB in ${blocks.ms} ms; ${(blocks.stored / 1e6).toFixed(1)} MB stored`);
    checks.push(
      check(name, `${shape}: records in the files written whole`, Math.min(before.records, after.records), landed.length),
      check(name, `${shape}: records in the files extended by blocks`, blocks.records, landed.length),
    );
    const note = `${landed.length} records in ${files} files (${Math.round(blocks.stored / files / 1024)} KiB each at the end), ${FLUSHES} flushes`;
    rows.push(
      { scenario: name, metric: `${shape}: baseline, bytes sent ÷ stored, written whole`, value: whole.sent / whole.stored, unit: '×', reference: 'same run', note: `${note}; ${Math.round(whole.ms)} ms (${before.ms} before, ${after.ms} after), ${(whole.cpuMicros / 1000).toFixed(0)} ms CPU of this process` },
      { scenario: name, metric: `${shape}: bytes sent ÷ stored, extended by blocks`, value: blocks.sent / blocks.stored, unit: '×', note: `${blocks.ms} ms, ${(blocks.cpuMicros / 1000).toFixed(0)} ms CPU of this process` },
      { scenario: name, metric: `${shape}: time of the flushes, blocks ÷ whole`, value: ratio(blocks.ms, whole.ms), unit: '×', note: 'wall time of the uploads against the local Azurite' },
      { scenario: name, metric: `${shape}: CPU of this process, blocks ÷ whole`, value: ratio(blocks.cpuMicros, whole.cpuMicros), unit: '×', note: 'the writer, the storage SDK and the bench\'s own bookkeeping' },
    );
  }
  return { rows, checks };
}

/** Writes the records in FLUSHES growing snapshots per partition; `appendFromBytes` Infinity writes every file whole. */
async function measure(ctx: BenchContext, landed: readonly Landed[], appendFromBytes: number | undefined): Promise<Measured> {
  const sinks = freshSinks(ctx.config);
  ctx.sinks.push(sinks);
  const container = createContainerClient(sinks);
  const writer = new BlobWriter(container, appendFromBytes === undefined ? {} : { appendFromBytes });
  // partition -> file name -> records so far (the same Buffers at every flush, as the cycle buffer holds them)
  const cycles = new Map<number, Map<string, Buffer[]>>();
  const sentBefore = await sentBytes();
  const started = Date.now();
  const cpu = process.cpuUsage();
  const per = Math.ceil(landed.length / FLUSHES);
  for (let flush = 0; flush < FLUSHES; flush++) {
    for (const { partition, name, record } of landed.slice(flush * per, (flush + 1) * per)) {
      const files = cycles.get(partition) ?? new Map<string, Buffer[]>();
      cycles.set(partition, files);
      const list = files.get(name) ?? [];
      files.set(name, list);
      list.push(record);
    }
    const lastOffset = (flush + 1) * per - 1;
    await Promise.all(
      [...cycles].map(([partition, files]): Promise<number> => {
        const snapshot: CycleSnapshot = { partition, cycleStart: 0, lastOffset, files: new Map([...files].map(([n, list]) => [n, [...list]])), events: new Map() };
        return writer.uploadCycle(snapshot);
      }),
    );
  }
  const ms = Date.now() - started;
  const used = process.cpuUsage(cpu);
  const sent = (await sentBytes()) - sentBefore;
  let stored = 0;
  let records = 0;
  for await (const blob of container.listBlobsFlat()) {
    stored += blob.properties.contentLength ?? 0;
    records += (await readLandedFile(await container.getBlobClient(blob.name).downloadToBuffer())).length;
  }
  return { sent, stored, ms, cpuMicros: used.user + used.system, records };
}

async function sentBytes(): Promise<number> {
  return (await metrics.blobBytes.get()).values.reduce((s, v) => s + v.value, 0);
}
