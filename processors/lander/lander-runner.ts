/**
 * The blob lander (DESIGN §4): exactly-once files by construction. A partition's records are
 * buffered per cycle of N aligned offsets; when a record of the next cycle arrives, the cycle's
 * files are uploaded and only then is the Kafka offset of the next cycle's start committed.
 * While uploading the partition is paused (the group keeps its heartbeat); records waiting
 * longer than BLOB_FLUSH_SECONDS are uploaded early under the same names without committing.
 * A restart or rebalance re-reads from the committed cycle start and rewrites the same names.
 *
 * Purges (DESIGN §2): records are gated when their batch is read, but uploaded later; every
 * upload attempt therefore gates a purged org's buffered records again with the history as it is
 * then, and the instance publishes, through `lander-acks.ts`, the control positions every running
 * upload has gated with. Retention deletes an org's blobs only once every lander has passed the
 * OrgPurged event, so no record gated before the purge is written after it.
 */

import { randomBytes } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import type { Redis } from 'ioredis';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { isEngagementError } from '../../core/errors.js';
import { PROCESSOR_CONSUMER, PROCESSOR_RUN } from '../../core/consumer-options.js';
import { childLogger } from '../../core/logger.js';
import { withRetry } from '../../core/retry.js';
import type { Keys } from '../../projections/keys.js';
import type { EventCodec } from '../../schemas/codec.js';
import type { ControlReader } from '../control/control-reader.js';
import { decodeRecords } from '../decode-records.js';
import { openRecords, type ProcessorKeys } from '../open-records.js';
import { gate } from '../gate/decide.js';
import { metrics } from '../metrics.js';
import { emptyStats, type RoleStats } from '../stats.js';
import { encodeLandedRecord, landedRecordFromBody } from './avro-file.js';
import { oldestKeptBlobDate } from './blob-names.js';
import { BlobWriter } from './blob-writer.js';
import { CycleBuffer, withoutExpired, withoutPurged, type CycleSnapshot } from './cycle-buffer.js';
import { ACK_INTERVAL_MS, minPositions, publishLanderAck, removeLanderAck } from './lander-acks.js';

const log = childLogger('lander');

export interface LanderOptions {
  kafka: Kafka;
  container: ContainerClient;
  codec: EventCodec;
  control: ControlReader;
  topic: string;
  groupId: string;
  cycleOffsets: number;
  flushSeconds: number;
  /** BLOB_RETENTION_DAYS: files dated before it are not written (retention deletes them) */
  blobRetentionDays: number;
  /** MAX_CLOCK_SKEW_SECONDS: how far an occurredAt may be ahead of its record's timestamp */
  maxClockSkewSeconds: number;
  /** where the instance publishes the control positions its uploads have passed (purges wait for them) */
  acks?: { redis: Redis; keys: Keys };
  /** the org data keys: the recipient is opened for the gate; blobs keep the record as on the log */
  dataKeys?: ProcessorKeys;
}

interface PartitionState {
  generation: number;
  buffer: CycleBuffer;
  /** a completed cycle is being uploaded: the partition is paused */
  sealing: boolean;
  /** wall time of the oldest record not yet in storage */
  waitingSince: number | null;
  flushing: boolean;
  chain: Promise<void>;
}

