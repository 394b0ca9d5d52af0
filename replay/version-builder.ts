/**
 * Reads the emails topic as fast as kafkajs allows (a private group, large fetches, every
 * partition concurrently) and folds it into one projection version. Optional `limit`: per
 * partition, stop before that offset. Dead letters are only counted: the live projector already
 * wrote them. Two write paths, the same fold (processors/projector/fold.ts) and gate:
 *   - fresh (`fresh: true`, the version holds nothing yet): the batches' Deltas are merged in
 *     memory (projections/projector/fold-state.ts: first-time flags, click bursts, min/max, expiries and
 *     de-duplication decided in Node) and written every FLUSH_RECORDS records, and whenever the
 *     build reaches its limit, as final values, each key once per write, in one MULTI with the
 *     offsets of every partition (projections/projector/write-state.ts). A write is not waited
 *     for: Redis applies it while the next batches fold (measured: the fold's process was idle
 *     a fifth of a 1M-record build, waiting for each write);
 *   - resumed: the projector's own per-batch pipeline (`projectBatch`, apply-batch.lua), which
 *     reads what is already in the version.
 * A fresh build whose fold outgrows its memory budget (replay/fold-budget.ts) writes what it folded
 * and goes on as a resumed one: it "spills" once, and its result is the same.
 * Either way the version's stored offsets move atomically with its data, so a stopped build
 * resumes exactly; `positions` are those stored offsets.
 */

import { randomBytes } from 'node:crypto';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Redis } from 'ioredis';
import { REPLAY_CONSUMER, REPLAY_MAX_BYTES_PER_PARTITION, replayRun } from '../core/consumer-options.js';
import type { Config } from '../core/config.js';
import { childLogger } from '../core/logger.js';
import type { VersionKeys } from '../projections/keys.js';
import type { ControlReader } from '../processors/control/control-reader.js';
import { openRecords, type ProcessorKeys } from '../processors/open-records.js';
import { GATE_REASONS, type GateReason } from '../processors/gate/decide.js';
import { EmailMetaLoader } from '../processors/projector/meta-loader.js';
import { projectBatch, type BatchOutcome, type BatchTarget } from '../processors/projector/project-batch.js';
import { decodeRecords } from '../processors/decode-records.js';
import { gateBatch, refusedByReason } from '../processors/gate/gate-batch.js';
import type { EmailMeta } from '../processors/projector/email-meta.js';
import { foldCollected, seenKeys } from './fresh-fold.js';
import { FoldState } from '../projections/projector/fold-state.js';
import { HeldFlags } from '../projections/projector/held-flags.js';
import { writeDrained } from '../projections/projector/write-state.js';
import { EngagementError } from '../core/errors.js';
import type { EventCodec } from '../schemas/codec.js';
import { foldBudget, type FoldBudget } from './fold-budget.js';
import { recordSlices } from '../core/record-slices.js';

const log = childLogger('replay');

export interface BuildCounters {
  records: number;
  collected: number;
  duplicates: number;
  deadLetters: number;
  gatedOut: Record<GateReason, number>;
  /** fetched batches folded in memory, then apply scripts (one per slice) once per batch */
  batches: number;
  /** records a fresh build had folded in memory when it outgrew its budget and went on per batch (null: it never did) */
  foldSpilledAt: number | null;
  /** a fresh build's writes of what it folded, and the most records one of them covered */
  foldWrites: number;
  largestFoldWrite: number;
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
  /** the version holds nothing yet (not a resumed build): fold in memory, write each key once */
  fresh?: boolean;
  /** how much heap the fresh fold may fill (default: REPLAY_FOLD_MAX_MB's default, half the heap limit) */
  foldBudget?: FoldBudget;
  /** records folded between two writes of a fresh build (default FLUSH_RECORDS; tests write often) */
  flushRecords?: number;
}

/** Records folded in memory between two writes of a fresh build (bounds the MULTI and the pending counters). */
export const FLUSH_RECORDS = 250_000;
/** Fetch sizes of a fresh build: every batch waits for one control check, so fewer, larger ones. */
const FRESH_MAX_BYTES_PER_PARTITION = 4 << 20;
const FRESH_MAX_BYTES = 64 << 20;
const WRITE_RETRIES = 3;
const DAY_MS = 86_400_000;

