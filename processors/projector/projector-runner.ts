/**
 * The KPI projector: a thin runner around the pure gate and fold. Redis is the truth for its
 * position: each batch's delta and `offsets:<topic>` move together in one Lua script fenced on
 * the batch's first offset, and on every assignment the consumer seeks to the stored offsets.
 * Kafka commits are only a hint for lag dashboards.
 * With `follow`, the runner follows `P:proj:current`: once a replay switched it to another
 * version, the apply script refuses the batch, and the runner moves its keys to the current
 * version and seeks every assigned partition to that version's stored offsets.
 */

import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Redis } from 'ioredis';
import { PROCESSOR_CONSUMER, PROCESSOR_RUN } from '../../core/consumer-options.js';
import { childLogger } from '../../core/logger.js';
import { readCurrentVersion } from '../../projections/current-version.js';
import type { Keys, VersionKeys } from '../../projections/keys.js';
import { readStoredOffsets } from '../../projections/projector/apply-batch.js';
import type { EventCodec } from '../../schemas/codec.js';
import type { ControlReader } from '../control/control-reader.js';
import { DeadLetterWriter } from '../dead-letter.js';
import { metrics } from '../metrics.js';
import { emptyStats, type RoleStats } from '../stats.js';
import { EmailMetaLoader } from './meta-loader.js';
import { projectBatch } from './project-batch.js';

const log = childLogger('projector');
const HINT_COMMIT_INTERVAL_MS = 2000;

export interface ProjectorOptions {
  kafka: Kafka;
  redis: Redis;
  keys: VersionKeys;
  codec: EventCodec;
  control: ControlReader;
  topic: string;
  deadLetterTopic: string;
  groupId: string;
  machineClickSeconds: number;
  maxClockSkewSeconds: number;
  /** follow the current-version pointer (`keys` is then the version current at start) */
  follow?: Keys;
}

export class ProjectorRunner {
  readonly stats: RoleStats = emptyStats();
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private readonly deadLetters: DeadLetterWriter;
  private keys: VersionKeys;
  private meta: EmailMetaLoader;
  private assigned: readonly number[] = [];
  private switching: Promise<void> | undefined;
  /** partition -> next offset to apply, per assignment generation */
  private positions = new Map<number, number>();
  private seekIssued = new Set<number>();
  private lastHint = new Map<number, number>();

  constructor(private readonly options: ProjectorOptions) {
    this.consumer = options.kafka.consumer({ groupId: options.groupId, ...PROCESSOR_CONSUMER });
    this.admin = options.kafka.admin();
    this.deadLetters = new DeadLetterWriter(options.kafka, options.deadLetterTopic);
    this.keys = options.keys;
    this.meta = new EmailMetaLoader(options.redis, options.keys);
  }

