/**
 * The KPI projector: a thin runner around the pure gate and fold. Redis is the truth for its
 * position: each batch's delta and `offsets:<topic>` move together in one Lua script fenced on
 * the batch's first offset (two-sided: the batch must start exactly where the version ends), and
 * on every assignment the consumer seeks to the stored offsets. Kafka commits are only a hint for
 * lag dashboards.
 *
 * Redis can lose writes (FLUSHDB, a failover to a replica that lagged): the fence refuses the next
 * batch, and a watchdog notices it while no traffic flows. Either way the runner says so (log,
 * `engagement_projector_rebuilds_total`) and re-reads the log from what Redis still holds — the
 * stored offsets, or the log start when none is left — so the projection is rebuilt, never gapped.
 *
 * With `follow`, the runner follows `P:proj:current`: once a replay switched it, the apply script
 * refuses the batch (and the watchdog sees it while idle), and the runner moves to the current
 * version at its stored offsets. While a replay holds the projection to switch it, batches wait.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Redis } from 'ioredis';
import { PROCESSOR_RUN, PROJECTOR_CONSUMER } from '../../core/consumer-options.js';
import { childLogger } from '../../core/logger.js';
import { readTopicOffsets, startsOf } from '../../core/topic-offsets.js';
import { FIRST_PROJECTION_VERSION, parseCurrentVersion, readCurrentVersion, restoreCurrentVersion } from '../../projections/current-version.js';
import { PACKED, type Keys, type VersionKeys } from '../../projections/keys.js';
import { advanceStoredOffset, readStoredOffsets } from '../../projections/projector/apply-batch.js';
import { markPackedIfEmpty, packedLevel } from '../../projections/packed-rollups.js';
import type { EventCodec } from '../../schemas/codec.js';
import type { ControlReader } from '../control/control-reader.js';
import { DeadLetterWriter } from '../dead-letter.js';
import { metrics } from '../metrics.js';
import { emptyStats, type RoleStats } from '../stats.js';
import { EmailMetaLoader } from './meta-loader.js';
import type { ProcessorKeys } from '../open-records.js';
import { projectBatch } from './project-batch.js';

const log = childLogger('projector');
const HINT_COMMIT_INTERVAL_MS = 2000;
/** How often an idle projector checks that Redis still holds what it applied, and the version pointer. */
export const WATCH_INTERVAL_MS = 1000;
/** How long a batch waits before trying again while a replay holds the projection. */
const HOLD_RETRY_MS = 50;

