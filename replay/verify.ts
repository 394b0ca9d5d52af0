/**
 * `engagement replay --verify`: rebuilds the projection from the earliest offsets into a scratch
 * version, up to exactly the live version's stored offsets, and compares the two key by key,
 * field by field. The live snapshot counts only if the live offsets did not move while it was
 * read (its data and offsets move together in one script); otherwise the scratch build follows
 * the new live offsets and the comparison is retried. The scratch version is dropped at the end.
 * With `orgId`, only that org's events are folded and only its keys (by the org index) compared.
 */

import { topicsFor } from '../core/topics.js';
import { childLogger } from '../core/logger.js';
import { Keyring } from '../core/keys/keyring.js';
import { ControlReader } from '../processors/control/control-reader.js';
import { keysFor, lastExpiredDay, PACKED, type ProjectionVersion, type VersionKeys } from '../projections/keys.js';
import { packedLevel } from '../projections/packed-rollups.js';
import { readStoredOffsets } from '../projections/projector/apply-batch.js';
import { EventCodec } from '../schemas/codec.js';
import { diffSnapshots, type Difference } from './diff.js';
import { defaultHolder, ReplayLock } from './lock.js';
import { startOffsets } from './offsets.js';
import { deleteGroups, type ReplayDeps, type ReplayProgress } from './replay-runner.js';
import { snapshotOrg, snapshotVersion, withoutDeadIndexEntries, withoutExpiredPackedDays, withoutPackedRollups, withoutSeenPastWindow } from './snapshot.js';
import { builderSettings, VersionBuilder, type BuildCounters } from './version-builder.js';
import { allocateVersion, currentVersion, dropVersion } from './versions.js';
import type { Redis } from 'ioredis';

const log = childLogger('replay-verify');

export interface VerifyRequest {
  orgId?: string;
  holder?: string;
  attempts?: number;
  onProgress?: (progress: ReplayProgress) => void;
}

export interface VerifyResult {
  liveVersion: ProjectionVersion;
  scratchVersion: ProjectionVersion;
  differences: Difference[];
  keysCompared: number;
  /** false when the live projection kept moving on every attempt (differences may be in flight) */
  consistent: boolean;
  counters: BuildCounters;
  elapsedMs: number;
}

const POLL_MS = 100;

export async function runVerify(deps: ReplayDeps, request: VerifyRequest = {}): Promise<VerifyResult> {
  const { config, kafka, redis } = deps;
  const keys = keysFor(config.redisPrefix);
  const topics = topicsFor(config);
  const began = Date.now();
  const lock = await ReplayLock.acquire(redis, keys, request.holder ?? defaultHolder());
  const codec = deps.codec ?? new EventCodec();
  const dataKeys = new Keyring({ kafka, topic: topics.keys, masterKeys: config.masterKeys, groupPrefix: `${config.topicPrefix}.replay` });
  const control = new ControlReader({ kafka, topic: topics.control, groupPrefix: `${config.topicPrefix}.replay`, codec, keys: dataKeys, suppressionSecret: config.suppressionSecret });
  const admin = kafka.admin();
  let builder: VersionBuilder | undefined;
  let scratch: ProjectionVersion | undefined;
  try {
    const live = await currentVersion(redis, keys);
    scratch = await allocateVersion(redis, keys, { status: 'verify', from: 'earliest', org: request.orgId ?? '', startedAt: new Date(began).toISOString(), holder: lock.info.holder });
    const lk = keys.version(live);
    const sk = keys.version(scratch);
    await admin.connect();
    await Promise.all([control.start(), dataKeys.start()]);
    await control.caughtUp();
    const start = await startOffsets(admin, topics.emails, 'earliest', new Map());
    builder = new VersionBuilder({
      kafka,
      redis,
      codec,
      control,
      dataKeys,
      ...builderSettings(config, topics.emails),
      keys: sk,
      purgeFenceKey: keys.purgeFence(),
      start,
      fresh: true, // a scratch version: nothing in it yet
      ...(request.orgId !== undefined ? { orgId: request.orgId } : {}),
    });
    const targetsOf = async (): Promise<Map<number, number>> => {
      const stored = await readStoredOffsets(redis, lk.offsets(topics.emails));
      return new Map([...start].map(([p, low]) => [p, Math.max(low, stored.get(p) ?? low)]));
    };
    let targets = await targetsOf();
    builder.setLimit(targets);
    await builder.start();
    const attempts = request.attempts ?? 5;
    let outcome: { differences: Difference[]; keysCompared: number; consistent: boolean } | undefined;
    for (let attempt = 1; attempt <= attempts && !outcome; attempt++) {
      while (!builder.reached(targets)) {
        const lag = builder.lagTo(targets);
        request.onProgress?.({ version: scratch, counters: builder.counters, lag, total: builder.counters.records + lag, elapsedMs: Date.now() - began });
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      request.onProgress?.({ version: scratch, counters: builder.counters, lag: 0, total: builder.counters.records, elapsedMs: Date.now() - began });
      let liveSnapshot = await snapshotOf(redis, lk, request.orgId);
      const after = await targetsOf();
      const moved = !sameOffsets(after, targets);
      if (moved) {
        log.info({ attempt }, 'live projection moved while it was read; following it');
        targets = after;
        builder.setLimit(targets);
        if (attempt < attempts) continue;
      }
      let scratchSnapshot = await snapshotOf(redis, sk, request.orgId, request.orgId !== undefined);
      const level = await packedLevel(redis, lk);
      if (level < PACKED.all) {
        // a live version written before (some of) the month hashes holds them only for days written since
        log.info({ live, packed: level }, 'the live version predates some month hashes: those are not compared (a replay builds them)');
        liveSnapshot = withoutPackedRollups(liveSnapshot, level);
        scratchSnapshot = withoutPackedRollups(scratchSnapshot, level);
      }
      const lastExpired = lastExpiredDay(Date.now(), config.historyDays);
      const now = Date.now();
      const comparable = (snapshot: typeof liveSnapshot) => withoutDeadIndexEntries(withoutSeenPastWindow(withoutExpiredPackedDays(snapshot, lastExpired), now));
      const differences = diffSnapshots(comparable(liveSnapshot), comparable(scratchSnapshot));
      outcome = { differences, keysCompared: new Set([...liveSnapshot.keys(), ...scratchSnapshot.keys()]).size, consistent: !moved };
    }
    await builder.stop();
    await deleteGroups(admin, [builder.groupId]);
    return { liveVersion: live, scratchVersion: scratch, ...outcome!, counters: builder.counters, elapsedMs: Date.now() - began };
  } finally {
    await builder?.stop().catch(() => undefined);
    await control.stop().catch(() => undefined);
    await dataKeys.stop().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    if (scratch !== undefined) await dropVersion(redis, keys, scratch).catch((err: unknown) => log.warn({ err, scratch }, 'scratch version not dropped; the next replay drops it'));
    await lock.release();
  }
}

/**
 * One org: its keys by the org index. The scratch version folded only that org, so it is read
 * whole, without the seen sets (they hold every org's eventIds in the live version).
 */
async function snapshotOf(redis: Redis, keys: VersionKeys, orgId: string | undefined, scratchOfOneOrg = false) {
  if (orgId === undefined) return snapshotVersion(redis, keys);
  if (!scratchOfOneOrg) return snapshotOrg(redis, keys, orgId);
  return snapshotVersion(redis, keys, (relative) => relative.startsWith('offsets:') || relative === 'replay' || relative.startsWith('seen:'));
}

function sameOffsets(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>): boolean {
  return a.size === b.size && [...a].every(([p, o]) => b.get(p) === o);
}
