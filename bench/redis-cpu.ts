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

/**
 * CPU time of Redis's main thread so far (INFO cpu), in µs: what the commands really cost, unlike
 * commandstats, whose per-command times grow when the box deschedules Redis, and count a script's
 * inner commands twice. Every client of this Redis counts: measure on a Redis of its own
 * (REDIS_URL) for a clean figure.
 */
export async function redisCpuMicros(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const value = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  const main = value('used_cpu_user_main_thread') + value('used_cpu_sys_main_thread');
  return Math.round((Number.isFinite(main) ? main : value('used_cpu_user') + value('used_cpu_sys')) * 1e6);
}
