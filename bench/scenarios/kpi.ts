import type { BenchContext, ScenarioResult } from '../types.js';

/** TODO (gap): not written yet — see bench/RESULTS.md "Gaps". Reports the gap instead of a number. */
export async function kpiScenario(_ctx: BenchContext): Promise<ScenarioResult> {
  return { rows: [{ scenario: 'kpi', metric: 'not measured', value: 'TODO', unit: '', note: 'scenario not written yet (gap)' }], checks: [] };
}
