/**
 * Reads the emails topic as fast as kafkajs allows (a private group, large fetches, every
 * partition concurrently) and folds it into one projection version with the projector's own
 * pipeline (`projectBatch`): the version's stored offsets move atomically with its data, so a
 * stopped build resumes exactly. Optional `limit`: per partition, stop before that offset.
 * Dead letters are only counted: the live projector already wrote them.
 */

import { randomBytes } from 'node:crypto';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Redis } from 'ioredis';
import { REPLAY_CONSUMER, REPLAY_MAX_BYTES_PER_PARTITION, replayRun } from '../core/consumer-options.js';
import type { Config } from '../core/config.js';
import { childLogger } from '../core/logger.js';
import type { VersionKeys } from '../projections/keys.js';
import type { ControlReader } from '../processors/control/control-reader.js';
import type { ProcessorKeys } from '../processors/open-records.js';
import { GATE_REASONS, type GateReason } from '../processors/gate/decide.js';
import { EmailMetaLoader } from '../processors/projector/meta-loader.js';
import { projectBatch } from '../processors/projector/project-batch.js';
import type { EventCodec } from '../schemas/codec.js';

const log = childLogger('replay');

export interface BuildCounters {
  records: number;
  collected: number;
  duplicates: number;
  deadLetters: number;
  gatedOut: Record<GateReason, number>;
  batches: number;
}

export interface BuilderOptions {
  kafka: Kafka;
  redis: Redis;
  codec: EventCodec;
  control: ControlReader;
  topic: string;
  groupPrefix: string;
  keys: VersionKeys;
  machineClickSeconds: number;
  historyDays: number;
  maxClockSkewSeconds: number;
  /** partition -> first offset to read (every partition of the topic) */
  start: ReadonlyMap<number, number>;
  orgId?: string;
  /** P:purge:fence: a batch gated before a purge retention fenced is refused and gated again */
  purgeFenceKey?: string;
  /** fetch size per partition (default REPLAY_MAX_BYTES_PER_PARTITION, 1 MiB: smaller batches
   *  overlap the fold of one partition with another's script better than 2 or 4 MiB) */
  maxBytesPerPartition?: number;
  /** the org data keys: sealed events are opened before they are gated, as in the live projector */
  dataKeys?: ProcessorKeys;
  /** test hook / interrupt: called after each applied batch; return true to stop applying */
  afterBatch?: (counters: BuildCounters) => boolean;
}

/** The settings a build shares with the live projector, from the one configuration. */
export function builderSettings(
  config: Pick<Config, 'topicPrefix' | 'machineClickSeconds' | 'historyDays' | 'maxClockSkewSeconds'>,
  topic: string,
): Pick<BuilderOptions, 'topic' | 'groupPrefix' | 'machineClickSeconds' | 'historyDays' | 'maxClockSkewSeconds'> {
  return {
    topic,
    groupPrefix: config.topicPrefix,
    machineClickSeconds: config.machineClickSeconds,
    historyDays: config.historyDays,
    maxClockSkewSeconds: config.maxClockSkewSeconds,
  };
}

export function emptyCounters(): BuildCounters {
  return { records: 0, collected: 0, duplicates: 0, deadLetters: 0, gatedOut: Object.fromEntries(GATE_REASONS.map((r) => [r, 0])) as Record<GateReason, number>, batches: 0 };
}

export class VersionBuilder {
  readonly counters = emptyCounters();
  /** partition -> next offset to apply (= the version's stored offset once applied) */
  readonly positions: Map<number, number>;
  readonly groupId: string;
  private readonly consumer: Consumer;
  private readonly meta: EmailMetaLoader;
  private limit: Map<number, number> | undefined;
  private readonly paused = new Set<number>();
  private halted = false;

  constructor(private readonly options: BuilderOptions) {
    this.positions = new Map(options.start);
    this.groupId = `${options.groupPrefix}.replay.${randomBytes(6).toString('hex')}`;
    this.consumer = options.kafka.consumer({
      groupId: this.groupId,
      ...REPLAY_CONSUMER,
      maxBytesPerPartition: options.maxBytesPerPartition ?? REPLAY_MAX_BYTES_PER_PARTITION,
    });
    this.meta = new EmailMetaLoader(options.redis, options.keys);
  }

