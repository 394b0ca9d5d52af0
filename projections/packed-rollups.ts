/**
 * When a version's KPI reads may take its month hashes (projections/keys.ts, `packed`): only at a
 * level every key it holds was written with. A version allocated by a replay is marked at the
 * full level when it is allocated (replay/versions.ts); the live version 1 has no such moment, so
 * the projector marks it when it finds no stored offsets and the version holds nothing: a new or
 * flushed Redis. A version that holds data without offsets (its offsets lost, or written before
 * month hashes, or before contact months) keeps its level, read from its day hashes where the
 * level is short until a replay rebuilds it.
 */

import type { Redis } from 'ioredis';
import { scanKeys } from '../core/redis-scan.js';
import { PACKED, type VersionKeys } from './keys.js';

/** The level of month hashes `v` was written with (PACKED), 0 for none. */
export async function packedLevel(redis: Redis, v: VersionKeys): Promise<number> {
  return Number((await redis.get(v.packedRollups())) ?? 0);
}

/** Marks `v` at the full level when it holds no projection key; returns its level. */
export async function markPackedIfEmpty(redis: Redis, v: VersionKeys): Promise<number> {
  const level = await packedLevel(redis, v);
  if (level >= PACKED.all) return level;
  // every projection key is listed in its org's key index: no index, nothing written
  for await (const found of scanKeys(redis, `${v.base}orgkeys:*`)) if (found.length > 0) return level;
  await redis.set(v.packedRollups(), String(PACKED.all));
  return PACKED.all;
}
