/**
 * A bench run that dies (out of memory, kill -9, a closed terminal) cannot delete what it made:
 * its topics, consumer groups, Redis keys and containers stay on the local stack, and every later
 * run, test and projector start scans past them (half a million left keys made the test suite three
 * times slower). So each run registers itself under `.stack/bench/<id>.json` with its pid; the next
 * run deletes what registered runs whose process is gone left behind.
 */

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stackPaths } from '../stack/paths.js';
import { isAlive as isRunning } from '../stack/processes.js';

export interface BenchRun {
  /** the run's TOPIC_PREFIX; its Redis prefixes and containers start with it too */
  prefix: string;
  pid: number;
  startedAt: string;
}

const DIR = path.join(stackPaths().dir, 'bench');

function fileOf(prefix: string, dir: string): string {
  return path.join(dir, `${prefix}.json`);
}

export function registerRun(prefix: string, dir = DIR): void {
  mkdirSync(dir, { recursive: true });
  const run: BenchRun = { prefix, pid: process.pid, startedAt: new Date().toISOString() };
  writeFileSync(fileOf(prefix, dir), JSON.stringify(run));
}

export function unregisterRun(prefix: string, dir = DIR): void {
  rmSync(fileOf(prefix, dir), { force: true });
}

/** Registered runs whose process is gone (an unreadable registration counts as gone). */
export function deadRuns(dir = DIR, isAlive: (pid: number) => boolean = isRunning): BenchRun[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const dead: BenchRun[] = [];
  for (const name of names) {
    const prefix = name.slice(0, -'.json'.length);
    try {
      const run = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as BenchRun;
      if (!Number.isInteger(run.pid) || run.pid <= 0 || !isAlive(run.pid)) dead.push({ ...run, prefix });
    } catch {
      dead.push({ prefix, pid: 0, startedAt: 'unknown' });
    }
  }
  return dead;
}