  get stopped(): boolean {
    return this.halted;
  }

  async start(): Promise<void> {
    const { topic } = this.options;
    await this.consumer.connect();
    await this.consumer.subscribe({ topic, fromBeginning: true });
    await this.consumer.run({
      ...replayRun(this.positions.size),
      eachBatch: (payload) => this.onBatch(payload),
    });
    for (const [partition, offset] of this.positions) this.consumer.seek({ topic, partition, offset: String(offset) });
  }

  /** Per partition, apply nothing at or after `limit` (verify builds up to the live offsets). */
  setLimit(limit: ReadonlyMap<number, number>): void {
    this.limit = new Map(limit);
    const resume = [...this.paused].filter((p) => (this.positions.get(p) ?? 0) < (this.limit!.get(p) ?? Infinity));
    if (resume.length === 0) return;
    for (const p of resume) this.paused.delete(p);
    this.consumer.resume([{ topic: this.options.topic, partitions: resume }]);
    for (const p of resume) this.consumer.seek({ topic: this.options.topic, partition: p, offset: String(this.positions.get(p) ?? 0) });
  }

  reached(targets: ReadonlyMap<number, number>): boolean {
    for (const [partition, offset] of targets) if ((this.positions.get(partition) ?? 0) < offset) return false;
    return true;
  }

  /** Stops applying, lets the batch in flight finish, leaves the group. */
  async stop(): Promise<void> {
    this.halted = true;
    await this.consumer.disconnect();
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    if (this.halted || !isRunning() || isStale() || batch.messages.length === 0) return;
    const position = this.positions.get(partition) ?? 0;
    const bound = this.limit?.get(partition) ?? Infinity;
    const records = batch.messages.filter((m) => {
      const offset = Number(m.offset);
      return offset >= position && offset < bound;
    });
    if (records.length === 0) {
      if (Number(batch.messages[0]!.offset) > position) this.consumer.seek({ topic, partition, offset: String(position) });
      else if (position >= bound) this.pause(partition);
      return;
    }
    if (this.halted) return;
    const outcome = await projectBatch(
      {
        redis: this.options.redis,
        codec: this.options.codec,
        history: this.options.control.history,
        keys: this.options.keys,
        meta: this.meta,
        machineClickSeconds: this.options.machineClickSeconds,
        expectedStart: (p) => this.options.start.get(p) ?? 0,
        historyDays: this.options.historyDays,
        maxClockSkewSeconds: this.options.maxClockSkewSeconds,
        ...(this.options.orgId !== undefined ? { orgId: this.options.orgId } : {}),
        ...(this.options.purgeFenceKey ? { purgeFenceKey: this.options.purgeFenceKey } : {}),
        ...(this.options.dataKeys ? { dataKeys: this.options.dataKeys } : {}),
      },
      topic,
      partition,
      records,
      () => this.options.control.caughtUp(),
    );
    const next = Number(records[records.length - 1]!.offset) + 1;
    if (!outcome.result.applied) {
      // Another writer of this version (a second builder) fenced it: follow Redis; a purge fenced
      // it: read the batch again (the next attempt waits for the control topic and gates anew).
      const result = outcome.result;
      const stored = result.superseded || result.held || 'purged' in result ? position : (result.storedOffset ?? this.options.start.get(partition) ?? 0);
      log.warn({ partition, stored }, 'replay batch fenced; re-seeking');
      this.positions.set(partition, stored);
      this.consumer.seek({ topic, partition, offset: String(stored) });
      return;
    }
    this.positions.set(partition, next);
    const c = this.counters;
    c.batches++;
    c.records += outcome.records;
    c.collected += outcome.applied;
    c.duplicates += outcome.duplicates;
    c.deadLetters += outcome.deadLetters.length;
    for (const [reason, n] of outcome.gatedOut) c.gatedOut[reason] += n;
    resolveOffset(String(next - 1));
    if (next >= bound) this.pause(partition);
    if (this.options.afterBatch?.(c)) this.halted = true;
    await heartbeat();
  }

  private pause(partition: number): void {
    if (this.paused.has(partition)) return;
    this.paused.add(partition);
    this.consumer.pause([{ topic: this.options.topic, partitions: [partition] }]);
  }
}
