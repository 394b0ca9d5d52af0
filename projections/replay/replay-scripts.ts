/**
 * The Redis adapter of `engagement replay`: the lock renew/release and the version switch, each
 * a Lua script in its own file (projections/lua/), run with EVALSHA via ioredis defineCommand.
 */

import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { EngagementError } from '../../core/errors.js';
import type { Keys, ProjectionVersion } from '../keys.js';

const lua = (name: string): string => readFileSync(new URL(`../lua/${name}.lua`, import.meta.url), 'utf8');
const COMMANDS = {
  engagementLockRenew: { numberOfKeys: 1, lua: lua('lock-renew') },
  engagementLockRelease: { numberOfKeys: 1, lua: lua('lock-release') },
  engagementSwitchVersion: { numberOfKeys: 5, lua: lua('switch-version') },
} as const;

type Scripts = { [K in keyof typeof COMMANDS]: (...args: string[]) => Promise<unknown> };

function scripts(redis: Redis): Scripts {
  for (const [name, definition] of Object.entries(COMMANDS)) if (!(name in redis)) redis.defineCommand(name, definition);
  return redis as unknown as Scripts;
}

async function run<T>(what: string, call: () => Promise<unknown>): Promise<T> {
  try {
    return (await call()) as T;
  } catch (cause) {
    throw new EngagementError('redis_unavailable', `${what} failed: ${(cause as Error).message}`, { cause, retriable: true });
  }
}

export function renewLock(redis: Redis, key: string, value: string, ttlMs: number): Promise<boolean> {
  return run<number>('lock renew', () => scripts(redis).engagementLockRenew(key, value, String(ttlMs))).then((r) => r === 1);
}

export function releaseLock(redis: Redis, key: string, value: string): Promise<boolean> {
  return run<number>('lock release', () => scripts(redis).engagementLockRelease(key, value)).then((r) => r === 1);
}

export type SwitchResult =
  | { switched: true }
  | { switched: false; reason: 'current_moved'; current: number }
  | { switched: false; reason: 'lock_lost'; holder: string }
  | { switched: false; reason: 'live_moved'; offsets: string };

/** Pure: offsets as switch-version.lua compares them, "p=o,p=o" sorted by partition. */
export function offsetsSignature(offsets: ReadonlyMap<number, number>): string {
  return [...offsets].sort(([a], [b]) => a - b).map(([p, o]) => `${p}=${o}`).join(',');
}

/**
 * P:proj:current := to, only if it is still `from`, this replay still holds the lock, and the
 * live version's stored offsets are still `liveOffsets` (those the build reached); drops the hold.
 */
export async function switchVersion(
  redis: Redis,
  keys: Keys,
  topic: string,
  from: ProjectionVersion,
  to: ProjectionVersion,
  lockValue: string,
  liveOffsets: ReadonlyMap<number, number>,
): Promise<SwitchResult> {
  const [code, value] = await run<[number, string]>('switch-version', () =>
    scripts(redis).engagementSwitchVersion(
      keys.currentVersion(),
      keys.version(to).replay(),
      keys.replayLock(),
      keys.version(from).offsets(topic),
      keys.projectionHold(),
      String(from),
      String(to),
      lockValue,
      new Date().toISOString(),
      offsetsSignature(liveOffsets),
    ),
  );
  if (code === 1) return { switched: true };
  if (code === 0) return { switched: false, reason: 'current_moved', current: Number(value) };
  if (code === -2) return { switched: false, reason: 'live_moved', offsets: value };
  return { switched: false, reason: 'lock_lost', holder: value };
}
