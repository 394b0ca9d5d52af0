/** Sums rollup fields over every org-day hash of a projection version, and reads stored offsets. */

import type { Redis } from 'ioredis';
import { scanKeys } from '../core/redis-scan.js';
import { keysFor } from '../projections/keys.js';

export async function orgDayTotals(redis: Redis, redisPrefix: string, fields: readonly string[], version = 1): Promise<Record<string, number>> {
  const base = keysFor(redisPrefix).version(version).base;
  const totals = Object.fromEntries(fields.map((f) => [f, 0])) as Record<string, number>;
  for await (const keys of scanKeys(redis, `${base}orgd:*`)) {
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.hmget(key, ...fields);
    for (const [error, values] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
      (values as Array<string | null>).forEach((v, i) => (totals[fields[i]!]! += Number(v ?? 0)));
    }
  }
  return totals;
}

export async function storedOffsetSum(redis: Redis, redisPrefix: string, topic: string, version = 1): Promise<number> {
  const hash = await redis.hgetall(keysFor(redisPrefix).version(version).offsets(topic));
  return Object.values(hash).reduce((sum, v) => sum + Number(v), 0);
}
