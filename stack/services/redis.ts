import { mkdirSync } from 'node:fs';
import type { Endpoint } from '../endpoints.js';
import { logFile, pidFile, type StackPaths } from '../paths.js';
import { spawnDetached } from '../processes.js';

export const REDIS_MARKER = 'redis-server';

/** An ephemeral Redis: no RDB snapshots, no AOF. Only started when nothing answers at REDIS_URL. */
export function spawnRedis(redisServer: string, paths: StackPaths, endpoint: Endpoint): number {
  mkdirSync(paths.redisDir, { recursive: true });
  return spawnDetached({
    command: redisServer,
    args: ['--save', '', '--appendonly', 'no', '--port', String(endpoint.port), '--bind', '127.0.0.1', '--dir', paths.redisDir, '--daemonize', 'no'],
    cwd: paths.root,
    logFile: logFile(paths, 'redis'),
    pidFile: pidFile(paths, 'redis'),
  });
}
