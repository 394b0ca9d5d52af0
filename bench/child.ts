/** Runs service/processor-child.ts with a config, reads its counters (every 50 ms), samples its peak RSS. */

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { configEnv, type Config } from '../core/config.js';

export interface ChildStats {
  t: number;
  projector: number;
  lander: number;
  /** blobs the lander uploaded: its progress inside a cycle, before the cycle's records count */
  blobs: number;
  collected: number;
  fenced: number;
}

export function envFor(config: Config, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error', PROCESSOR_STATS_MS: '50', ...configEnv(config), ...extra };
}

export class ProcessorChild {
  latest: ChildStats = { t: 0, projector: 0, lander: 0, blobs: 0, collected: 0, fenced: 0 };
  firstActivityAt = 0;
  private readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;

  constructor(config: Config, extraEnv: Record<string, string> = {}, nodeArgs: string[] = []) {
    this.child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', new URL('../service/processor-child.ts', import.meta.url).pathname], {
      env: envFor(config, extraEnv),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.ready = new Promise((resolve, reject) => {
      this.child.once('exit', (code) => reject(new Error(`processor child exited with ${code} before ready`)));
      createInterface({ input: this.child.stdout! }).on('line', (line) => {
        if (line === 'ready') return resolve();
        if (!line.startsWith('{"t"')) return;
        const stats = JSON.parse(line) as ChildStats;
        if (this.firstActivityAt === 0 && stats.projector + stats.lander > 0) this.firstActivityAt = stats.t;
        this.latest = stats;
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Peak resident set size in bytes (VmHWM), read while the child lives. */
  peakRss(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(timer);
  }
}
