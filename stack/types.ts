import type { ServiceName, StackPaths } from './paths.js';

/** Progress callbacks so the CLI can show something while Kafka starts; tests pass nothing. */
export interface StackReporter {
  step(message: string): void;
  waiting?(service: ServiceName, elapsedMs: number): void;
}

export interface StackOptions {
  /** Defaults to `.stack/` at the repo root. */
  paths?: StackPaths;
  reporter?: StackReporter;
}

export interface ServiceState {
  service: ServiceName;
  endpoint: string;
  healthy: boolean;
  detail: string;
  /** Started by this stack (a live pid file under `.stack/pids`), so `stack down` stops it. */
  managed: boolean;
  pid?: number;
}

export interface StackUpResult {
  services: ServiceState[];
  /** Services this call started (a second `up` starts nothing). */
  started: ServiceName[];
  topics: string[];
  container: string;
}

export interface StackStatus {
  healthy: boolean;
  services: ServiceState[];
}

export type StopOutcome = 'terminated' | 'killed' | 'not-running' | 'not-managed';

export interface StackDownResult {
  stopped: Array<{ service: ServiceName; pid?: number; outcome: StopOutcome }>;
  purged: boolean;
}

export const silentReporter: StackReporter = { step: () => undefined };
