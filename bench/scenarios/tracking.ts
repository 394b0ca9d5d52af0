import type { BenchContext, ScenarioResult } from '../types.js';

/** TODO (gap): not written yet — see bench/RESULTS.md "Gaps". Reports the gap instead of a number. */
export async function trackingScenario(_ctx: BenchContext): Promise<ScenarioResult> {
  return { rows: [{ scenario: 'tracking', metric: 'not measured', value: 'TODO', unit: '', note: 'scenario not written yet (gap)' }], checks: [] };
}
