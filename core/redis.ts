import { Redis } from 'ioredis';
import type { Config } from './config.js';

export function createRedis(config: Pick<Config, 'redisUrl'>, options: { lazyConnect?: boolean } = {}): Redis {
  return new Redis(config.redisUrl, {
    lazyConnect: options.lazyConnect ?? false,
    maxRetriesPerRequest: 20,
    enableAutoPipelining: false,
  });
}
