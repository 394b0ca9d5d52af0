import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';

/** The machine a result was measured on (RESULTS.md header). */
export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  java: string;
  kafkajs: string;
  date: string;
}

export function machineInfo(): MachineInfo {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    cpuModel = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpuModel;
  } catch {
    // not Linux
  }
  const probe = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const java = `${probe.stderr ?? ''}${probe.stdout ?? ''}`.split('\n')[0]?.trim() || 'not found';
  let nproc = cpus().length;
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) || nproc;
  } catch {
    // keep os.cpus()
  }
  const kafkajs = (JSON.parse(readFileSync(new URL('../node_modules/kafkajs/package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return { nproc, cpuModel, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, java, kafkajs, date: new Date().toISOString() };
}
