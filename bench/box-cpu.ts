/**
 * Where the whole box's CPU went during a measured load: every thread of every process, read from
 * /proc before and after, and grouped by who it serves (the server's event loop, the server's other
 * threads, the load generator, Kafka, Redis, the bench itself, the rest). On the 2-core box the
 * server shares its cores with all of them, so its own CPU per request does not say why a route
 * reaches the rate it does; this does: with the box as busy under a route as under `/healthz`, a
 * route that costs the box twice the CPU per request reaches about half the rate, and the parts say
 * which thread pays the difference; a box left partly idle is limited by its busiest thread (a
 * server's one event loop). Linux only (the bench runs there).
 */

import { readdirSync, readFileSync } from 'node:fs';

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

/**
 * A process's or a thread's CPU times from its /proc stat line, in µs: its own (utime + stime,
 * fields 14 and 15) and its children's that ended and were waited for (cutime + cstime, 16 and 17).
 * Fields count from the last ')': the name before it may hold spaces and parentheses. Pure.
 */
export function statTimes(line: string): { own: number; endedChildren: number } {
  const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
  return { own: (Number(fields[11]) + Number(fields[12])) * TICK_MICROS, endedChildren: (Number(fields[13]) + Number(fields[14])) * TICK_MICROS };
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
  const out: ThreadTime[] = [{ pid: process.pid, tid: ENDED_CHILDREN_TID, comm: 'ended children', micros: statTimes(readFileSync('/proc/self/stat', 'utf8')).endedChildren }];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      for (const task of readdirSync(`/proc/${pid}/task`)) {
        out.push({ pid, tid: Number(task), comm, micros: statTimes(readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8')).own });
      }
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export const BOX_PARTS = ['server event loop', 'server other threads', 'load generator (wrk)', 'Kafka (java)', 'Redis', 'bench process', 'rest of the box'] as const;
export type BoxPart = (typeof BOX_PARTS)[number];

/** The box's CPU time from the first line of /proc/stat, in µs: busy (all but idle and iowait) and all. */
export interface CoreTimes {
  busyMicros: number;
  allMicros: number;
}

/** The `cpu` line of /proc/stat (user nice system idle iowait irq softirq steal …, in ticks summed over the cores). Pure. */
export function parseCpuLine(stat: string): CoreTimes {
  const line = stat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no cpu line');
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const all = ticks.reduce((sum, t) => sum + t, 0);
  const idle = ticks[3]! + ticks[4]!;
  return { busyMicros: (all - idle) * TICK_MICROS, allMicros: all * TICK_MICROS };
}

export interface BoxCpu {
  /** µs of CPU per part, every part present: what the threads alive at the end of the window used */
  parts: Record<BoxPart, number>;
  /**
   * µs the box's cores were busy (/proc/stat): the parts, plus what no thread read at the end
   * carries (threads that ended within the window, interrupts, children no one here waited for)
   */
  busyMicros: number;
  /** share of the box's cores busy over the window, 0..1 */
  busy: number;
}

/** Which part a thread's time counts for. Pure. */
export function partOf(thread: ThreadTime, who: { serverPid: number; benchPid: number }): BoxPart {
  // The bench's children reaped within a load are its wrk runs (and `wrk --version`); the API
  // child and processor children live across it. Checked first: the bare-GIF server is the bench.
  if (thread.comm === 'wrk' || (thread.pid === who.benchPid && thread.tid === ENDED_CHILDREN_TID)) return 'load generator (wrk)';
  if (thread.pid === who.serverPid) return thread.tid === thread.pid ? 'server event loop' : 'server other threads';
  if (thread.pid === who.benchPid) return 'bench process';
  if (thread.comm === 'java') return 'Kafka (java)';
  if (thread.comm === 'redis-server') return 'Redis';
  return 'rest of the box';
}

/** What each part used between two readings of the threads (one started in between counts from zero), and the box's busy time between two of /proc/stat. Pure. */
export function boxCpuBetween(before: readonly ThreadTime[], after: readonly ThreadTime[], who: { serverPid: number; benchPid: number }, cores: { before: CoreTimes; after: CoreTimes }): BoxCpu {
  const earlier = new Map(before.map((t) => [`${t.pid}/${t.tid}`, t.micros]));
  const parts = Object.fromEntries(BOX_PARTS.map((p) => [p, 0])) as Record<BoxPart, number>;
  for (const thread of after) {
    const used = thread.micros - (earlier.get(`${thread.pid}/${thread.tid}`) ?? 0);
    if (used > 0) parts[partOf(thread, who)] += used;
  }
  const busyMicros = cores.after.busyMicros - cores.before.busyMicros;
  const allMicros = cores.after.allMicros - cores.before.allMicros;
  return { parts, busyMicros, busy: allMicros > 0 ? busyMicros / allMicros : 0 };
}

/** µs of the busy time no part carries (0 when the parts' 10 ms ticks round above it). Pure. */
export function unattributedMicros(box: BoxCpu): number {
  return Math.max(0, box.busyMicros - BOX_PARTS.reduce((sum, p) => sum + box.parts[p], 0));
}

/** Two windows as one (a baseline measured half before and half after). Pure. */
export function addBoxCpu(a: BoxCpu, b: BoxCpu, aMicros: number, bMicros: number): BoxCpu {
  const parts = Object.fromEntries(BOX_PARTS.map((p) => [p, a.parts[p] + b.parts[p]])) as Record<BoxPart, number>;
  const elapsed = aMicros + bMicros;
  return { parts, busyMicros: a.busyMicros + b.busyMicros, busy: elapsed > 0 ? (a.busy * aMicros + b.busy * bMicros) / elapsed : 0 };
}

const readCores = (): CoreTimes => parseCpuLine(readFileSync('/proc/stat', 'utf8'));

/**
 * `run`, with the box's CPU over it. What a load leaves for afterwards (a spool drained once wrk
 * has stopped: a few ms of records) falls outside.
 */
export async function withBoxCpu<T>(serverPid: number, run: () => Promise<T>): Promise<{ result: T; box: BoxCpu; elapsedMicros: number }> {
  const before = readBoxThreads();
  const coresBefore = readCores();
  const started = performance.now();
  const result = await run();
  const elapsedMicros = (performance.now() - started) * 1000;
  const coresAfter = readCores();
  const box = boxCpuBetween(before, readBoxThreads(), { serverPid, benchPid: process.pid }, { before: coresBefore, after: coresAfter });
  return { result, box, elapsedMicros };
}

/** "µs per request: server event loop 92, …, not attributed 4; box 83% busy": each part that used any. Pure. */
export function describeBoxCpu(box: BoxCpu, requests: number): string {
  const per = (micros: number) => (micros / Math.max(1, requests)).toFixed(0);
  const used = BOX_PARTS.filter((p) => box.parts[p] > 0).map((p) => `${p} ${per(box.parts[p])}`);
  const rest = unattributedMicros(box);
  if (rest > 0) used.push(`not attributed ${per(rest)}`);
  return `µs per request: ${used.join(', ')}; box ${(box.busy * 100).toFixed(0)}% busy`;
}
