import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deadRuns, registerRun, unregisterRun } from '../../bench/leftovers.js';

describe('bench run registrations', () => {
  it('lists the runs whose process is gone, an unreadable registration or one without a pid included, and forgets an unregistered one', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-runs-'));
    registerRun('bench-aaaa', dir);
    registerRun('bench-bbbb', dir);
    writeFileSync(path.join(dir, 'bench-cccc.json'), '{not json');
    writeFileSync(path.join(dir, 'bench-dddd.json'), JSON.stringify({ prefix: 'bench-dddd', pid: 0, startedAt: 'x' }));
    const alive = (pid: number) => pid === process.pid;
    expect(deadRuns(dir, alive).map((r) => r.prefix).sort()).toEqual(['bench-cccc', 'bench-dddd']);
    expect(deadRuns(dir, () => false).map((r) => r.prefix).sort()).toEqual(['bench-aaaa', 'bench-bbbb', 'bench-cccc', 'bench-dddd']);
    expect(deadRuns(dir, () => false).find((r) => r.prefix === 'bench-aaaa')?.pid).toBe(process.pid);
    unregisterRun('bench-aaaa', dir);
    expect(deadRuns(dir, () => false).map((r) => r.prefix).sort()).toEqual(['bench-bbbb', 'bench-cccc', 'bench-dddd']);
  });

  it('has nothing to say about a directory that does not exist', () => {
    expect(deadRuns(path.join(tmpdir(), 'no-such-bench-dir-xyz'))).toEqual([]);
  });
});
