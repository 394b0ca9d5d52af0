/**
 * The API alone in its own process (`engagement start --roles api --no-stack`), as a deployment
 * that scales the read side runs it: the bench process holds the whole workload in its heap and
 * its garbage collection would otherwise land in the server's latency.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Config } from '../core/config.js';
import { freePort } from '../core/net.js';
import { statTimes } from './box-cpu.js';
import { envFor } from './child.js';

const READY_TIMEOUT_MS = 60_000;

export interface ApiChild {
  url: string;
  pid: number;
  /** CPU time (user + system) the child has used so far, in µs (clock-tick resolution, 10 ms) */
  cpuMicros(): number;
  stop(): Promise<void>;
}

/** Linux: utime + stime of a process (every thread of it) from /proc/<pid>/stat. */
function cpuMicrosOf(pid: number): number {
  return statTimes(readFileSync(`/proc/${pid}/stat`, 'utf8')).own;
}

/**
 * Starts the child on a free port with a spool directory of its own (its tracking spool and local
 * copy of the data keys), removed once it has stopped: a bench run leaves nothing under `.stack`.
 */
export async function startApiChild(config: Config): Promise<ApiChild> {
  const port = await freePort();
  const spoolDir = mkdtempSync(path.join(tmpdir(), 'bench-api-spool-'));
  // BENCH_CHILD_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=DIR") profiles this child too.
  const nodeArgs = process.env.BENCH_CHILD_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, new URL('../bin/engagement.js', import.meta.url).pathname, 'start', '--roles', 'api', '--no-stack'], {
    env: envFor(config, { PORT: String(port), HOST: '127.0.0.1', SPOOL_DIR: spoolDir }),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(spoolDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`the API child exited with ${child.exitCode} before it was ready`);
    }
    const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ok) return { url, pid: child.pid!, cpuMicros: () => cpuMicrosOf(child.pid!), stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the API child was not ready within ${READY_TIMEOUT_MS / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