  async start(): Promise<void> {
    await Promise.all([this.admin.connect(), this.deadLetters.connect(), this.consumer.connect()]);
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      const partitions = payload.memberAssignment[this.options.topic] ?? [];
      this.assigned = partitions;
      this.positions = new Map();
      this.seekIssued = new Set();
      void this.seekToStored(partitions).catch((err: unknown) => log.warn({ err }, 'seek after join failed; batches will re-seek'));
    });
    await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
    await this.consumer.run({
      ...PROCESSOR_RUN,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  /** Graceful: kafkajs lets the batch in progress finish (and apply) before leaving the group. */
  async stop(): Promise<void> {
    await this.consumer.disconnect();
    await Promise.all([this.deadLetters.disconnect(), this.admin.disconnect()]);
  }

  private async seekToStored(partitions: readonly number[]): Promise<void> {
    const stored = await readStoredOffsets(this.options.redis, this.keys.offsets(this.options.topic));
    const earliest = stored.size < partitions.length ? await this.lowWatermarks() : new Map<number, number>();
    for (const partition of partitions) {
      const offset = stored.get(partition) ?? earliest.get(partition) ?? 0;
      this.positions.set(partition, offset);
      this.seekIssued.add(partition);
      this.consumer.seek({ topic: this.options.topic, partition, offset: String(offset) });
    }
  }

  private async lowWatermarks(): Promise<Map<number, number>> {
    const offsets = await this.admin.fetchTopicOffsets(this.options.topic);
    return new Map(offsets.map((o) => [o.partition, Number(o.low)]));
  }

  private async positionOf(partition: number): Promise<number> {
    const known = this.positions.get(partition);
    if (known !== undefined) return known;
    const stored = (await readStoredOffsets(this.options.redis, this.keys.offsets(this.options.topic))).get(partition);
    const position = stored ?? (await this.lowWatermarks()).get(partition) ?? 0;
    this.positions.set(partition, position);
    return position;
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const position = await this.positionOf(partition);
    const first = Number(batch.messages[0]!.offset);
    if (first > position && !this.seekIssued.has(partition)) {
      // Kafka's committed offset is ahead of Redis (e.g. Redis lost or a new projection version): re-read.
      this.seekIssued.add(partition);
      this.consumer.seek({ topic, partition, offset: String(position) });
      return;
    }
    const records = batch.messages.filter((m) => Number(m.offset) >= position);
    const last = Number(batch.messages[batch.messages.length - 1]!.offset);
    if (records.length === 0) {
      resolveOffset(String(last));
      return;
    }

    const keys = this.keys;
    const outcome = await projectBatch(
      {
        redis: this.options.redis,
        codec: this.options.codec,
        history: this.options.control.history,
        keys,
        meta: this.meta,
        machineClickSeconds: this.options.machineClickSeconds,
        maxClockSkewSeconds: this.options.maxClockSkewSeconds,
        ...(this.options.follow ? { currentVersionKey: this.options.follow.currentVersion() } : {}),
      },
      topic,
      partition,
      records,
      () => this.options.control.caughtUp(),
      (rejected) => this.deadLetters.send(rejected, { topic, partition, group: this.options.groupId }),
    );
    const { result } = outcome;
    if (!result.applied && result.superseded) {
      log.info({ partition, from: keys.v, to: result.currentVersion }, 'projection version switched by a replay; following it');
      await this.followCurrent();
      return;
    }
    if (this.keys !== keys) return; // switched while this batch ran (it was applied to the old version)
    if (!result.applied) {
      // Another instance applied past this batch (rebalance race): follow the truth in Redis.
      this.stats.fenceConflicts++;
      metrics.fenceConflicts.inc();
      log.info({ partition, firstOffset: Number(records[0]!.offset), storedOffset: result.storedOffset }, 'batch fenced; re-seeking to the stored offset');
      this.positions.set(partition, result.storedOffset);
      this.seekIssued.add(partition);
      this.consumer.seek({ topic, partition, offset: String(result.storedOffset) });
      return;
    }
    this.positions.set(partition, last + 1);
    this.count(outcome.records, outcome.applied, outcome.duplicates, outcome.gatedOut, outcome.deadLetters.length);
    resolveOffset(String(last));
    await this.commitHint(topic, partition, last + 1);
    await heartbeat();
  }

  /** Moves to the version `P:proj:current` names and re-seeks every assigned partition to its stored offsets. */
  private followCurrent(): Promise<void> {
    this.switching ??= (async () => {
      const follow = this.options.follow!;
      const current = await readCurrentVersion(this.options.redis, follow);
      if (current !== this.keys.v) {
        this.keys = follow.version(current);
        this.meta = new EmailMetaLoader(this.options.redis, this.keys);
        log.info({ version: current }, 'projector now writes to the current projection version');
      }
      this.positions = new Map();
      this.seekIssued = new Set();
      await this.seekToStored(this.assigned);
    })().finally(() => {
      this.switching = undefined;
    });
    return this.switching;
  }

  private count(records: number, applied: number, duplicates: number, rejected: Map<keyof RoleStats['gatedOut'], number>, dead: number): void {
    const s = this.stats;
    s.batches++;
    s.records += records;
    s.collected += applied;
    s.duplicates += duplicates;
    s.deadLettered += dead;
    metrics.processed.inc({ role: 'projector' }, records);
    if (duplicates > 0) metrics.duplicates.inc(duplicates);
    for (const [reason, n] of rejected) {
      s.gatedOut[reason] += n;
      metrics.gatedOut.inc({ role: 'projector', reason }, n);
    }
  }

  private async commitHint(topic: string, partition: number, offset: number): Promise<void> {
    const now = Date.now();
    if (now - (this.lastHint.get(partition) ?? 0) < HINT_COMMIT_INTERVAL_MS) return;
    this.lastHint.set(partition, now);
    await this.consumer.commitOffsets([{ topic, partition, offset: String(offset) }]).catch((err: unknown) => {
      log.debug({ err, partition }, 'offset hint not committed (rebalancing?)');
    });
  }
}
