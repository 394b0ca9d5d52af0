/**
 * The purge fence (DESIGN §2: a purge is ordered with the processors). Retention sets it once the
 * org's OrgPurged event is on the control topic; from then on apply-batch.lua refuses any batch
 * that writes the org and was gated without that purge, so the deletions that follow are final.
 */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { EngagementError } from '../core/errors.js';
import type { Keys } from './keys.js';

const LUA = readFileSync(new URL('./lua/purge-fence.lua', import.meta.url), 'utf8');

/** The fence's field for an org; apply-batch.lua computes the same with redis.sha1hex. */
export function orgDigest(orgId: string): string {
  return createHash('sha1').update(orgId, 'utf8').digest('hex');
}

export async function fencePurge(redis: Redis, keys: Keys, orgId: string, purgedAt: number): Promise<void> {
  try {
    await redis.eval(LUA, 1, keys.purgeFence(), orgDigest(orgId), String(purgedAt));
  } catch (cause) {
    throw new EngagementError('redis_unavailable', `purge fence not set: ${(cause as Error).message}`, { cause, retriable: true });
  }
}
