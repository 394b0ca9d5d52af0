/**
 * Only one replay at a time: `SET P:replay:lock <value> NX PX ttl`, renewed every ttl/3 while
 * the replay runs. The value says who holds it and since when, for the refusal message.
 */

import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { EngagementError } from '../core/errors.js';
import { childLogger } from '../core/logger.js';
import type { Keys } from '../projections/keys.js';
import { releaseLock, renewLock } from '../projections/replay/replay-scripts.js';

const log = childLogger('replay-lock');
export const DEFAULT_LOCK_TTL_MS = 30_000;

export interface LockInfo {
  holder: string;
  startedAt: string;
  token: string;
}

export function defaultHolder(): string {
  return `${hostname()}:${process.pid}`;
}

export class ReplayLock {
  private timer: NodeJS.Timeout | undefined;
  lost = false;

  private constructor(
    private readonly redis: Redis,
    readonly key: string,
    readonly value: string,
    readonly info: LockInfo,
    private readonly ttlMs: number,
  ) {}

  static async acquire(redis: Redis, keys: Keys, holder = defaultHolder(), ttlMs = DEFAULT_LOCK_TTL_MS): Promise<ReplayLock> {
    const info: LockInfo = { holder, startedAt: new Date().toISOString(), token: randomBytes(8).toString('hex') };
    const value = JSON.stringify(info);
    const key = keys.replayLock();
    if ((await redis.set(key, value, 'PX', ttlMs, 'NX')) !== 'OK') {
      const other = parseLock(await redis.get(key));
      throw new EngagementError(
        'replay_locked',
        `a replay is already running (started ${other?.startedAt ?? 'at an unknown time'} by ${other?.holder ?? 'an unknown holder'}); ` +
          `wait for it or stop it (Ctrl-C leaves a checkpoint; the lock expires ${Math.round(ttlMs / 1000)} s after its holder stops renewing it)`,
        { details: { holder: other?.holder, startedAt: other?.startedAt } },
      );
    }
    const lock = new ReplayLock(redis, key, value, info, ttlMs);
    lock.timer = setInterval(() => void lock.renew(), Math.max(100, Math.floor(ttlMs / 3)));
    lock.timer.unref();
    return lock;
  }

  private async renew(): Promise<void> {
    try {
      if (!(await renewLock(this.redis, this.key, this.value, this.ttlMs))) {
        this.lost = true;
        log.error({ key: this.key }, 'replay lock lost (expired or taken): the replay will not switch versions');
      }
    } catch (err) {
      log.warn({ err }, 'replay lock renewal failed; retrying');
    }
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    await releaseLock(this.redis, this.key, this.value).catch((err: unknown) => log.warn({ err }, 'replay lock not released; it expires by itself'));
  }
}

function parseLock(raw: string | null): LockInfo | null {
  if (!raw) return null;
  try {
    return JSON.parse(raw) as LockInfo;
  } catch {
    return { holder: raw, startedAt: 'at an unknown time', token: '' };
  }
}
