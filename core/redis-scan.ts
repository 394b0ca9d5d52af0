/**
 * Cursor walks over Redis without blocking it (SCAN / SSCAN, never KEYS or SMEMBERS on an
 * unbounded set): async generators of non-empty batches, one round trip each. As with any SCAN,
 * a key may come in more than one batch; callers that count keys must deduplicate.
 */

import type { Redis } from 'ioredis';

export const SCAN_COUNT = 1000;

/** Batches of the key names matching `pattern` (SCAN MATCH, COUNT `count`). */
export async function* scanKeys(redis: Redis, pattern: string, count = SCAN_COUNT): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', count);
    cursor = next;
    if (keys.length > 0) yield keys;
  } while (cursor !== '0');
}

/** Batches of the members of the set `key` (SSCAN, COUNT `count`). */
export async function* scanMembers(redis: Redis, key: string, count = SCAN_COUNT): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const [next, members] = await redis.sscan(key, cursor, 'COUNT', count);
    cursor = next;
    if (members.length > 0) yield members;
  } while (cursor !== '0');
}

/** UNLINKs every key matching `pattern`, batch by batch; returns how many were deleted. */
export async function unlinkMatching(redis: Redis, pattern: string, count = SCAN_COUNT): Promise<number> {
  let deleted = 0;
  for await (const keys of scanKeys(redis, pattern, count)) deleted += await redis.unlink(...keys);
  return deleted;
}
