/**
 * Redis CPU spent in commands (INFO commandstats: usec per command type, scripts included in
 * evalsha/eval), read before and after a measured window. Redis is shared: commands of other
 * clients in the window count too, so run the bench on an otherwise quiet Redis.
 */

import type { Redis } from 'ioredis';

export async function commandUsec(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const out = new Map<string, number>();
  for (const line of info.split('\n')) {
    const match = /^cmdstat_([^:]+):.*usec=(\d+)/.exec(line.trim());
    if (match) out.set(match[1]!, Number(match[2]));
  }
  return out;
}

/** Total usec between two readings, and the top command types. */
export function usecBetween(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): { total: number; top: Array<[string, number]> } {
  const diff: Array<[string, number]> = [];
  for (const [name, usec] of after) {
    const d = usec - (before.get(name) ?? 0);
    if (d > 0) diff.push([name, d]);
  }
  diff.sort((a, b) => b[1] - a[1]);
  return { total: diff.reduce((s, [, d]) => s + d, 0), top: diff.slice(0, 4) };
}
