/**
 * `engagement replay`: rebuilds the KPI projection from the topics into a new version V+1 while
 * V keeps serving and the live projector keeps running, then switches `P:proj:current` to V+1 in
 * one script and drops V. Protocol:
 *   1. take the replay lock; resume an unfinished version (`{P:vN}:replay` status building) or
 *      register a new one in `P:proj:versions`;
 *   2. read the whole control topic to its end, then fold the emails topic from `from` (or the
 *      version's stored offsets when resuming) with the projector's pipeline;
 *   3. the build never passes the live version's stored offsets (or the topic ends when V holds
 *      none: a lost projection); once it is within `lagThreshold` of them, the replay *holds* the
 *      live projector (`P:proj:hold`, with a TTL: a crashed replay cannot block it), reads V's
 *      offsets, now final, and builds exactly up to them;
 *   4. switch-version.lua: current = V+1 only if it is still V and V's offsets are still the ones
 *      the build reached; the hold goes with it. The instant `replay` returns, every KPI read
 *      equals the one before it. The live projector follows the pointer (its next batch is
 *      refused, or its watchdog sees it while idle) at V+1's stored offsets, which are its own;
 *   5. drop V's keys (SCAN + UNLINK) and unlist it.
 * An interrupt (signal, or the `stopAfterBatches` test hook) leaves V+1's stored offsets and
 * checkpoint; the next run resumes it; `abort` drops it.
 */

import type { Kafka } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { Config } from '../core/config.js';
import { EngagementError } from '../core/errors.js';
import { childLogger } from '../core/logger.js';
import { readTopicOffsets } from '../core/topic-offsets.js';
import { topicsFor } from '../core/topics.js';
import { Keyring } from '../core/keys/keyring.js';
import { ControlReader } from '../processors/control/control-reader.js';
import { keysFor, type Keys, type ProjectionVersion } from '../projections/keys.js';
import { advanceStoredOffset, readStoredOffsets } from '../projections/projector/apply-batch.js';
import { releaseLock, switchVersion } from '../projections/replay/replay-scripts.js';
import { EventCodec } from '../schemas/codec.js';
import { ReplayLock, defaultHolder } from './lock.js';
import { startOffsets, topicEnds, totalLag, type From } from './offsets.js';
import { builderSettings, emptyCounters, VersionBuilder, type BuildCounters } from './version-builder.js';
import type { FoldBudget } from './fold-budget.js';
import { allocateVersion, currentVersion, dropVersion, unfinishedReplay, versionsToDrop } from './versions.js';

const log = childLogger('replay');
const POLL_MS = 200;
const BARRIER_POLL_MS = 20;
export const DEFAULT_LAG_THRESHOLD = 500;
/** The hold lapses by itself this long after the replay last renewed it (a crashed replay). */
export const HOLD_TTL_MS = 10_000;
/** How long the live version may stay behind the build before the replay gives up. */
const LIVE_BEHIND_LIMIT_MS = 60_000;

export interface ReplayDeps {
  config: Config;
  kafka: Kafka;
  redis: Redis;
  codec?: EventCodec;
}

export interface ReplayProgress {
  version: ProjectionVersion;
  counters: BuildCounters;
  /** records still to read to the topic ends */
  lag: number;
  /** records to read in total (read so far + lag) */
  total: number;
  elapsedMs: number;
}

export interface ReplayRequest {
  from?: From;
  holder?: string;
  signal?: AbortSignal;
  /** test hook: interrupt after this many applied batches */
  stopAfterBatches?: number;
  lagThreshold?: number;
  lockTtlMs?: number;
  /** Kafka fetch size per partition (default 1 MiB) */
  maxBytesPerPartition?: number;
  /** 'per-batch': a new version is also built with the live projector's per-batch script (the
   *  bench measures both write paths in one run); default 'fold' (in memory, each key once) */
  writePath?: 'fold' | 'per-batch';
  /** the fold's memory budget (default: from REPLAY_FOLD_MAX_MB; tests make it spill where they want) */
  foldBudget?: FoldBudget;
  /** test hook: records folded between two writes of a fresh build (default 250,000) */
  flushRecords?: number;
  onProgress?: (progress: ReplayProgress) => void;
}