/** The settings a build shares with the live projector, from the one configuration. */
export function builderSettings(
  config: Pick<Config, 'topicPrefix' | 'machineClickSeconds' | 'historyDays' | 'maxClockSkewSeconds' | 'replayFoldMaxMb'>,
  topic: string,
): Pick<BuilderOptions, 'topic' | 'groupPrefix' | 'machineClickSeconds' | 'historyDays' | 'maxClockSkewSeconds' | 'foldBudget'> {
  return {
    topic,
    groupPrefix: config.topicPrefix,
    machineClickSeconds: config.machineClickSeconds,
    historyDays: config.historyDays,
    maxClockSkewSeconds: config.maxClockSkewSeconds,
    foldBudget: foldBudget(config.replayFoldMaxMb),
  };
}

export function emptyCounters(): BuildCounters {
  return { records: 0, collected: 0, duplicates: 0, deadLetters: 0, gatedOut: Object.fromEntries(GATE_REASONS.map((r) => [r, 0])) as Record<GateReason, number>, batches: 0, foldSpilledAt: null, foldWrites: 0, largestFoldWrite: 0 };
}

/**
 * Awaits `work` while telling the group this member is alive. A write of 250,000 folded records
 * (or a spill) can outlast the session timeout on a busy machine, and the group then drops the
 * member (measured: a 1M-record fold replay's consumer was dropped mid-build, and that build then
 * made no progress for 15 minutes; with these heartbeats the same run was not dropped).
 */
