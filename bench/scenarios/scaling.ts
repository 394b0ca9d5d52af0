import { drainWithChildren } from '../child-run.js';
import { progress } from '../progress.js';
import { ratePerSecond, ratio } from '../stats.js';
import { check, type BenchContext, type ScenarioResult } from '../types.js';

/**
 * Throughput of one and of two processor instances (child processes, one group per role) over
 * the same backlog. On a 2-core machine that also runs Kafka, Redis and Azurite, a second
 * instance mostly adds rebalancing and contention: the number shows overhead, not gain.
 */
export async function scalingScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const name = 'scaling';
  const runs = [];
  for (const instances of [1, 2]) {
    progress(`scaling: ${instances} instance(s)`);
    runs.push(await drainWithChildren(ctx, instances));
  }
  const [one, two] = runs as [(typeof runs)[0], (typeof runs)[0]];
  const rate = (r: typeof one): number => ratePerSecond(ctx.backlog, r.steadyMs);
  return {
    rows: runs.map((r) => ({
      scenario: name,
      metric: `${r.instances} instance(s), all roles`,
      value: rate(r),
      unit: 'ev/s',
      reference: r.instances === 2 ? `${ratio(rate(two), rate(one)).toFixed(2)}× of 1 instance` : 'child process',
      note: `first record → last offset applied; ${r.fenced} fenced batches; rebalance of the 2nd join included`,
    })),
    checks: runs.flatMap((r) => [
      { scenario: name, name: `${r.instances} instance(s) drained`, ok: r.drained, detail: r.drained ? 'yes' : 'timed out' },
      check(name, `${r.instances} instance(s) stored offsets`, r.storedOffsets, ctx.backlog),
    ]),
    notes: ['scaling: 2 cores are shared by Kafka, Redis, Azurite and every processor; a second instance shows coordination overhead more than gain.'],
  };
}
