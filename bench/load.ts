import { spawn } from 'node:child_process';
import { parseLoadResult, type LoadResult, type LoadSpec } from './load-result.js';

/**
 * Runs one closed-loop HTTP load from a separate process (bench/load-child.ts, autocannon) and
 * returns its parsed result. The child is killed if it outlives the run's cap by 30 s.
 */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./load-child.ts', import.meta.url).pathname], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env },
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const killer = setTimeout(() => child.kill('SIGKILL'), spec.maxDurationMs + 30_000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
    child.stdin.end(JSON.stringify(spec));
  }).finally(() => clearTimeout(killer));
  if (code !== 0) throw new Error(`load child exited with ${code}: ${stdout.slice(-300)}`);
  return parseLoadResult(stdout);
}