export interface ReplayResult {
  status: 'switched' | 'interrupted';
  version: ProjectionVersion;
  previous: ProjectionVersion;
  resumed: boolean;
  from: string;
  counters: BuildCounters;
  elapsedMs: number;
  eventsPerSecond: number;
  /** keys of the previous version deleted after the switch */
  droppedKeys: number;
}

export async function runReplay(deps: ReplayDeps, request: ReplayRequest = {}): Promise<ReplayResult> {
  const keys = keysFor(deps.config.redisPrefix);
  const lock = await ReplayLock.acquire(deps.redis, keys, request.holder ?? defaultHolder(), request.lockTtlMs);
  try {
    return await replayLocked(deps, keys, lock, request);
  } finally {
    await lock.release();
  }
}

/** Drops an unfinished replay's version; the live version is untouched. */
export async function abortReplay(deps: ReplayDeps, holder = defaultHolder()): Promise<{ dropped: ProjectionVersion | null; keys: number }> {
  const keys = keysFor(deps.config.redisPrefix);
  const lock = await ReplayLock.acquire(deps.redis, keys, holder);
  try {
    const unfinished = await unfinishedReplay(deps.redis, keys);
    if (!unfinished) return { dropped: null, keys: 0 };
    return { dropped: unfinished.version, keys: await dropVersion(deps.redis, keys, unfinished.version) };
  } finally {
    await lock.release();
  }
}