export type RebuildReason = 'offsets_missing' | 'offsets_behind' | 'pointer_missing';

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
  historyDays: number;
  maxClockSkewSeconds: number;
  /** follow the current-version pointer (`keys` is then the version current at start) */
  follow?: Keys;
  /** P:purge:fence: batches gated before a purge retention fenced are refused and gated again */
  purgeFenceKey?: string;
  watchIntervalMs?: number;
  /** the org data keys (processors/open-records.ts) */
  dataKeys?: ProcessorKeys;
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
  /** partitions whose position Redis has confirmed (stored, or a batch applied): a missing offset there is a loss */
  private confirmed = new Set<number>();
  /** partition -> log start offset, where a version with nothing stored begins */
  private logStarts = new Map<number, number>();
  private seekIssued = new Set<number>();
  private lastHint = new Map<number, number>();
  /** versions whose packed marker was looked at (an unmarked one is logged once) */
  private readonly packedChecked = new Set<number>();
  private watchdog: NodeJS.Timeout | undefined;
  private watching: Promise<void> | undefined;
  /**
   * The seek after a group join. Batches wait for it: on an empty version it marks the month
   * hashes (markPackedIfEmpty), whose scan must not see a batch applied meanwhile — on a Redis
   * holding many keys the scan is slow, and the version stayed unmarked (reads from day hashes).
   */
  private joinSeek: Promise<void> = Promise.resolve();

  constructor(private readonly options: ProjectorOptions) {
    this.consumer = options.kafka.consumer({ groupId: options.groupId, ...PROJECTOR_CONSUMER });
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
      this.resetPositions();
      this.joinSeek = this.seekToStored(partitions).catch((err: unknown) => log.warn({ err }, 'seek after join failed; batches will re-seek'));
    });
    await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
    await this.consumer.run({
      ...PROCESSOR_RUN,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.watchdog = setInterval(() => {
      this.watching ??= this.watch()
        .catch((err: unknown) => log.debug({ err }, 'projection watch failed; trying again'))
        .finally(() => {
          this.watching = undefined;
        });
    }, this.options.watchIntervalMs ?? WATCH_INTERVAL_MS);
    this.watchdog.unref();
  }

  /** Graceful: kafkajs lets the batch in progress finish (and apply) before leaving the group. */
  async stop(): Promise<void> {
    clearInterval(this.watchdog);
    await this.watching;
    await this.consumer.disconnect();
    await Promise.all([this.deadLetters.disconnect(), this.admin.disconnect()]);
  }

  private resetPositions(): void {
    this.positions = new Map();
    this.confirmed = new Set();
    this.seekIssued = new Set();
  }

  private async seekToStored(partitions: readonly number[]): Promise<void> {
    const stored = await readStoredOffsets(this.options.redis, this.keys.offsets(this.options.topic));
    if (stored.size === 0) await markPackedIfEmpty(this.options.redis, this.keys);
    else if (!this.packedChecked.has(this.keys.v)) {
      this.packedChecked.add(this.keys.v);
      const level = await packedLevel(this.options.redis, this.keys);
      if (level < PACKED.all) {
        const what =
          level < PACKED.contacts
            ? `predates month hashes: its ${level < PACKED.rollups ? 'org, sender, template and contact' : 'contact'} KPI reads use its day hashes (slower)`
            : 'predates contact hours: its best time to email also counts the opens it projected before them, past the horizon too,';
        log.warn({ version: this.keys.v, packed: level }, `this projection version ${what} until \`engagement replay --yes\` rebuilds it`);
      }
    }
    const starts = stored.size < partitions.length ? await this.refreshLogStarts() : this.logStarts;
    for (const partition of partitions) {
      const offset = stored.get(partition) ?? starts.get(partition) ?? 0;
      if (stored.has(partition)) this.confirmed.add(partition);
      this.seekTo(partition, offset);
    }
  }

  private seekTo(partition: number, offset: number): void {
    this.positions.set(partition, offset);
    this.seekIssued.add(partition);
    this.consumer.seek({ topic: this.options.topic, partition, offset: String(offset) });
  }

  private async refreshLogStarts(): Promise<Map<number, number>> {
    this.logStarts = startsOf(await readTopicOffsets(this.admin, this.options.topic));
    return this.logStarts;
  }

  private async positionOf(partition: number): Promise<number> {
    const known = this.positions.get(partition);
    if (known !== undefined) return known;
    const stored = (await readStoredOffsets(this.options.redis, this.keys.offsets(this.options.topic))).get(partition);
    if (stored !== undefined) this.confirmed.add(partition);
    const position = stored ?? (await this.refreshLogStarts()).get(partition) ?? 0;
    this.positions.set(partition, position);
    return position;
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    await this.joinSeek;
    if (!isRunning() || isStale()) return; // fetched before the seek: the seek's position decides
    let position = await this.positionOf(partition);
    const first = Number(batch.messages[0]!.offset);
    if (first > position && !this.seekIssued.has(partition)) {
      // Kafka's committed offset is ahead of Redis (e.g. Redis lost or a new projection version): re-read.
      this.seekTo(partition, position);
      return;
    }
    const records = batch.messages.filter((m) => Number(m.offset) >= position);
    const last = Number(batch.messages[batch.messages.length - 1]!.offset);
    if (records.length === 0) {
      resolveOffset(String(last));
      return;
    }
    if (!this.logStarts.has(partition)) await this.refreshLogStarts();

    const keys = this.keys;
    const follow = this.options.follow;
    const outcome = await projectBatch(
      {
        redis: this.options.redis,
        codec: this.options.codec,
        history: this.options.control.history,
        keys,
        meta: this.meta,
        machineClickSeconds: this.options.machineClickSeconds,
        historyDays: this.options.historyDays,
        expectedStart: (p) => this.logStarts.get(p) ?? 0,
        ...(follow ? { follow: { currentVersionKey: follow.currentVersion(), holdKey: follow.projectionHold() } } : {}),
        maxClockSkewSeconds: this.options.maxClockSkewSeconds,
        ...(this.options.purgeFenceKey ? { purgeFenceKey: this.options.purgeFenceKey } : {}),
        ...(this.options.dataKeys ? { dataKeys: this.options.dataKeys } : {}),
      },
      topic,
      partition,
      records,
      () => this.options.control.caughtUp(),
      (rejected) => this.deadLetters.send(rejected, { topic, partition, group: this.options.groupId }),
    );
    const { result } = outcome;
    const batchStart = Number(records[0]!.offset);
    if ((!result.applied || outcome.failure !== undefined) && outcome.reached > batchStart) {
      // The runs before a refused or failed one were applied (horizon-runs.ts): they count, and the rest is read from where they end.
      this.positions.set(partition, outcome.reached);
      this.confirmed.add(partition);
      this.count(outcome.records, outcome.applied, outcome.duplicates, outcome.gatedOut, outcome.deadLetters.length);
      resolveOffset(String(outcome.reached - 1));
      position = outcome.reached;
    }
    if (outcome.failure !== undefined) throw outcome.failure;
    if (!result.applied && result.superseded) {
      log.info({ partition, from: keys.v, to: result.currentVersion }, 'projection version switched; following it');
      await this.followCurrent();
      return;
    }
    if (this.keys !== keys) return; // switched while this batch ran (it was applied to the old version)
    if (!result.applied && result.held) {
      // A replay is making its version the live one at exactly this version's offsets: wait for it.
      metrics.replayHolds.inc();
      await new Promise((resolve) => setTimeout(resolve, HOLD_RETRY_MS));
      this.seekTo(partition, position);
      return;
    }
    if (!result.applied && 'purged' in result) {
      // Gated before the control reader saw a purge retention has since fenced: the next attempt
      // waits for the control topic (the OrgPurged event is on it) and gates the batch again.
      this.stats.purgeFences++;
      log.info({ partition, orgId: result.purged }, 'batch gated before a purge; gating it again');
      this.seekTo(partition, position);
      return;
    }
    if (!result.applied) {
      // where the refused script started: the batch's start, or the end of the runs applied before it
      const firstOffset = outcome.reached;
      if (result.storedOffset !== null && result.storedOffset > firstOffset) {
        // Another instance applied past this batch (rebalance race): follow the truth in Redis.
        this.stats.fenceConflicts++;
        metrics.fenceConflicts.inc();
        log.info({ partition, firstOffset, storedOffset: result.storedOffset }, 'batch fenced; re-seeking to the stored offset');
        this.seekTo(partition, result.storedOffset);
        return;
      }
      if (result.storedOffset === null && !this.confirmed.has(partition)) {
        // Nothing applied here yet and the log start moved (retention): start from the new one.
        this.seekTo(partition, (await this.refreshLogStarts()).get(partition) ?? 0);
        return;
      }
      await this.rebuildFrom(partition, result.storedOffset, result.storedOffset === null ? 'offsets_missing' : 'offsets_behind', position);
      return;
    }
    this.positions.set(partition, last + 1);
    this.confirmed.add(partition);
    this.count(outcome.records, outcome.applied, outcome.duplicates, outcome.gatedOut, outcome.deadLetters.length);
    resolveOffset(String(last));
    await this.commitHint(topic, partition, last + 1);
    await heartbeat();
  }

  /**
   * Redis no longer holds what this runner applied on `partition`: re-read the log from what it
   * still holds (its stored offset, else the log start), so the lost writes are applied again.
   */
  private async rebuildFrom(partition: number, stored: number | null, reason: RebuildReason, position: number): Promise<void> {
    const logStart = (await this.refreshLogStarts()).get(partition) ?? 0;
    if (stored !== null && stored < logStart) {
      // The records between are gone from the log (retention): nothing can be re-read there.
      log.warn({ partition, stored, logStart }, 'stored offset is before the log start; continuing from the log start');
      await advanceStoredOffset(this.options.redis, this.keys.offsets(this.options.topic), partition, stored, logStart);
      this.seekTo(partition, logStart);
      return;
    }
    const from = stored ?? logStart;
    // a flushed Redis: the version is rebuilt from nothing, its rollups packed as they are written
    if (stored === null) await markPackedIfEmpty(this.options.redis, this.keys);
    this.stats.rebuilds++;
    metrics.projectionRebuilds.inc({ reason });
    log.warn({ partition, version: this.keys.v, reason, appliedUpTo: position, rebuildingFrom: from }, 'Redis lost projection writes; rebuilding them from the log');
    // Cached email metadata may describe keys that are gone.
    this.meta = new EmailMetaLoader(this.options.redis, this.keys);
    this.confirmed.delete(partition);
    if (stored !== null) this.confirmed.add(partition);
    this.seekTo(partition, from);
  }

  /** The idle check: the version pointer (with `follow`) and the stored offsets of every confirmed partition. */
  private async watch(): Promise<void> {
    const follow = this.options.follow;
    if (follow) {
      const pointer = await this.options.redis.get(follow.currentVersion());
      if (pointer === null && this.keys.v !== FIRST_PROJECTION_VERSION) {
        const restored = await restoreCurrentVersion(this.options.redis, follow);
        if (restored !== null) log.warn({ version: restored }, 'the projection version pointer was gone from Redis; restored it from the list of versions');
        else {
          this.stats.rebuilds++;
          metrics.projectionRebuilds.inc({ reason: 'pointer_missing' });
          log.warn({ version: this.keys.v }, 'the projection version pointer and its versions are gone from Redis; rebuilding the first version from the log');
        }
      }
      const current = pointer === null ? await readCurrentVersion(this.options.redis, follow) : parseCurrentVersion(pointer);
      if (current !== this.keys.v) {
        await this.followCurrent();
        return;
      }
    }
    if (this.switching || this.confirmed.size === 0) return;
    const stored = await readStoredOffsets(this.options.redis, this.keys.offsets(this.options.topic));
    for (const partition of [...this.confirmed]) {
      const position = this.positions.get(partition);
      if (position === undefined || !this.assigned.includes(partition)) continue;
      const offset = stored.get(partition);
      if (offset === undefined) await this.rebuildFrom(partition, null, 'offsets_missing', position);
      else if (offset < position) await this.rebuildFrom(partition, offset, 'offsets_behind', position);
    }
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
      this.resetPositions();
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
