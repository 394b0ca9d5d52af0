/**
 * Pure side of the HTTP load runs (tracking and kpi scenarios): what the parent asks the load
 * child for, what the child answers on stdout, and how the child condenses autocannon's result
 * and its own per-response latencies into that answer.
 */

import { percentile } from './stats.js';

export interface LoadSpec {
  /** e.g. http://127.0.0.1:40123 */
  baseUrl: string;
  /** request paths, sent round robin over every connection */
  paths: string[];
  headers?: Record<string, string>;
  /** closed loop: each connection sends its next request when the previous answer arrived */
  connections: number;
  /** stop after this many requests … */
  amount: number;
  /** … or after this long, whichever comes first */
  maxDurationMs: number;
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export interface LoadResult {
  /** responses received (any status) */
  responses: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** status code → count */
  statusCodes: Record<string, number>;
  /** first request sent → last response received */
  elapsedMs: number;
  requestsPerSecond: number;
  /** of the 2xx responses, in milliseconds (sub-millisecond resolution) */
  latencyMs: LatencySummary;
  /** whether every requested `amount` was answered, or the duration cap stopped the run */
  endedBy: 'amount' | 'duration';
  connections: number;
}

/** The fields of autocannon's result the child reads (autocannon.Result is wider). */
export interface AutocannonResultLike {
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  statusCodeStats?: Record<string, { count?: number | undefined }>;
}

export function latencySummary(samples: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  const list = sorted as unknown as number[];
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
    p50: percentile(list, 50),
    p90: percentile(list, 90),
    p99: percentile(list, 99),
    p999: percentile(list, 99.9),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
  };
}

/** Combines autocannon's counters with the child's own timing and 2xx latency samples. */
export function toLoadResult(
  spec: Pick<LoadSpec, 'amount' | 'connections'>,
  result: AutocannonResultLike,
  latencies: ArrayLike<number>,
  elapsedMs: number,
): LoadResult {
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count ?? 0]));
  const responses = Object.values(statusCodes).reduce((s, n) => s + n, 0);
  return {
    responses,
    ok2xx: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    elapsedMs,
    requestsPerSecond: elapsedMs > 0 ? (responses * 1000) / elapsedMs : 0,
    latencyMs: latencySummary(latencies),
    endedBy: responses >= spec.amount ? 'amount' : 'duration',
    connections: spec.connections,
  };
}

const NUMBER_FIELDS = ['responses', 'ok2xx', 'non2xx', 'errors', 'timeouts', 'elapsedMs', 'requestsPerSecond', 'connections'] as const;
const LATENCY_FIELDS = ['count', 'mean', 'p50', 'p90', 'p99', 'p999', 'max'] as const;

/**
 * Reads the load child's stdout: its last non-empty line is one JSON LoadResult (NaN percentiles
 * travel as null). Throws with the offending text when the child printed anything else.
 */
export function parseLoadResult(stdout: string): LoadResult {
  const line = stdout.split('\n').map((l) => l.trim()).filter(Boolean).pop();
  if (line === undefined) throw new Error('load child printed no result');
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw new Error(`load child printed no JSON result: ${line.slice(0, 200)}`);
  }
  const r = raw as Record<string, unknown>;
  const bad = (what: string): Error => new Error(`load child result has no valid ${what}: ${line.slice(0, 200)}`);
  if (typeof r !== 'object' || r === null) throw bad('object');
  for (const f of NUMBER_FIELDS) if (typeof r[f] !== 'number' || !Number.isFinite(r[f])) throw bad(f);
  if (r.endedBy !== 'amount' && r.endedBy !== 'duration') throw bad('endedBy');
  const codes = r.statusCodes as Record<string, unknown> | undefined;
  if (typeof codes !== 'object' || codes === null || Object.values(codes).some((n) => typeof n !== 'number')) throw bad('statusCodes');
  const lat = r.latencyMs as Record<string, unknown> | undefined;
  if (typeof lat !== 'object' || lat === null) throw bad('latencyMs');
  const latencyMs = Object.fromEntries(
    LATENCY_FIELDS.map((f) => {
      const v = lat[f];
      if (v === null) return [f, Number.NaN];
      if (typeof v !== 'number') throw bad(`latencyMs.${f}`);
      return [f, v];
    }),
  ) as unknown as LatencySummary;
  return { ...(r as unknown as LoadResult), statusCodes: codes as Record<string, number>, latencyMs };
}

/** True when every response of a run had the given status and nothing failed on the way. */
export function allStatus(result: LoadResult, status: number): boolean {
  return result.errors === 0 && result.timeouts === 0 && result.responses > 0 && (result.statusCodes[String(status)] ?? 0) === result.responses;
}

/** `200: 1999, 503: 1` — a status histogram for check details. */
export function statusLine(result: LoadResult): string {
  const codes = Object.entries(result.statusCodes).map(([c, n]) => `${c}: ${n}`);
  return [...codes, `errors: ${result.errors}`, `timeouts: ${result.timeouts}`].join(', ');
}
