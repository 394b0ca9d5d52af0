/** RESULTS.md: each `--write-results` run appends one dated section (never the smoke run). */

import { appendFile, readFile, writeFile } from 'node:fs/promises';
import type { MachineInfo } from './machine.js';
import { markdownTable, type BenchRow } from './table.js';
import type { Check } from './types.js';

export const RESULTS_FILE = new URL('./RESULTS.md', import.meta.url);

export interface ResultsSection {
  rows: readonly BenchRow[];
  checks: readonly Check[];
  notes: readonly string[];
  machine: MachineInfo;
  command: string;
  events: number;
}

export function resultsSection(s: ResultsSection): string {
  const m = s.machine;
  const failed = s.checks.filter((c) => !c.ok);
  return [
    `## Run ${m.date}`,
    '',
    `- command: \`${s.command}\``,
    `- backlog: ${s.events.toLocaleString('en-US')} records on the emails topic`,
    `- machine: nproc ${m.nproc}, ${m.cpuModel}, ${m.memoryGiB} GiB RAM, node ${m.node}, ${m.java}, kafkajs ${m.kafkajs}`,
    '',
    markdownTable(s.rows),
    '',
    `Correctness checks: ${s.checks.length - failed.length}/${s.checks.length} passed${failed.length ? ` — FAILED: ${failed.map((c) => `${c.scenario}: ${c.name} ${c.detail}`).join('; ')}` : ''}.`,
    ...s.notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
}

export async function writeResults(s: ResultsSection): Promise<string> {
  const existing = await readFile(RESULTS_FILE, 'utf8').catch(() => '');
  if (existing === '') await writeFile(RESULTS_FILE, '# Benchmark results (DESIGN.md §8)\n\n');
  await appendFile(RESULTS_FILE, `\n${resultsSection(s)}`);
  return RESULTS_FILE.pathname;
}
