import { Redis, ReplyError } from 'ioredis';
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

/**
 * Which Redis this is: its `run_id` (INFO server), new at every start of a Redis process. State
 * derived from a log and kept in Redis records the identity it was written on: another one means
 * Redis may have lost recent writes and kept the rest (a restart from an older snapshot, a
 * failover to a replica that lagged: another process). `master_replid` is not part of it: it also
 * changes when a replica attaches, or a backlog is dropped, with nothing lost. Null when the
 * reply has no run_id (a proxy that does not pass it on). Pure.
 */
export function redisIdentityOf(info: string): string | null {
  return /^run_id:(\S+)/m.exec(info)?.[1] ?? null;
}

/** Error replies that say "not now" (a busy script, a dataset loading…), not "no INFO here". */
const TRANSIENT_REPLY = /^(BUSY|LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY)\b/;

/** How long a process trusts the identity it last read (one INFO per second per client at most). */
export const REDIS_IDENTITY_MAX_AGE_MS = 1000;

const identities = new WeakMap<Redis, { at: number; value: Promise<string | null> }>();

/**
 * redisIdentityOf this client's Redis, read again when older than `maxAgeMs` (0: now); concurrent
 * callers share one read. Null when Redis refuses INFO (an ACL without it, a proxy): then only
 * a lost mark is noticed. A connection error, or a transient error reply, rejects.
 */
export function redisIdentity(redis: Redis, maxAgeMs = REDIS_IDENTITY_MAX_AGE_MS): Promise<string | null> {
  const now = Date.now();
  const cached = identities.get(redis);
  if (cached && now - cached.at < maxAgeMs) return cached.value;
  const value = readIdentity(redis);
  identities.set(redis, { at: now, value });
  value.catch(() => {
    if (identities.get(redis)?.value === value) identities.delete(redis);
  });
  return value;
}

async function readIdentity(redis: Redis): Promise<string | null> {
  try {
    return redisIdentityOf(await redis.info('server'));
  } catch (error) {
    // an error reply that refuses INFO (NOPERM, an unknown or disabled command) is an answer: no identity
    if (error instanceof ReplyError && !TRANSIENT_REPLY.test((error as Error).message)) return null;
    throw error;
  }
}
