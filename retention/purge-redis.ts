import type { Redis } from 'ioredis';
import { scanMembers } from '../core/redis-scan.js';
import type { Keys } from '../projections/keys.js';
import { RECIPIENT_TYPES } from '../schemas/events.js';
import { parseCurrentVersion } from '../projections/current-version.js';

const CHUNK = 500;

/** Every projection version that may hold keys: the live one and any being built or dropped. */
export async function projectionVersions(redis: Redis, keys: Keys): Promise<number[]> {
  const [current, listed] = await Promise.all([redis.get(keys.currentVersion()), redis.smembers(keys.projectionVersions())]);
  const versions = new Set<number>([parseCurrentVersion(current), ...listed.map(Number)]);
  return [...versions].filter((v) => Number.isInteger(v) && v > 0).sort((a, b) => a - b);
}

/**
 * Deletes every projection key of one org, in every version, through the per-org index the
 * projector keeps (no KEYS, no keyspace-wide SCAN), and its stored recipient preferences (of
 * every type). Its suppression list (P:suppress:<org>, keyed hashes of who said "do not allow")
 * stays on purpose: an opt-out outlives a purge (DESIGN §2.2). Returns how many keys were deleted.
 */
export async function purgeOrgFromRedis(redis: Redis, keys: Keys, orgId: string): Promise<number> {
  let deleted = 0;
  for (const v of await projectionVersions(redis, keys)) {
    const index = keys.version(v).orgIndex(orgId);
    for await (const members of scanMembers(redis, index, CHUNK)) deleted += await redis.unlink(...members);
    deleted += await redis.unlink(index);
  }
  deleted += await redis.unlink(...RECIPIENT_TYPES.map((type) => keys.controlRecipients(orgId, type)));
  return deleted;
}
