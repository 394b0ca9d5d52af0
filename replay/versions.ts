import type { Redis } from 'ioredis';
import { unlinkMatching } from '../core/redis-scan.js';
import { PACKED, type Keys, type ProjectionVersion } from '../projections/keys.js';
import { readCurrentVersion } from '../projections/current-version.js';

/**
 * Projection versions as the replay sees them: the live one (`P:proj:current`), the listed ones
 * (`P:proj:versions`, which retention purges too), and each built version's `{P:vN}:replay`
 * checkpoint. Every function here runs under the replay lock.
 */
export type ReplayStatus = 'building' | 'verify' | 'live';

export interface ReplayCheckpoint {
  version: ProjectionVersion;
  status: ReplayStatus;
  /** 'earliest' or an ISO time */
  from: string;
  org: string;
  startedAt: string;
  holder: string;
}

const SCAN_COUNT = 1000;

export const currentVersion = readCurrentVersion;

export async function listedVersions(redis: Redis, keys: Keys): Promise<ProjectionVersion[]> {
  return (await redis.smembers(keys.projectionVersions())).map(Number).filter((v) => Number.isInteger(v) && v > 0);
}

export async function readCheckpoint(redis: Redis, keys: Keys, version: ProjectionVersion): Promise<ReplayCheckpoint | null> {
  const h = await redis.hgetall(keys.version(version).replay());
  if (!h.status) return null;
  return { version, status: h.status as ReplayStatus, from: h.from ?? 'earliest', org: h.org ?? '', startedAt: h.startedAt ?? '', holder: h.holder ?? '' };
}

/** Versions listed but neither live nor a replay to resume: leftovers of an interrupted drop or verify. */
export async function versionsToDrop(redis: Redis, keys: Keys): Promise<ProjectionVersion[]> {
  const current = await currentVersion(redis, keys);
  const out: ProjectionVersion[] = [];
  for (const v of await listedVersions(redis, keys)) {
    if (v === current) continue;
    if ((await readCheckpoint(redis, keys, v))?.status !== 'building') out.push(v);
  }
  return out;
}

export async function unfinishedReplay(redis: Redis, keys: Keys): Promise<ReplayCheckpoint | null> {
  const current = await currentVersion(redis, keys);
  for (const v of (await listedVersions(redis, keys)).sort((a, b) => b - a)) {
    if (v === current) continue;
    const checkpoint = await readCheckpoint(redis, keys, v);
    if (checkpoint?.status === 'building') return checkpoint;
  }
  return null;
}

/** A version number never used before, registered (so retention purges it) with its checkpoint, its rollups packed. */
export async function allocateVersion(
  redis: Redis,
  keys: Keys,
  checkpoint: Omit<ReplayCheckpoint, 'version'>,
): Promise<ProjectionVersion> {
  const current = await currentVersion(redis, keys);
  const version = Math.max(current, ...(await listedVersions(redis, keys))) + 1;
  await redis
    .multi()
    .sadd(keys.projectionVersions(), String(version))
    .hset(keys.version(version).replay(), { ...checkpoint })
    // empty: every rollup and contact day it will hold is packed as it is written (projections/keys.ts, `packed`)
    .set(keys.version(version).packedRollups(), String(PACKED.all))
    .exec();
  return version;
}

/**
 * Deletes every key of a version (SCAN MATCH `{P:vN}:*` + UNLINK in chunks), then unlists it.
 * Refuses the live version. Returns how many keys were deleted.
 */
export async function dropVersion(redis: Redis, keys: Keys, version: ProjectionVersion): Promise<number> {
  if (version === (await currentVersion(redis, keys))) throw new Error(`refusing to drop the live projection version ${version}`);
  const deleted = await unlinkMatching(redis, `${keys.version(version).base}*`, SCAN_COUNT);
  await redis.srem(keys.projectionVersions(), String(version));
  return deleted;
}