export class LanderRunner {
  readonly stats: RoleStats = emptyStats();
  private readonly consumer: Consumer;
  private readonly writer: BlobWriter;
  private generation = 0;
  private partitions = new Map<number, PartitionState>();
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private readonly instanceId = randomBytes(6).toString('hex');
  /** upload attempts in flight -> the control positions each gated with */
  private readonly uploading = new Map<number, ReadonlyMap<number, number>>();
  private uploadSeq = 0;
  private ackTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: LanderOptions) {
    this.consumer = options.kafka.consumer({ groupId: options.groupId, ...PROCESSOR_CONSUMER });
    this.writer = new BlobWriter(options.container);
  }

  async start(): Promise<void> {
    // Registered before anything is consumed: retention then waits for this instance too.
    if (this.options.acks) await this.publishAck();
    await this.consumer.connect();
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      // Eager rebalance: every buffer restarts from the committed cycle starts; uploads of the old
      // generation stop retrying and never commit.
      this.generation++;
      this.partitions = new Map();
      const assigned = payload.memberAssignment[this.options.topic] ?? [];
      if (assigned.length > 0) this.consumer.resume([{ topic: this.options.topic, partitions: assigned }]);
    });
    await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
    await this.consumer.run({
      ...PROCESSOR_RUN,
      eachBatch: (payload) => this.onBatch(payload),
    });
    const tick = Math.max(100, Math.min(1000, (this.options.flushSeconds * 1000) / 4));
    this.timer = setInterval(() => this.idleFlush(), tick);
    if (this.options.acks) {
      this.ackTimer = setInterval(() => void this.publishAck().catch((err: unknown) => log.warn({ err }, 'purge acknowledgement not published')), ACK_INTERVAL_MS);
      this.ackTimer.unref();
    }
  }

  /** The control positions every upload running now or later has gated with (lander-acks.ts). */
  private async publishAck(): Promise<void> {
    let positions = this.options.control.positionsRead();
    for (const started of this.uploading.values()) positions = minPositions(positions, started);
    await publishLanderAck(this.options.acks!.redis, this.options.acks!.keys, this.instanceId, positions);
  }

  /** One upload attempt: a purged org's records are gated again with the history as it is now. */
  private async upload(snapshot: CycleSnapshot): Promise<number> {
    const id = this.uploadSeq++;
    const history = this.options.control.history;
    this.uploading.set(id, this.options.control.positionsRead());
    try {
      const gated = withoutPurged(snapshot, (orgId) => history.purgedAt(orgId) !== null, (event) => gate(event, history).collect);
      const current = withoutExpired(gated, oldestKeptBlobDate(Date.now(), this.options.blobRetentionDays));
      return await this.writer.uploadCycle(current);
    } finally {
      this.uploading.delete(id);
    }
  }

  /** Graceful: finish the batch, leave the group, then put what is buffered in storage (no commit). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.consumer.disconnect();
    this.stopping = true;
    const pending = [...this.partitions.values()];
    await Promise.allSettled(
      pending.map((state) => (state.chain = state.chain.then(() => this.upload(state.buffer.snapshot()).then(() => undefined)))),
    ).then((results) => results.forEach((r) => r.status === 'rejected' && log.warn({ err: r.reason }, 'final flush failed')));
    clearInterval(this.ackTimer);
    if (this.options.acks) await removeLanderAck(this.options.acks.redis, this.options.acks.keys, this.instanceId).catch(() => undefined);
  }

  private state(partition: number): PartitionState {
    let state = this.partitions.get(partition);
    if (!state) {
      state = {
        generation: this.generation,
        buffer: new CycleBuffer(this.options.topic, partition, this.options.cycleOffsets),
        sealing: false,
        waitingSince: null,
        flushing: false,
        chain: Promise.resolve(),
      };
      this.partitions.set(partition, state);
    }
    return state;
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale, pause }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const state = this.state(batch.partition);
    if (state.sealing) return; // paused; the unresolved records come again after resume
    const { events, rejected } = decodeRecords(batch.messages, this.options.codec, this.options.maxClockSkewSeconds * 1000);
    await this.options.control.caughtUp();
    // Blobs keep each record as it is on the log (sealed); the gate judges the opened recipient.
    const { opened, failed } = await openRecords(events, {
      keys: this.options.dataKeys,
      history: this.options.control.history,
      waitForControl: () => this.options.control.caughtUp(),
      scope: 'gate',
    });
    const byOffset = new Map(opened.map((r) => [r.offset, r.event]));
    const asOnLog = new Map(events.map((r) => [r.offset, r.event]));
    let consumed = 0;
    for (const message of batch.messages) {
      const offset = Number(message.offset);
      if (state.buffer.completes(offset)) {
        this.seal(state, offset, pause);
        break;
      }
      const event = byOffset.get(offset);
      const decision = event ? gate(event, this.options.control.history) : undefined;
      if (event && decision?.collect) {
        // Written with the current schema: splice its body into the landed record; else re-encode.
        const body = this.options.codec.currentBody(message.value!, event.type);
        const encoded = body
          ? landedRecordFromBody(batch.topic, batch.partition, offset, event.type, body)
          : encodeLandedRecord({ topic: batch.topic, partition: batch.partition, offset, event: asOnLog.get(offset)! });
        state.buffer.add(offset, event, encoded);
        this.stats.collected++;
        state.waitingSince ??= Date.now();
      } else {
        state.buffer.add(offset);
        if (decision && !decision.collect) {
          this.stats.gatedOut[decision.reason]++;
          metrics.gatedOut.inc({ role: 'lander', reason: decision.reason });
        }
      }
      resolveOffset(message.offset);
      consumed++;
    }
    this.stats.records += consumed;
    this.stats.batches++;
    if (failed.length > 0) log.warn({ partition: batch.partition, count: failed.length, code: failed[0]!.error.code }, 'sealed records whose key is unknown skipped (the projector dead-letters them)');
    if (rejected.length > 0) log.debug({ partition: batch.partition, count: rejected.length }, 'unreadable records skipped (the projector dead-letters them)');
    metrics.processed.inc({ role: 'lander' }, consumed);
    await heartbeat();
  }

  /** The buffered cycle is complete: pause, upload every file, commit the next cycle's start, resume. */
  private seal(state: PartitionState, nextOffset: number, pause: () => () => void): void {
    state.sealing = true;
    const resume = pause();
    const snapshot: CycleSnapshot = { ...state.buffer.snapshot(), final: true };
    const nextStart = Math.floor(nextOffset / this.options.cycleOffsets) * this.options.cycleOffsets;
    state.chain = state.chain
      .then(() => this.uploadWithRetry(state, snapshot))
      .then(async () => {
        // A paused partition stays paused across a rebalance: always hand it back.
        if (!this.isCurrent(state)) return resume();
        await this.consumer.commitOffsets([{ topic: this.options.topic, partition: snapshot.partition, offset: String(nextStart) }]);
        state.buffer.reset();
        state.waitingSince = null;
        state.sealing = false;
        resume();
      })
      .catch((err: unknown) => {
        if (isEngagementError(err, 'superseded')) return resume();
        // A failed commit (rebalance in progress) or a storage refusal no retry fixes (credentials):
        // the cycle is re-read from Kafka, so nothing is lost while an operator fixes storage.
        const level = isEngagementError(err, 'storage_unavailable') ? 'error' : 'warn';
        log[level]({ err, partition: snapshot.partition }, 'cycle upload/commit failed; the cycle will be re-read');
        if (this.isCurrent(state)) {
          this.partitions.delete(snapshot.partition);
          this.consumer.seek({ topic: this.options.topic, partition: snapshot.partition, offset: String(snapshot.cycleStart) });
        }
        resume();
      });
  }

  private idleFlush(): void {
    const now = Date.now();
    for (const state of this.partitions.values()) {
      if (state.sealing || state.flushing || state.waitingSince === null) continue;
      if (now - state.waitingSince < this.options.flushSeconds * 1000) continue;
      state.flushing = true;
      const snapshot = state.buffer.snapshot();
      state.chain = state.chain
        .then(() => this.uploadWithRetry(state, snapshot))
        .then(() => {
          if (state.buffer.lastOffset === snapshot.lastOffset) state.waitingSince = null;
          else state.waitingSince = Date.now();
        })
        .catch((err: unknown) => {
          if (!isEngagementError(err, 'superseded')) log.warn({ err }, 'idle flush failed');
        })
        .finally(() => {
          state.flushing = false;
        });
    }
  }

  private isCurrent(state: PartitionState): boolean {
    return !this.stopping && state.generation === this.generation && this.partitions.get(state.buffer.partition) === state;
  }

  /** Storage outages are waited out; an upload a rebalance made moot stops with `superseded`. */
  private async uploadWithRetry(state: PartitionState, snapshot: CycleSnapshot): Promise<void> {
    const written = await withRetry(() => this.upload(snapshot), {
      wanted: () => this.isCurrent(state),
      onRetry: (err, attempt, delay) => {
        this.stats.uploadRetries++;
        metrics.blobRetries.inc();
        log.warn({ err: (err as Error).message, partition: snapshot.partition, attempt, delay }, 'blob upload failed; retrying');
      },
    });
    this.stats.blobsUploaded += written;
    metrics.blobsUploaded.inc(written);
  }
}
