/**
 * Runs `wrk` (the Debian package; `apt-get install wrk`) as the load generator: a C event loop
 * that takes far less CPU than a Node client, so on a 2-core box the server under test gets a
 * fairer share. One thread, closed loop over `connections`, for `durationSeconds`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EngagementError } from '../core/errors.js';
import { parseWrkOutput, wrkScript, type WrkResult } from './wrk-output.js';

export interface WrkSpec {
  baseUrl: string;
  paths: readonly string[];
  headers?: Record<string, string>;
  connections: number;
  threads?: number;
  durationSeconds: number;
}

export function requireWrk(): void {
  const probe = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (probe.error) throw new EngagementError('dependency_missing', 'the tracking and kpi benches need wrk: apt-get install wrk');
}

export async function runWrk(spec: WrkSpec): Promise<WrkResult & { command: string }> {
  requireWrk();
  const dir = mkdtempSync(path.join(tmpdir(), 'wrk-'));
  const script = path.join(dir, 'paths.lua');
  writeFileSync(script, wrkScript(spec.paths, spec.headers));
  const args = ['-t', String(spec.threads ?? 1), '-c', String(spec.connections), '-d', `${spec.durationSeconds}s`, '--latency', '-s', script, spec.baseUrl];
  try {
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const chunks: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => chunks.push(c));
      child.stderr.on('data', (c: Buffer) => chunks.push(c));
      child.once('error', reject);
      child.once('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks).toString()) : reject(new Error(`wrk exited ${code}: ${Buffer.concat(chunks).toString()}`))));
    });
    return { ...parseWrkOutput(output), command: `wrk ${args.slice(0, -3).join(' ')} -s <${spec.paths.length} paths> URL` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
