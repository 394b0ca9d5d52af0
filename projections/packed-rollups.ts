/**
 * When a version's KPI reads may take its month hashes (projections/keys.ts, `packed`): only when
 * every rollup it holds was packed as it was written. A version allocated by a replay is marked
 * when it is allocated (replay/versions.ts); the live version 1 has no such moment, so the
 * projector marks it when it finds no stored offsets and the version holds nothing: a new or
 * flushed Redis. A version that holds data without offsets (its offsets lost, or written before
 * month hashes existed) stays unmarked, read from its day hashes until a replay rebuilds it.
 */

import type { Redis } from 'ioredis';
import { scanKeys } from '../core/redis-scan.js';
import type { VersionKeys } from './keys.js';

/** Marks `v` packed when it holds no projection key; returns whether it is marked. */
export async function markPackedIfEmpty(redis: Redis, v: VersionKeys): Promise<boolean> {
  if ((await redis.exists(v.packedRollups())) === 1) return true;
  // every projection key is listed in its org's key index: no index, nothing written
  for await (const found of scanKeys(redis, `${v.base}orgkeys:*`)) if (found.length > 0) return false;
  await redis.set(v.packedRollups(), '1');
  return true;
}
