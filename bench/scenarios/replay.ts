import { createRedis } from '../../core/redis.js';
import { runReplay } from '../../replay/replay-runner.js';
import { freshSinks } from '../env.js';
import { progress } from '../progress.js';
import { orgDayTotals } from '../projection-totals.js';
import { ratePerSecond } from '../stats.js';
import { check, type BenchContext, type ScenarioResult } from '../types.js';

/**
 * DESIGN §8 replay into a fresh projection: `runReplay` over the backlog into an empty Redis
 * prefix (so nothing live competes), timed by the replay itself (control read + fold to the end).
 */
export async function replayScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const name = 'replay';
  const sinks = freshSinks(ctx.config);
  ctx.sinks.push(sinks);
  const redis = createRedis(sinks);
  try {
    progress(`replay: rebuilding a fresh projection from ${ctx.backlog} records`);
    const result = await runReplay({ config: sinks, kafka: ctx.kafka, redis }, { lagThreshold: 0 });
    const x = ctx.workload.expected;
    const totals = await orgDayTotals(redis, sinks.redisPrefix, ['emails', 'opens', 'clicks'], result.version);
    return {
      rows: [
        {
          scenario: name,
          metric: 'replay into a fresh projection',
          value: ratePerSecond(result.counters.records, result.elapsedMs),
          unit: 'ev/s',
          reference: '≥ 200k/s',
          note: `${result.counters.records} records, ${result.counters.batches} batches, ${(result.elapsedMs / 1000).toFixed(2)} s incl. lock, control read and switch`,
        },
      ],
      checks: [
        { scenario: name, name: 'switched', ok: result.status === 'switched', detail: result.status },
        check(name, 'records replayed', result.counters.records, ctx.backlog),
        check(name, 'collected + duplicates', result.counters.collected + result.counters.duplicates, x.collected),
        check(name, 'sum of org-day emails', totals.emails!, x.emails),
        check(name, 'sum of org-day opens', totals.opens!, x.opens),
        check(name, 'sum of org-day clicks', totals.clicks!, x.clicks),
      ],
    };
  } finally {
    redis.disconnect();
  }
}
