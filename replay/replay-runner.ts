/**
 * `engagement replay`: rebuilds the KPI projection from the topics into a new version V+1 while
 * V keeps serving and the live projector keeps running, then switches `P:proj:current` to V+1 in
 * one script and drops V. Protocol:
 *   1. take the replay lock; resume an unfinished version (`{P:vN}:replay` status building) or
 *      register a new one in `P:proj:versions`;
 *   2. read the whole control topic to its end, then fold the emails topic from `from` (or the
 *      version's stored offsets when resuming) with the projector's pipeline;
 *   3. once the lag to the topic ends is at most `lagThreshold`, stop folding and run
 *      switch-version.lua (current = V+1 only if it is still V). The live projector's next batch
 *      into V is refused; it moves to V+1 and re-reads from V+1's stored offsets: exact;
 *   4. drop V's keys (SCAN + UNLINK) and unlist it.
 * An interrupt (signal, or the `stopAfterBatches` test hook) leaves V+1's stored offsets and
 * checkpoint; the next run resumes it; `abort` drops it.
 */

import type { Kafka } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { Config } from '../core/config.js';
import { EngagementError } from '../core/errors.js';
import { childLogger } from '../core/logger.js';
import { topicsFor } from '../core/topics.js';
import { ControlReader } from '../processors/control/control-reader.js';
import { keysFor, type Keys, type ProjectionVersion } from '../projections/keys.js';
import { readStoredOffsets } from '../projections/projector/apply-batch.js';
import { switchVersion } from '../projections/replay/replay-scripts.js';
import { EventCodec } from '../schemas/codec.js';
import { ReplayLock, defaultHolder } from './lock.js';
import { startOffsets, topicEnds, totalLag, type From } from './offsets.js';
import { emptyCounters, VersionBuilder, type BuildCounters } from './version-builder.js';
import { allocateVersion, currentVersion, dropVersion, unfinishedReplay, versionsToDrop } from './versions.js';

const log = childLogger('replay');
const POLL_MS = 200;
export const DEFAULT_LAG_THRESHOLD = 500;

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
  const control = new ControlReader({ kafka, topic: topics.control, groupPrefix: `${config.topicPrefix}.replay`, codec });
  const admin = kafka.admin();
  let builder: VersionBuilder | undefined;
  const result = (status: ReplayResult['status'], droppedKeys = 0): ReplayResult => {
    const counters = builder?.counters ?? emptyCounters();
    const elapsedMs = Date.now() - began;
    return { status, version, previous, resumed: unfinished !== null, from: fromLabel, counters, elapsedMs, eventsPerSecond: Math.round(counters.records / Math.max(elapsedMs / 1000, 0.001)), droppedKeys };
  };
  try {
    await admin.connect();
    await control.start();
    await control.caughtUp(); // the whole control history before anything is gated (DESIGN §2)
    const stored = await readStoredOffsets(redis, vk.offsets(topics.emails));
    const start = await startOffsets(admin, topics.emails, from, stored);
    let interrupted = false;
    builder = new VersionBuilder({
      kafka,
      redis,
      codec,
      control,
      topic: topics.emails,
      groupPrefix: config.topicPrefix,
      keys: vk,
      machineClickSeconds: config.machineClickSeconds,
      maxClockSkewSeconds: config.maxClockSkewSeconds,
      start,
      ...(request.maxBytesPerPartition ? { maxBytesPerPartition: request.maxBytesPerPartition } : {}),
      afterBatch: (c) => (interrupted ||= request.stopAfterBatches !== undefined && c.batches >= request.stopAfterBatches),
    });
    await builder.start();
    const threshold = request.lagThreshold ?? DEFAULT_LAG_THRESHOLD;
    for (;;) {
      if (request.signal?.aborted) interrupted = true;
      if (lock.lost) throw new EngagementError('replay_locked', 'the replay lock was lost (expired or taken over); not switching', { retriable: true });
      const lag = totalLag(await topicEnds(admin, topics.emails), builder.positions);
      request.onProgress?.({ version, counters: builder.counters, lag, total: builder.counters.records + lag, elapsedMs: Date.now() - began });
      if (interrupted || lag <= threshold) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    await builder.stop();
    await deleteGroups(admin, [builder.groupId]);
    if (interrupted) {
      await redis.hset(vk.replay(), 'stoppedAt', new Date().toISOString());
      log.info({ version, counters: builder.counters }, 'replay interrupted; run it again to resume');
      return result('interrupted');
    }

    const switched = await switchVersion(redis, keys, previous, version, lock.value);
    if (!switched.switched) {
      throw new EngagementError(
        'conflict',
        switched.reason === 'lock_lost'
          ? `the replay lock is now held by ${switched.holder || 'nobody'}; version ${version} was not switched`
          : `the live version moved to ${switched.current} during the replay; version ${version} was not switched`,
      );
    }
    log.info({ from: previous, to: version }, 'projection version switched');
    const droppedKeys = await dropVersion(redis, keys, previous);
    return result('switched', droppedKeys);
  } finally {
    await builder?.stop().catch(() => undefined);
    await control.stop().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

export async function deleteGroups(admin: ReturnType<Kafka['admin']>, groups: string[]): Promise<void> {
  await admin.deleteGroups(groups).catch((err: unknown) => log.debug({ err, groups }, 'replay consumer group not deleted'));
}
