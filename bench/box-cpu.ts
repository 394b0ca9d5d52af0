/**
 * Where the whole box's CPU went during a measured load: every thread of every process, read from
 * /proc before and after, and grouped by who it serves (the server's event loop, the server's other
 * threads, the load generator, Kafka, Redis, the bench itself, the rest). On the 2-core box the
 * server shares its cores with all of them, so its own CPU per request does not say why a route
 * reaches the rate it does; this does: a route that costs the box twice the CPU of `/healthz` per
 * request cannot reach more than about half its rate, and a box left partly idle during a load says
 * its latency is not CPU starvation. Linux only (the bench runs there).
 */

import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export interface ThreadTime {
  pid: number;
  tid: number;
  /** the process's name (/proc/<pid>/comm): `wrk`, `java`, `redis-server`, `node` */
  comm: string;
  /** user + system time, µs */
  micros: number;
}

/** clock ticks per second of /proc's times: 100 on every Linux the bench runs on */
const TICK_MICROS = 10_000;

/** A thread's times from its /proc/<pid>/task/<tid>/stat line (utime and stime are fields 14 and 15). Pure. */
export function parseTaskStat(line: string): number {
  const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MICROS;
}

/** The times of a process's children that ended and were waited for, from /proc/<pid>/stat (cutime and cstime, fields 16 and 17). Pure. */
export function parseEndedChildren(line: string): number {
  const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * TICK_MICROS;
}

/**
 * The pseudo-thread that carries the bench's ended children: wrk runs as one, started and waited
 * for within the window, so it is in neither reading as a thread of its own.
 */
const ENDED_CHILDREN_TID = 0;

/**
 * Every thread of every process now, and this process's ended children as one more (tid 0).
 * Processes and threads that end while being read are left out.
 */
export function readBoxThreads(): ThreadTime[] {
  const out: ThreadTime[] = [{ pid: process.pid, tid: ENDED_CHILDREN_TID, comm: 'ended children', micros: parseEndedChildren(readFileSync('/proc/self/stat', 'utf8')) }];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      for (const task of readdirSync(`/proc/${pid}/task`)) {
        out.push({ pid, tid: Number(task), comm, micros: parseTaskStat(readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8')) });
      }
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export const BOX_PARTS = ['server event loop', 'server other threads', 'load generator (wrk)', 'Kafka (java)', 'Redis', 'bench process', 'rest of the box'] as const;
export type BoxPart = (typeof BOX_PARTS)[number];

export interface BoxCpu {
  /** µs of CPU per part, every part present */
  parts: Record<BoxPart, number>;
  totalMicros: number;
  /** share of the box's cores busy over the window, 0..1 */
  busy: number;
}

/** Which part a thread's time counts for. Pure. */
export function partOf(thread: ThreadTime, who: { serverPid: number; benchPid: number }): BoxPart {
  // the bench's only children that end within a load are the wrk runs
  if (thread.comm === 'wrk' || (thread.pid === who.benchPid && thread.tid === ENDED_CHILDREN_TID)) return 'load generator (wrk)';
  if (thread.pid === who.serverPid) return thread.tid === thread.pid ? 'server event loop' : 'server other threads';
  if (thread.pid === who.benchPid) return 'bench process';
  if (thread.comm === 'java') return 'Kafka (java)';
  if (thread.comm === 'redis-server') return 'Redis';
  return 'rest of the box';
}

/** The CPU each part used between two readings (threads started in between count from zero). Pure. */
export function boxCpuBetween(before: readonly ThreadTime[], after: readonly ThreadTime[], who: { serverPid: number; benchPid: number }, elapsedMicros: number, cores: number): BoxCpu {
  const earlier = new Map(before.map((t) => [`${t.pid}/${t.tid}`, t.micros]));
  const parts = Object.fromEntries(BOX_PARTS.map((p) => [p, 0])) as Record<BoxPart, number>;
  let totalMicros = 0;
  for (const thread of after) {
    const used = thread.micros - (earlier.get(`${thread.pid}/${thread.tid}`) ?? 0);
    if (used <= 0) continue;
    parts[partOf(thread, who)] += used;
    totalMicros += used;
  }
  return { parts, totalMicros, busy: elapsedMicros > 0 ? totalMicros / (elapsedMicros * cores) : 0 };
}

/** Two windows as one (a baseline measured half before and half after). Pure. */
export function addBoxCpu(a: BoxCpu, b: BoxCpu, aMicros: number, bMicros: number): BoxCpu {
  const parts = Object.fromEntries(BOX_PARTS.map((p) => [p, a.parts[p] + b.parts[p]])) as Record<BoxPart, number>;
  const elapsed = aMicros + bMicros;
  return { parts, totalMicros: a.totalMicros + b.totalMicros, busy: elapsed > 0 ? (a.busy * aMicros + b.busy * bMicros) / elapsed : 0 };
}

/** `run`, with the box's CPU over it. */
export async function withBoxCpu<T>(serverPid: number, run: () => Promise<T>): Promise<{ result: T; box: BoxCpu; elapsedMicros: number }> {
  const before = readBoxThreads();
  const started = performance.now();
  const result = await run();
  const elapsedMicros = (performance.now() - started) * 1000;
  const box = boxCpuBetween(before, readBoxThreads(), { serverPid, benchPid: process.pid }, elapsedMicros, cpus().length);
  return { result, box, elapsedMicros };
}

/** "server event loop 92, server other threads 39, …; box 83% busy": µs per request of each part that used any. Pure. */
export function describeBoxCpu(box: BoxCpu, requests: number): string {
  const per = (micros: number) => (micros / Math.max(1, requests)).toFixed(0);
  const used = BOX_PARTS.filter((p) => box.parts[p] > 0).map((p) => `${p} ${per(box.parts[p])}`);
  return `µs per request: ${used.join(', ')}; box ${(box.busy * 100).toFixed(0)}% busy`;
}
