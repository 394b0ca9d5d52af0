/** Runs the DESIGN §8 scenarios on one backlog and prints one table. */

import { benchConfig, deleteContainers, deleteRun, ensureStack } from './env.js';
import { prepareBacklog } from './backlog.js';
import { machineInfo } from './machine.js';
import { progress } from './progress.js';
import { deadRuns, registerRun, unregisterRun } from './leftovers.js';
import { writeResults } from './results.js';
import { encryptionScenario } from './scenarios/encryption.js';
import { kpiScenario } from './scenarios/kpi.js';
import { landingScenario } from './scenarios/landing.js';
import { memoryScenario } from './scenarios/memory.js';
import { pipelineScenario } from './scenarios/pipeline.js';
import { replayScenario } from './scenarios/replay.js';
import { scalingScenario } from './scenarios/scaling.js';
import { trackingScenario } from './scenarios/tracking.js';
import { textTable, type BenchRow } from './table.js';
import type { BenchContext, Check, ScenarioResult } from './types.js';

export const SCENARIOS = ['pipeline', 'replay', 'tracking', 'kpi', 'memory', 'scaling', 'encryption', 'landing'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

const RUNNERS: Record<ScenarioName, (ctx: BenchContext) => Promise<ScenarioResult>> = {
  pipeline: pipelineScenario,
  replay: replayScenario,
  tracking: trackingScenario,
  kpi: kpiScenario,
  memory: memoryScenario,
  scaling: scalingScenario,
  encryption: encryptionScenario,
  landing: landingScenario,
};

export interface BenchOptions {
  scenarios: readonly ScenarioName[];
  smoke: boolean;
  /** backlog size (records on the emails topic) */
  events?: number;
  /** seconds of wrk load per HTTP route (tracking, kpi); default by size */
  seconds?: number;
  writeResults: boolean;
  command: string;
}

export const SIZES = { full: 1_000_000, smoke: 20_000 } as const;

export interface BenchOutcome {
  rows: BenchRow[];
  checks: Check[];
  failed: Check[];
  /** Ctrl-C: the run stopped early and reported nothing */
  interrupted: boolean;
}

export async function runBench(options: BenchOptions): Promise<BenchOutcome> {
  const config = benchConfig();
  // Registered before anything of this run exists, so whatever happens next, a later run can delete it.
  registerRun(config.topicPrefix);
  // Ctrl-C: the scenario in flight finishes, no other starts, this run's data is deleted and no
  // result is written; a second Ctrl-C leaves at once (the next run deletes what is left).
  let interrupted = false;
  const onSigint = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    progress('interrupted: finishing the scenario in flight, then deleting this run\'s topics, groups, Redis keys and containers (Ctrl-C again to leave them to the next run)');
  };
  process.on('SIGINT', onSigint);
  const events = options.events ?? (options.smoke ? SIZES.smoke : SIZES.full);
  const rows: BenchRow[] = [];
  const checks: Check[] = [];
  const notes: string[] = [];
  try {
    await ensureStack(config);
    for (const run of deadRuns()) {
      if (run.prefix === config.topicPrefix) continue;
      progress(`cleanup: what the bench run ${run.prefix} (pid ${run.pid}, started ${run.startedAt}) left when it died`);
      await deleteRun(config, run.prefix).then(
        () => unregisterRun(run.prefix),
        (error: unknown) => progress(`cleanup of ${run.prefix} failed (the next run tries again): ${(error as Error).message}`),
      );
    }
    if (!interrupted) {
      const ctx = await prepareBacklog(config, events, options.smoke);
      if (options.seconds !== undefined) ctx.seconds = options.seconds;
      // kpi needs projected data: the pipeline runs first whenever kpi is asked for.
      const wanted = new Set(options.scenarios);
      const order = SCENARIOS.filter((s) => wanted.has(s) || (s === 'pipeline' && wanted.has('kpi')));
      for (const name of order) {
        if (interrupted) break;
        progress(`scenario ${name}: start`);
        try {
          const result = await RUNNERS[name](ctx);
          rows.push(...result.rows);
          checks.push(...result.checks);
          notes.push(...(result.notes ?? []));
        } catch (error) {
          checks.push({ scenario: name, name: 'ran', ok: false, detail: (error as Error).stack ?? String(error) });
        }
        await deleteContainers(config, config.topicPrefix).catch((error: unknown) => progress(`deleting ${name}'s containers failed (the run's cleanup tries again): ${(error as Error).message}`));
      }
    }
  } finally {
    progress('cleanup: topics, groups, Redis keys, containers');
    // Everything under this run's prefix: its scenarios' sinks are named after it.
    await deleteRun(config, config.topicPrefix).then(
      () => unregisterRun(config.topicPrefix),
      (error: unknown) => progress(`cleanup failed (the next run tries again): ${(error as Error).message}`),
    );
    process.off('SIGINT', onSigint);
  }
  if (interrupted) {
    progress('interrupted: nothing reported or written');
    return { rows, checks, failed: [], interrupted: true };
  }
  const failed = checks.filter((c) => !c.ok);
  process.stdout.write(`\n${textTable(rows)}\n\n`);
  for (const c of checks) process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'} ${c.scenario}: ${c.name}: ${c.detail}\n`);
  for (const n of notes) process.stdout.write(`note: ${n}\n`);
  if (options.writeResults && !options.smoke) {
    const file = await writeResults({ rows, checks, notes, machine: machineInfo(), command: options.command, events });
    progress(`results: appended to ${file}`);
  } else if (options.writeResults) {
    progress('results: --smoke never writes RESULTS.md');
  }
  return { rows, checks, failed, interrupted: false };
}
