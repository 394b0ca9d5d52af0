import { Redis } from 'ioredis';
import type { Config } from './config.js';
import { EngagementError } from './errors.js';

export function createRedis(config: Pick<Config, 'redisUrl'>, options: { lazyConnect?: boolean } = {}): Redis {
  return new Redis(config.redisUrl, {
    lazyConnect: options.lazyConnect ?? false,
    maxRetriesPerRequest: 20,
    enableAutoPipelining: false,
  });
}

/** The projection scripts set expiries with EXPIREAT NX and GT, which Redis has since 7.0. */
export const MIN_REDIS_VERSION = [7, 0] as const;

/** `redis_version` of an `INFO server` reply, or null when it holds none. Pure. */
export function redisVersionOf(info: string): string | null {
  return /^redis_version:([^\r\n]+)/m.exec(info)?.[1]?.trim() ?? null;
}

/** True when `version` ("7.0.15") is at least MIN_REDIS_VERSION. Pure. */
export function meetsMinimumRedis(version: string): boolean {
  const [major = Number.NaN, minor = 0] = version.split('.').map(Number);
  const [wantMajor, wantMinor] = MIN_REDIS_VERSION;
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}

/**
 * Fails with a clear message before a projector or replay writes anything to an older Redis, whose
 * script would otherwise fail every batch with "wrong number of arguments for 'expireat'".
 */
export async function requireRedisVersion(redis: Redis, url: string): Promise<string> {
  const version = redisVersionOf(await redis.info('server'));
  if (version === null || !meetsMinimumRedis(version)) {
    throw new EngagementError(
      'dependency_missing',
      `Redis ${version ?? '(version unknown)'} at ${withoutCredentials(url)}: the KPI projection needs Redis ${MIN_REDIS_VERSION.join('.')} or later (its scripts set expiries with EXPIREAT NX and GT)`,
    );
  }
  return version;
}

/** A Redis URL without the user and password it may carry, for messages. Pure. */
export function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(REDIS_URL)';
  }
}
