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
