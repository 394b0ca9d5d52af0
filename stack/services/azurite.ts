import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { EngagementError } from '../../core/errors.js';
import type { Endpoint } from '../endpoints.js';
import { logFile, pidFile, type StackPaths } from '../paths.js';
import { spawnDetached } from '../processes.js';

export const AZURITE_MARKER = 'azurite';

/** Azurite blob service from node_modules, run by this same node binary. */
export function spawnAzurite(paths: StackPaths, endpoint: Endpoint): number {
  const bin = path.join(paths.root, 'node_modules', '.bin', 'azurite-blob');
  if (!existsSync(bin)) {
    throw new EngagementError('dependency_missing', 'Azurite not found in node_modules: run `npm ci` first');
  }
  mkdirSync(paths.azuriteDir, { recursive: true });
  return spawnDetached({
    command: process.execPath,
    args: [
      realpathSync(bin),
      '--blobHost', endpoint.host === 'localhost' ? '127.0.0.1' : endpoint.host,
      '--blobPort', String(endpoint.port),
      '--location', paths.azuriteDir,
      '--silent', '--disableTelemetry', '--skipApiVersionCheck', '--loose',
    ],
    cwd: paths.root,
    logFile: logFile(paths, 'azurite'),
    pidFile: pidFile(paths, 'azurite'),
  });
}
