import type { Kafka } from 'kafkajs';
import type { Config } from '../core/config.js';
import type { BenchRow } from './table.js';
import type { BenchWorkload } from './workload.js';

/** What every scenario shares: the stack config, the produced backlog and its expected totals. */
export interface BenchContext {
  config: Config;
  kafka: Kafka;
  workload: BenchWorkload;
  /** records on the emails topic once the backlog is produced */
  backlog: number;
  smoke: boolean;
  /** tracking and kpi scenarios: seconds of wrk load per route (`--seconds`; default by size) */
  seconds?: number;
  /** extra configs (fresh Redis prefixes / containers) to clean up at the end */
  sinks: Config[];
  /** filled by the pipeline scenario: the Redis prefix holding the projected data */
  projected?: Config;
}

/** A correctness verdict inside the bench: a failed one makes the run exit non-zero. */
export interface Check {
  scenario: string;
  name: string;
  ok: boolean;
  detail: string;
}

export interface ScenarioResult {
  rows: BenchRow[];
  checks: Check[];
  notes?: string[];
}

export function check(scenario: string, name: string, got: number, want: number): Check {
  return { scenario, name, ok: got === want, detail: `${got} (want ${want})` };
}
