import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { boxCpuBetween, describeBoxCpu, parseCpuLine, statTimes, unattributedMicros, partOf, readBoxThreads, type ThreadTime } from '../../bench/box-cpu.js';

const who = { serverPid: 100, benchPid: 200 };
const t = (pid: number, tid: number, comm: string, micros: number): ThreadTime => ({ pid, tid, comm, micros });

describe("the whole box's CPU during a load (bench/box-cpu.ts)", () => {
  it('reads utime and stime of a stat line, whatever the thread name holds', () => {
    // a thread name with spaces and a ')' of its own: fields count from the last ')'
    const line = '4242 (node) worker) S 1 4242 4242 0 -1 4194560 1 0 0 0 250 75 30 20 20 0 11 0 100 0 0';
    expect(statTimes(line)).toEqual({ own: (250 + 75) * 10_000, endedChildren: (30 + 20) * 10_000 });
  });

  it("tells the server's event loop from its other threads, and names the others by process", () => {
    expect(partOf(t(100, 100, 'node', 0), who)).toBe('server event loop');
    expect(partOf(t(100, 101, 'node', 0), who)).toBe('server other threads');
    expect(partOf(t(200, 200, 'node', 0), who)).toBe('bench process');
    expect(partOf(t(300, 301, 'wrk', 0), who)).toBe('load generator (wrk)');
    // wrk ended within the window: the bench's waited-for children, even when the bench is the server
    expect(partOf(t(200, 0, 'ended children', 0), who)).toBe('load generator (wrk)');
    expect(partOf(t(200, 0, 'ended children', 0), { serverPid: 200, benchPid: 200 })).toBe('load generator (wrk)');
    expect(partOf(t(200, 200, 'node', 0), { serverPid: 200, benchPid: 200 })).toBe('server event loop');
    expect(partOf(t(400, 410, 'java', 0), who)).toBe('Kafka (java)');
    expect(partOf(t(500, 500, 'redis-server', 0), who)).toBe('Redis');
    expect(partOf(t(600, 600, 'node', 0), who)).toBe('rest of the box');
  });

  it('sums what each part used between two readings; a thread started meanwhile counts whole, one that ended not at all', () => {
    const before = [t(100, 100, 'node', 1_000), t(100, 101, 'node', 500), t(400, 410, 'java', 7_000), t(700, 700, 'gone', 9_000)];
    const after = [t(100, 100, 'node', 901_000), t(100, 101, 'node', 300_500), t(400, 410, 'java', 107_000), t(300, 301, 'wrk', 200_000)];
    // the cores were busy 1.6 s of 2 (two cores for a second): 0.1 s more than the threads read at the end carry
    const cores = { before: { busyMicros: 5_000_000, allMicros: 20_000_000 }, after: { busyMicros: 6_600_000, allMicros: 22_000_000 } };
    const box = boxCpuBetween(before, after, who, cores);
    expect(box.parts['server event loop']).toBe(900_000);
    expect(box.parts['server other threads']).toBe(300_000);
    expect(box.parts['Kafka (java)']).toBe(100_000);
    expect(box.parts['load generator (wrk)']).toBe(200_000);
    expect(box.parts['rest of the box']).toBe(0);
    expect(box.busyMicros).toBe(1_600_000);
    expect(box.busy).toBe(0.8);
    expect(unattributedMicros(box)).toBe(100_000);
    expect(describeBoxCpu(box, 10_000)).toBe('µs per request: server event loop 90, server other threads 30, load generator (wrk) 20, Kafka (java) 10, not attributed 10; box 80% busy');
  });

  it("takes the box's busy time from /proc/stat's cpu line: everything but idle and iowait", () => {
    const stat = 'cpu  100 5 50 800 40 3 2 0 0 0\ncpu0 50 2 25 400 20 1 1 0 0 0\nintr 1 2 3\n';
    expect(parseCpuLine(stat)).toEqual({ busyMicros: (100 + 5 + 50 + 3 + 2) * 10_000, allMicros: 1000 * 10_000 });
    expect(() => parseCpuLine('intr 1 2 3')).toThrow(/no cpu line/);
  });

  it('reads this process, its threads and its ended children from /proc', () => {
    const before = readBoxThreads();
    // a child that burns 300 ms of its own CPU (not of wall time: a loaded box may deschedule it), then is waited for
    execFileSync(process.execPath, ['-e', 'while (process.cpuUsage().user < 300000);']);
    const threads = readBoxThreads();
    const ended = (list: typeof threads) => list.find((thread) => thread.pid === process.pid && thread.tid === 0)!.micros;
    expect(ended(threads) - ended(before)).toBeGreaterThanOrEqual(250_000);
    const mine = threads.filter((thread) => thread.pid === process.pid);
    expect(mine.some((thread) => thread.tid === process.pid)).toBe(true);
    // this test's process has run: its event loop thread has used CPU
    expect(mine.find((thread) => thread.tid === process.pid)!.micros).toBeGreaterThan(0);
  });
});
