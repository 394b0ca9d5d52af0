/**
 * Which projection version is live: the one answer every reader and writer uses (queries, the
 * projector, replay, retention). `P:proj:current` names it; before the first replay nothing is
 * stored and version 1 is live. apply-batch.lua applies the same fallback inside its script.
 */
import type { Redis } from 'ioredis';
import type { Keys, ProjectionVersion } from './keys.js';

export const FIRST_PROJECTION_VERSION: ProjectionVersion = 1;

/** The stored pointer (a GET reply) as a version; anything missing or malformed is the first version. */
export function parseCurrentVersion(raw: unknown): ProjectionVersion {
  const version = Number(raw);
  return Number.isInteger(version) && version > 0 ? version : FIRST_PROJECTION_VERSION;
}

export async function readCurrentVersion(redis: Redis, keys: Keys): Promise<ProjectionVersion> {
  return parseCurrentVersion(await redis.get(keys.currentVersion()));
}

/**
 * The pointer alone is gone (evicted, deleted) while a replayed version is still listed as live:
 * put it back (only if still absent) rather than fall back to version 1, which that replay
 * dropped. Returns the version restored, or null when there is none to restore.
 */
export async function restoreCurrentVersion(redis: Redis, keys: Keys): Promise<ProjectionVersion | null> {
  const listed = (await redis.smembers(keys.projectionVersions())).map(Number).filter((v) => Number.isInteger(v) && v > 0);
  for (const version of listed.sort((a, b) => b - a)) {
    if ((await redis.hget(keys.version(version).replay(), 'status')) !== 'live') continue;
    await redis.set(keys.currentVersion(), String(version), 'NX');
    return readCurrentVersion(redis, keys);
  }
  return null;
}
