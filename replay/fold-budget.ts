/**
 * How much a fresh build may hold in memory. The in-memory fold (projections/projector/fold-state.ts)
 * keeps every first-time flag, seen eventId, burst state and expiry of the whole log it has read:
 * ~450–500 B of live heap per record (bench/RESULTS.md), so a long enough log fills any heap, and a
 * replay that dies of it rebuilds nothing. Past the budget the build writes what it folded and
 * goes on with the live projector's per-batch script, which keeps that state in Redis: slower per
 * record in Redis, bounded in Node.
 */

import { getHeapStatistics } from 'node:v8';

export interface FoldBudget {
  /** heap bytes above which the fold stops growing */
  maxBytes: number;
  /** the heap in use now (V8's used_heap_size; a seam for tests) */
  heapUsed: () => number;
}

/** Share of V8's heap limit the fold may fill by default: the rest is for the writes' arguments and the GC's headroom. */
const DEFAULT_HEAP_SHARE = 0.5;

/** REPLAY_FOLD_MAX_MB → bytes; 0 is DEFAULT_HEAP_SHARE of this process's heap limit. */
export function foldMaxBytes(maxMb: number, heapLimit = getHeapStatistics().heap_size_limit): number {
  return maxMb > 0 ? maxMb * 1_048_576 : Math.floor(heapLimit * DEFAULT_HEAP_SHARE);
}

export function foldBudget(maxMb: number): FoldBudget {
  return { maxBytes: foldMaxBytes(maxMb), heapUsed: () => getHeapStatistics().used_heap_size };
}