async function beating<T>(heartbeat: () => Promise<void>, work: Promise<T>): Promise<T> {
  const timer = setInterval(() => void heartbeat().catch(() => undefined), REPLAY_CONSUMER.heartbeatInterval);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

export class VersionBuilder {
  readonly counters = emptyCounters();
  /** partition -> next offset to apply (= the version's stored offset once applied) */
  readonly positions: Map<number, number>;
  readonly groupId: string;
  private readonly consumer: Consumer;
  private readonly meta: EmailMetaLoader;
  /** the per-batch path's flags of emails past the horizon (held-flags.ts); the fold holds its own until a spill */
  private readonly held = new HeldFlags();
  /** what the per-batch path (a resumed or spilled build) writes with, as the live projector */
  private readonly target: BatchTarget;
  private limit: Map<number, number> | undefined;
  private readonly paused = new Set<number>();
  private halted = false;
  // fresh builds only, until the fold spills (then undefined: the build goes on per batch)
  private state: FoldState | undefined;
  private readonly budget: FoldBudget;
  /** fresh batches between their fold and its merge: a spill writes only once none is */
  private foldsInFlight = 0;
  private foldsSettled: (() => void) | undefined;
  private spilling: Promise<void> | undefined;
  /** partition -> next offset folded in memory (ahead of `positions` until the next write) */
  private readonly folded: Map<number, number>;
  /** every first EmailSent folded: the fold's email meta (an email's events share its partition) */
  private readonly metas = new Map<string, EmailMeta>();
  private readonly seenKey: (occurredAtMs: number) => string;
  /** orgId -> the smallest purgedAt its gate knew (-1 for none) since the last write */
  private purgesKnown = new Map<string, number>();
  private sinceWrite = 0;
  private readonly flushRecords: number;
  private writing: Promise<void> = Promise.resolve();
  /** a write is chained and has not drained yet: what is folded now goes with it */
  private writeQueued = false;
  /** the write the queued one waits for */
  private queuedAfter: Promise<void> = Promise.resolve();
  private writer: Redis | undefined;
  private failure: Error | undefined;

  constructor(private readonly options: BuilderOptions) {
    this.positions = new Map(options.start);
    this.folded = new Map(options.start);
    if (options.fresh) this.state = new FoldState();
    this.budget = options.foldBudget ?? foldBudget(0);
    this.flushRecords = options.flushRecords ?? FLUSH_RECORDS;
    this.seenKey = seenKeys(options.keys);
    this.groupId = `${options.groupPrefix}.replay.${randomBytes(6).toString('hex')}`;
    this.consumer = options.kafka.consumer({
      groupId: this.groupId,
      ...REPLAY_CONSUMER,
      // A fresh build's batch size costs no script time: large fetches, fewer control checks.
      ...(options.fresh ? { maxBytes: FRESH_MAX_BYTES } : {}),
      maxBytesPerPartition: options.maxBytesPerPartition ?? (options.fresh ? FRESH_MAX_BYTES_PER_PARTITION : REPLAY_MAX_BYTES_PER_PARTITION),
    });
    this.meta = new EmailMetaLoader(options.redis, options.keys, undefined, options.historyDays * (DAY_MS / 1000));
    this.target = {
      redis: options.redis,
      codec: options.codec,
      history: options.control.history,
      keys: options.keys,
      meta: this.meta,
      machineClickSeconds: options.machineClickSeconds,
      expectedStart: (p) => options.start.get(p) ?? 0,
      historyDays: options.historyDays,
      maxClockSkewSeconds: options.maxClockSkewSeconds,
      ...(options.orgId !== undefined ? { orgId: options.orgId } : {}),
      ...(options.purgeFenceKey ? { purgeFenceKey: options.purgeFenceKey } : {}),
      ...(options.dataKeys ? { dataKeys: options.dataKeys } : {}),
      held: this.held,
    };
  }

  get stopped(): boolean {
    return this.halted;
  }

  async start(): Promise<void> {
    const { topic } = this.options;
    if (this.state) {
      this.writer = this.options.redis.duplicate();
      await this.writer.ping();
    }
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
    this.check();
    this.limit = new Map(limit);
    if (this.state && this.atLimit()) void this.writeFolded();
    const resume = [...this.paused].filter((p) => this.next(p) < (this.limit!.get(p) ?? Infinity));
    if (resume.length === 0) return;
    for (const p of resume) this.paused.delete(p);
    this.consumer.resume([{ topic: this.options.topic, partitions: resume }]);
    for (const p of resume) this.consumer.seek({ topic: this.options.topic, partition: p, offset: String(this.next(p)) });
  }

  /**
   * Partitions the build has read past `targets`: folded, whether written yet or not (a fresh
   * build's writes trail its fold), so a pending write cannot store offsets beyond them.
   */
  aheadOf(targets: ReadonlyMap<number, number>): number[] {
    return [...targets].filter(([partition, offset]) => this.next(partition) > offset).map(([partition]) => partition);
  }

  /** Every target offset is stored (written with its data). */
  reached(targets: ReadonlyMap<number, number>): boolean {
    this.check();
    for (const [partition, offset] of targets) if ((this.positions.get(partition) ?? 0) < offset) return false;
    return true;
  }

  /** Throws what stopped a fresh build's writes (a fence, Redis). */
  check(): void {
    if (this.failure) throw this.failure;
  }

  /** Stops applying, lets the batch in flight finish, leaves the group; a fresh build writes what it folded. */
  async stop(): Promise<void> {
    this.halted = true;
    await this.consumer.disconnect();
    if (this.state) {
      await this.writeFolded();
      this.writer?.disconnect();
      this.writer = undefined;
      this.check();
    }
  }

  /**
   * Records read to `targets` still to read: from where folding is, ahead of the stored positions
   * until the next write (progress counts records folded, so a lag from the positions counted them twice).
   */
  lagTo(targets: ReadonlyMap<number, number>): number {
    let lag = 0;
    for (const [partition, target] of targets) lag += Math.max(0, target - this.next(partition));
    return lag;
  }

  /** Where the partition's next record to fold is. */
  private next(partition: number): number {
    return (this.state ? this.folded : this.positions).get(partition) ?? 0;
  }

  private atLimit(): boolean {
    if (!this.limit) return false;
    for (const [partition, offset] of this.folded) if (offset < (this.limit.get(partition) ?? Infinity)) return false;
    return true;
  }

  /**
   * Everything folded so far is written once this settles: by the write already queued (it drains
   * when it starts), else by a new one. At most one write waits behind the one in flight.
   */
  private writeFolded(): Promise<void> {
    return this.writeQueued ? this.writing : this.write();
  }

  /**
   * Writes what was folded since the last write, with every partition's folded offset. Serialised;
   * what it writes is taken synchronously, so batches folded meanwhile go with the next write.
   */
  private write(): Promise<void> {
    this.writeQueued = true;
    this.queuedAfter = this.writing;
    this.writing = this.writing.then(async () => {
      this.writeQueued = false;
      const state = this.state;
      if (!state) return; // spilled: the per-batch path writes with each batch
      const next = new Map(this.folded);
      const unchanged = [...next].every(([p, o]) => this.positions.get(p) === o);
      if ((state.idle && unchanged) || this.failure || !this.writer) return;
      const drained = state.drain();
      this.counters.foldWrites++;
      this.counters.largestFoldWrite = Math.max(this.counters.largestFoldWrite, this.sinceWrite);
      const purges = this.purgesKnown;
      this.purgesKnown = new Map();
      this.sinceWrite = 0;
      const write = {
        offsetsKey: this.options.keys.offsets(this.options.topic),
        expected: new Map(this.positions),
        start: this.options.start,
        next,
        ...(this.options.purgeFenceKey ? { fence: { key: this.options.purgeFenceKey, orgs: purges } } : {}),
      };
      let result = await writeDrained(this.writer, drained, write);
      // A watched key changed between the check and EXEC (e.g. retention fenced another org's
      // purge): nothing was written; check and write again.
      for (let retry = 0; retry < WRITE_RETRIES && !result.written && result.reason === 'raced'; retry++) {
        result = await writeDrained(this.writer, drained, write);
      }
      if (!result.written) {
        // Nothing was written; what was folded is lost with this build: a new run resumes from
        // the stored offsets with the per-batch pipeline, which re-reads, re-gates and re-fences.
        const why =
          result.reason === 'purged'
            ? `retention fenced a purge of organisation ${result.orgId} during the replay`
            : result.reason === 'offsets'
              ? `another writer moved partition ${result.partition} of the version to ${String(result.stored)}`
              : 'another writer changed the version during the write';
        throw new EngagementError('conflict', `${why}; run the replay again to resume it`, { retriable: true });
      }
      for (const [p, o] of next) this.positions.set(p, o);
    }).catch((error: unknown) => {
      this.failure ??= error as Error;
      this.halted = true;
    });
    return this.writing;
  }

  /** A fresh build's batch: decode, gate, de-duplicate and fold in memory; write at the thresholds. */
  private async foldBatch(partition: number, records: EachBatchPayload['batch']['messages']): Promise<void> {
    const o = this.options;
    const decoded = decodeRecords(records, o.codec, o.maxClockSkewSeconds * 1000);
    await o.control.caughtUp();
    if (this.halted) return;
    const mine = o.orgId === undefined ? decoded.events : decoded.events.filter((r) => r.event.orgId === o.orgId);
    // The same single decryption point as the per-batch path: a purged org's records stay sealed and are gated out.
    const { opened, failed } = await openRecords(mine, { keys: o.dataKeys, history: o.control.history, waitForControl: () => o.control.caughtUp(), scope: 'projection' });
    const { collected, refused } = gateBatch(opened, o.control.history);
    // What the gate knew of each org's purge, in the same tick as the gate (the write's purge fence).
    const orgs = new Set<string>();
    for (const { event } of collected) orgs.add(event.orgId);
    for (const orgId of orgs) {
      const known = o.control.history.purgedAt(orgId) ?? -1;
      const before = this.purgesKnown.get(orgId);
      if (before === undefined || known < before) this.purgesKnown.set(orgId, known);
    }
    const fresh = foldCollected(
      {
        state: this.state!,
        metas: this.metas,
        keys: o.keys,
        machineClickSeconds: o.machineClickSeconds,
        historyDays: o.historyDays,
        seenKey: this.seenKey,
        purgedAt: (orgId) => o.control.history.purgedAt(orgId),
      },
      collected,
      Math.floor(Date.now() / 1000),
    );
    this.folded.set(partition, Number(records[records.length - 1]!.offset) + 1);
    this.sinceWrite += records.length;
    const c = this.counters;
    c.batches++;
    c.records += records.length;
    c.collected += fresh.length;
    c.duplicates += collected.length - fresh.length;
    c.deadLetters += decoded.rejected.length + failed.length;
    for (const [reason, n] of refusedByReason(refused)) c.gatedOut[reason] += n;
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    if (this.halted || !isRunning() || isStale() || batch.messages.length === 0) return;
    const position = this.next(partition);
    const bound = this.limit?.get(partition) ?? Infinity;
    const records = batch.messages.filter((m) => {
      const offset = Number(m.offset);
      return offset >= position && offset < bound;
    });
    if (records.length === 0) {
      // Past the limit: wait there. Anywhere else (after the group dropped this member and it
      // joined again, kafkajs fetches from the log start: the build keeps no committed offsets) go
      // where the build is, rather than read the whole log up to it again.
      if (position >= bound) this.pause(partition);
      else this.consumer.seek({ topic, partition, offset: String(position) });
      return;
    }
    if (this.halted) return;
    if (this.state) {
      if (this.spilling) {
        // the fold is being written out: this batch goes per batch, from where the write leaves it
        await beating(heartbeat, this.spilling);
        return this.onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale } as EachBatchPayload);
      }
      this.foldsInFlight++;
      try {
        await this.foldBatch(partition, records);
      } finally {
        if (--this.foldsInFlight === 0) this.foldsSettled?.();
      }
      const next = this.folded.get(partition) ?? 0;
      resolveOffset(String(next - 1));
      if (next >= bound) this.pause(partition);
      if (this.options.afterBatch?.(this.counters)) this.halted = true;
      // Not awaited: Redis applies one write while the next batches are folded (one write queued
      // at a time; what is folded meanwhile goes with the next). The runner waits for `reached`.
      if (this.sinceWrite >= 2 * this.flushRecords && this.writeQueued) {
        // The queued write has not started (one is in flight) and holds two windows already: wait
        // until it takes what is folded, so no write holds much more than that and the batches
        // folding concurrently, however slow Redis is.
        await beating(heartbeat, this.queuedAfter);
      }
      if ((this.sinceWrite >= this.flushRecords || this.atLimit()) && !this.writeQueued) void this.write();
      else if (this.budget.heapUsed() > this.budget.maxBytes) await beating(heartbeat, this.spill());
      await heartbeat();
      return;
    }
    // One script per slice of the resumed build's batch size, whatever the fetch size (a spilled fold's are larger).
    let from = position;
    for (const slice of recordSlices(records, this.options.maxBytesPerPartition ?? REPLAY_MAX_BYTES_PER_PARTITION)) {
      if (this.halted || !isRunning() || isStale()) return;
      const outcome = await projectBatch(
        this.target,
        topic,
        partition,
        slice,
        () => this.options.control.caughtUp(),
      );
      const next = Number(slice[slice.length - 1]!.offset) + 1;
      if (outcome.failure !== undefined) {
        // the runs before the failed one are applied: counted, read on from where they end, then fail as a batch would
        this.count(outcome);
        this.positions.set(partition, outcome.reached);
        resolveOffset(String(outcome.reached - 1));
        throw outcome.failure;
      }
      if (!outcome.result.applied) {
        // The runs before a refused one (horizon-runs.ts) are applied: they count, and from is where they end.
        if (outcome.reached > Number(slice[0]!.offset)) {
          this.count(outcome);
          from = outcome.reached;
          resolveOffset(String(from - 1));
        }
        // Another writer of this version (a second builder) fenced it: follow Redis; a purge fenced
        // it: read the slice again (the next attempt waits for the control topic and gates anew).
        const result = outcome.result;
        const stored = result.superseded || result.held || 'purged' in result ? from : (result.storedOffset ?? this.options.start.get(partition) ?? 0);
        log.warn({ partition, stored }, 'replay batch fenced; re-seeking');
        this.positions.set(partition, stored);
        this.consumer.seek({ topic, partition, offset: String(stored) });
        return;
      }
      this.positions.set(partition, next);
      from = next;
      this.count(outcome);
      resolveOffset(String(next - 1));
      if (next >= bound) this.pause(partition);
      if (this.options.afterBatch?.(this.counters)) this.halted = true;
      await heartbeat();
    }
  }

  private count(outcome: BatchOutcome): void {
    const c = this.counters;
    c.batches++;
    c.records += outcome.records;
    c.collected += outcome.applied;
    c.duplicates += outcome.duplicates;
    c.deadLetters += outcome.deadLetters.length;
    for (const [reason, n] of outcome.gatedOut) c.gatedOut[reason] += n;
  }

  /**
   * The fold outgrew its budget: write everything folded (the batches of other partitions being
   * folded now included), then drop the in-memory state and go on per batch. Once per build.
   */
  private spill(): Promise<void> {
    this.spilling ??= (async () => {
      while (this.foldsInFlight > 0) await new Promise<void>((resolve) => (this.foldsSettled = resolve));
      this.foldsSettled = undefined;
      const heapUsed = this.budget.heapUsed();
      await this.writeFolded();
      if (this.failure) return; // the build stops with it (check())
      this.counters.foldSpilledAt = this.counters.records;
      this.held.add(this.state!.heldFlags());
      this.state = undefined;
      // The per-batch path reads email meta from Redis, which the write just filled, except for
      // emails past the horizon: the fold dropped their hashes but still attributes their events.
      const now = Math.floor(Date.now() / 1000);
      const horizon = this.options.historyDays * (DAY_MS / 1000);
      const gone = new Map<string, EmailMeta>();
      for (const [key, meta] of this.metas) if (Math.floor(meta.sentAt / 1000) + horizon <= now) gone.set(key, meta);
      this.meta.pin(gone);
      this.metas.clear();
      this.writer?.disconnect();
      this.writer = undefined;
      log.warn(
        { records: this.counters.records, heapUsedMiB: Math.round(heapUsed / 1_048_576), budgetMiB: Math.round(this.budget.maxBytes / 1_048_576) },
        'the in-memory fold reached its memory budget (REPLAY_FOLD_MAX_MB): what it folded is written; the rest of the replay goes per batch',
      );
    })();
    return this.spilling;
  }

  private pause(partition: number): void {
    if (this.paused.has(partition)) return;
    this.paused.add(partition);
    this.consumer.pause([{ topic: this.options.topic, partitions: [partition] }]);
  }
}
