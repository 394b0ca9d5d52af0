import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pollUntil } from './poll.js';

/** Spawns a long-running child detached from this process, stdio to a log file, with a pid file. */
export function spawnDetached(input: {
  command: string;
  args: readonly string[];
  cwd: string;
  logFile: string;
  pidFile: string;
  env?: NodeJS.ProcessEnv;
}): number {
  mkdirSync(path.dirname(input.logFile), { recursive: true });
  mkdirSync(path.dirname(input.pidFile), { recursive: true });
  const fd = openSync(input.logFile, 'a');
  try {
    const child = spawn(input.command, [...input.args], {
      cwd: input.cwd,
      detached: true,
      stdio: ['ignore', fd, fd],
      env: input.env ?? process.env,
    });
    if (child.pid === undefined) throw new Error(`could not spawn ${input.command}`);
    child.on('error', () => undefined);
    child.unref();
    writeFileSync(input.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (exited, not yet reaped by its parent) still answers kill(0).
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}

/** Guards against pid reuse: on Linux the command line must contain `marker`. */
export function pidMatches(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
  } catch {
    return isAlive(pid);
  }
}

/** The pid from `file` if that process is alive and is what we started, else undefined. */
export function runningPid(file: string, marker: string): number | undefined {
  const pid = readPid(file);
  return pid !== undefined && isAlive(pid) && pidMatches(pid, marker) ? pid : undefined;
}

/** SIGTERM, wait up to `timeoutMs`, then SIGKILL. Resolves once the process is gone. */
export async function stopProcess(pid: number, timeoutMs: number): Promise<'terminated' | 'killed' | 'not-running'> {
  if (!isAlive(pid)) return 'not-running';
  signal(pid, 'SIGTERM');
  if (await pollUntil(() => !isAlive(pid), { timeoutMs, intervalMs: 100 })) return 'terminated';
  signal(pid, 'SIGKILL');
  await pollUntil(() => !isAlive(pid), { timeoutMs: 5000, intervalMs: 100 });
  return 'killed';
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    // The child leads its own process group (detached): signal the group, so helpers die too.
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

export function removeFile(file: string): void {
  rmSync(file, { force: true });
}

/** Last lines of a log file, for error messages when a service dies during start. */
export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
