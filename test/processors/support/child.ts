/** Starts service/processor-child.ts for `config` and resolves once it says "ready". */

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { configEnv, type Config } from '../../../core/config.js';

const SCRIPT = fileURLToPath(new URL('../../../service/processor-child.ts', import.meta.url));

export function childEnv(config: Config): Record<string, string> {
  return { ...(process.env as Record<string, string>), ...configEnv(config), LOG_LEVEL: 'error' };
}

export function startChild(config: Config): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], { env: childEnv(config), stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`processor child exited with ${code} before ready`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
  });
}

export function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

export function stopGracefully(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