async function replayLocked(deps: ReplayDeps, keys: Keys, lock: ReplayLock, request: ReplayRequest): Promise<ReplayResult> {
  const { config, kafka, redis } = deps;
  const topics = topicsFor(config);
  const began = Date.now();
  for (const stale of await versionsToDrop(redis, keys)) {
    log.info({ version: stale }, 'dropping a leftover projection version');
    await dropVersion(redis, keys, stale);
  }
  const previous = await currentVersion(redis, keys);
  const unfinished = await unfinishedReplay(redis, keys);
  const fromLabel = unfinished?.from ?? (request.from === undefined || request.from === 'earliest' ? 'earliest' : new Date(request.from).toISOString());
  const version =
    unfinished?.version ??
    (await allocateVersion(redis, keys, { status: 'building', from: fromLabel, org: '', startedAt: new Date(began).toISOString(), holder: lock.info.holder }));
  const from: From = fromLabel === 'earliest' ? 'earliest' : Date.parse(fromLabel);
  const vk = keys.version(version);
  log.info({ version, previous, resumed: unfinished !== null, from: fromLabel }, 'replay started');

  const codec = deps.codec ?? new EventCodec();
  const dataKeys = new Keyring({ kafka, topic: topics.keys, masterKeys: config.masterKeys, groupPrefix: `${config.topicPrefix}.replay` });
  const control = new ControlReader({ kafka, topic: topics.control, groupPrefix: `${config.topicPrefix}.replay`, codec, keys: dataKeys, suppressionSecret: config.suppressionSecret });
  const admin = kafka.admin();
  let builder: VersionBuilder | undefined;
  const result = (status: ReplayResult['status'], droppedKeys = 0): ReplayResult => {
    const counters = builder?.counters ?? emptyCounters();
    const elapsedMs = Date.now() - began;
    return { status, version, previous, resumed: unfinished !== null, from: fromLabel, counters, elapsedMs, eventsPerSecond: Math.round(counters.records / Math.max(elapsedMs / 1000, 0.001)), droppedKeys };
  };
  try {
    await admin.connect();
    await Promise.all([control.start(), dataKeys.start()]);
    await control.caughtUp(); // the whole control history before anything is gated (DESIGN §2)
    const stored = await readStoredOffsets(redis, vk.offsets(topics.emails));
    const start = await startOffsets(admin, topics.emails, from, stored);
    for (const { partition, low } of await readTopicOffsets(admin, topics.emails)) {
      const resumeAt = stored.get(partition);
      if (resumeAt !== undefined && resumeAt < low) {
        // A build resumed after its records left the log (retention): continue from the log start.
        await advanceStoredOffset(redis, vk.offsets(topics.emails), partition, resumeAt, low);
        start.set(partition, low);
      } else if (resumeAt === undefined) {
        // The new version starts where the build starts (`--from` a time included), so after the
        // switch the live projector's fence continues from here, not from the log start.
        await redis.hsetnx(vk.offsets(topics.emails), String(partition), String(start.get(partition) ?? low));
      }
    }
    let interrupted = false;
    builder = new VersionBuilder({
      kafka,
      redis,
      codec,
      control,
      dataKeys,
      ...builderSettings(config, topics.emails),
      keys: vk,
      purgeFenceKey: keys.purgeFence(),
      start,
      // A new version holds nothing: fold in memory, write each key once. A resumed one goes per batch.
      fresh: unfinished === null && request.writePath !== 'per-batch',
      ...(request.maxBytesPerPartition ? { maxBytesPerPartition: request.maxBytesPerPartition } : {}),
      ...(request.foldBudget ? { foldBudget: request.foldBudget } : {}),
      ...(request.flushRecords ? { flushRecords: request.flushRecords } : {}),
      afterBatch: (c) => (interrupted ||= request.stopAfterBatches !== undefined && c.batches >= request.stopAfterBatches),
    });
    await builder.start();
    const liveOffsetsKey = keys.version(previous).offsets(topics.emails);
    const checkLock = (): void => {
      if (lock.lost) throw new EngagementError('replay_locked', 'the replay lock was lost (expired or taken over); not switching', { retriable: true });
    };
    /** Where the build must end: the live version's offsets, or the topic ends when it holds none. */
    const target = async (): Promise<{ live: Map<number, number>; target: Map<number, number> }> => {
      const live = await readStoredOffsets(redis, liveOffsetsKey);
      const added = partitionsNotBuilt(start, live);
      if (added.length > 0) {
        // The switch compares the live offsets only: it would make live a version without them.
        throw new EngagementError('conflict', `partition(s) ${added.join(', ')} of ${topics.emails} were added while the replay ran and the live projection holds them; run the replay again (it resumes, with every partition)`, { retriable: true });
      }
      if (live.size === 0) return { live, target: await topicEnds(admin, topics.emails) };
      return { live, target: new Map([...start].map(([p, s]) => [p, live.get(p) ?? s])) };
    };
    const threshold = request.lagThreshold ?? DEFAULT_LAG_THRESHOLD;
    for (;;) {
      if (request.signal?.aborted) interrupted = true;
      checkLock();
      builder.check();
      const { target: goal } = await target();
      builder.setLimit(goal);
      const lag = totalLag(goal, builder.positions);
      const toRead = builder.lagTo(goal);
      request.onProgress?.({ version, counters: builder.counters, lag: toRead, total: builder.counters.records + toRead, elapsedMs: Date.now() - began });
      if (interrupted || lag <= threshold) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    let liveAtSwitch = new Map<number, number>();
    if (!interrupted) liveAtSwitch = await holdAndCatchUp(redis, keys, version, builder, target, checkLock, request);
    await builder.stop();
    // the catch-up read the rest without a progress line: the bar ends at what was read
    if (!interrupted) request.onProgress?.({ version, counters: builder.counters, lag: 0, total: builder.counters.records, elapsedMs: Date.now() - began });
    await deleteGroups(admin, [builder.groupId]);
    if (interrupted) {
      await redis.hset(vk.replay(), 'stoppedAt', new Date().toISOString());
      log.info({ version, counters: builder.counters }, 'replay interrupted; run it again to resume');
      return result('interrupted');
    }

    const switched = await switchVersion(redis, keys, topics.emails, previous, version, lock.value, liveAtSwitch);
    if (!switched.switched) {
      throw new EngagementError(
        'conflict',
        switched.reason === 'lock_lost'
          ? `the replay lock is now held by ${switched.holder || 'nobody'}; version ${version} was not switched`
          : switched.reason === 'live_moved'
            ? `the live version moved on while the replay held it (the hold expired); version ${version} was not switched: run the replay again to resume it`
            : `the live version moved to ${switched.current} during the replay; version ${version} was not switched`,
      );
    }
    log.info({ from: previous, to: version }, 'projection version switched');
    const droppedKeys = await dropVersion(redis, keys, previous);
    return result('switched', droppedKeys);
  } finally {
    await releaseLock(redis, keys.projectionHold(), String(version)).catch(() => undefined);
    await builder?.stop().catch(() => undefined);
    await control.stop().catch(() => undefined);
    await dataKeys.stop().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

/** The partitions the live version holds that the build did not start with (added since). Pure. */
export function partitionsNotBuilt(start: ReadonlyMap<number, number>, live: ReadonlyMap<number, number>): number[] {
  return [...live.keys()].filter((partition) => !start.has(partition)).sort((a, b) => a - b);
}

/**
 * The barrier: holds the live projector, so the live version's offsets stop moving, then builds
 * exactly up to them. Returns those offsets (the switch checks they are still the live ones).
 * When the build is ahead of the live version (it lost writes and is rebuilding), the hold is
 * let go until the live version has caught up.
 */
async function holdAndCatchUp(
  redis: Redis,
  keys: Keys,
  version: ProjectionVersion,
  builder: VersionBuilder,
  target: () => Promise<{ live: Map<number, number>; target: Map<number, number> }>,
  checkLock: () => void,
  request: ReplayRequest,
): Promise<Map<number, number>> {
  const hold = keys.projectionHold();
  const behindSince = Date.now();
  for (;;) {
    checkLock();
    await redis.set(hold, String(version), 'PX', HOLD_TTL_MS);
    const { live, target: goal } = await target();
    const ahead = builder.aheadOf(goal);
    if (ahead.length === 0) {
      builder.setLimit(goal);
      let renewed = Date.now();
      const deadline = Date.now() + LIVE_BEHIND_LIMIT_MS;
      while (!builder.reached(goal)) {
        checkLock();
        if (Date.now() > deadline) {
          // Never keep the live projector waiting on a build that does not move.
          throw new EngagementError('conflict', `the replay did not reach the live offsets within ${LIVE_BEHIND_LIMIT_MS / 1000} s while holding the live projection; run it again to resume`, { retriable: true });
        }
        if (request.signal?.aborted) throw new EngagementError('conflict', 'replay interrupted while holding the live projection; run it again to resume');
        if (Date.now() - renewed > HOLD_TTL_MS / 4) {
          await redis.set(hold, String(version), 'PX', HOLD_TTL_MS);
          renewed = Date.now();
        }
        await new Promise((resolve) => setTimeout(resolve, BARRIER_POLL_MS));
      }
      log.info({ version, offsets: Object.fromEntries(goal) }, 'replay reached the live offsets');
      return live;
    }
    await releaseLock(redis, hold, String(version));
    if (Date.now() - behindSince > LIVE_BEHIND_LIMIT_MS) {
      throw new EngagementError(
        'conflict',
        `the live projection stays behind the replay on partition(s) ${ahead.join(', ')}; is the projector running? version ${version} was not switched`,
      );
    }
    log.info({ partitions: ahead }, 'the live version is behind the replay (rebuilding?); waiting for it');
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

export async function deleteGroups(admin: ReturnType<Kafka['admin']>, groups: string[]): Promise<void> {
  await admin.deleteGroups(groups).catch((err: unknown) => log.debug({ err, groups }, 'replay consumer group not deleted'));
}
