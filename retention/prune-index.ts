import type { Redis } from 'ioredis';
import { scanMembers } from '../core/redis-scan.js';
import type { Keys } from '../projections/keys.js';
import { projectionVersions } from './purge-redis.js';

const CHUNK = 500;

/**
 * In one script, so no projector batch runs between the check and the removal: a key that a
 * batch writes again is listed again by that same batch (every batch indexes each key it writes).
 * KEYS[1] the org's index, KEYS[2..] members of it.
 */
const PRUNE = `local removed = 0
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    removed = removed + redis.call('SREM', KEYS[1], KEYS[i])
  end
end
return removed`;

interface WithPrune {
  pruneOrgIndex(numKeys: number, ...keysAndArgs: string[]): Promise<number>;
}

/**
 * Removes from every org's key index (every projection version) the members whose key is gone:
 * expired at the horizon. The projector adds each key it writes and never removes one, so for an
 * org that stays active the index only grew: a member per key ever written (memory without
 * bound), a purge walking all of them, the dashboard's top-emails walk stopping at its bound
 * sooner, and a rebuild's index short of the live one's. A purge still finds every key that
 * exists: only members without a key go. Returns how many were removed.
 */
export async function pruneOrgIndexes(redis: Redis, keys: Keys, orgIds: readonly string[]): Promise<number> {
  const r = redis as Redis & WithPrune;
  if (!('pruneOrgIndex' in redis)) redis.defineCommand('pruneOrgIndex', { lua: PRUNE });
  let removed = 0;
  for (const v of await projectionVersions(redis, keys)) {
    for (const orgId of orgIds) {
      const index = keys.version(v).orgIndex(orgId);
      for await (const members of scanMembers(redis, index, CHUNK)) removed += await r.pruneOrgIndex(members.length + 1, index, ...members);
    }
  }
  return removed;
}
