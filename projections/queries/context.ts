import type { Redis } from 'ioredis';
import { EngagementError } from '../../core/errors.js';
import type { ControlFallback } from '../control/control-store.js';
import { fromHash, type OrgState } from '../control/org-state.js';
import { parseCurrentVersion } from '../current-version.js';
import type { Keys, VersionKeys } from '../keys.js';

export interface QueryContext {
  keys: VersionKeys;
  org: OrgState;
}

/**
 * First of the two round trips of every query: which projection version is live, and may this
 * org's KPIs be served at all (a disabled org answers engagement_disabled, its data untouched).
 */
export async function openQuery(redis: Redis, keys: Keys, orgId: string, fallback?: ControlFallback): Promise<QueryContext> {
  const results = await redis.pipeline().get(keys.currentVersion()).hgetall(keys.controlOrg(orgId)).exists(keys.controlSynced()).exec();
  const version = parseCurrentVersion(results?.[0]?.[1]);
  // The control store lost (flushed) and not rewritten yet: the control topic decides, not a missing hash.
  const org =
    fallback && results?.[2]?.[1] !== 1 ? fallback.orgState(orgId) : fromHash(orgId, (results?.[1]?.[1] as Record<string, string>) ?? {});
  if (!org.enabled) {
    throw new EngagementError('engagement_disabled', `email engagement is disabled for organisation ${orgId}`);
  }
  return { keys: keys.version(version), org };
}

export async function readHashes(redis: Redis, names: readonly string[]): Promise<Array<Record<string, string>>> {
  if (names.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const name of names) pipeline.hgetall(name);
  const results = (await pipeline.exec()) ?? [];
  return names.map((_, i) => {
    const [error, value] = results[i] ?? [null, {}];
    if (error) throw new EngagementError('redis_unavailable', error.message, { cause: error, retriable: true });
    return (value as Record<string, string>) ?? {};
  });
}
