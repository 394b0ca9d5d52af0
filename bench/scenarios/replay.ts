import { createRedis } from '../../core/redis.js';
import { runReplay } from '../../replay/replay-runner.js';
import { freshSinks } from '../env.js';
import { foldAlone } from '../fold-alone.js';
import { progress } from '../progress.js';
import { commandUsec, redisCpuMicros, usecBetween } from '../redis-cpu.js';
import { orgDayTotals } from '../projection-totals.js';
import { ratePerSecond } from '../stats.js';
import { check, type BenchContext, type ScenarioResult } from '../types.js';

/**
 * DESIGN §8 replay into a fresh projection: `runReplay` over the backlog into an empty Redis
 * prefix (so nothing live competes), timed by the replay itself (control read + fold to the end),
 * once with the live projector's per-batch script (the baseline of the same run), once with the
 * in-memory fold that writes each key once (the default).
 */
export async function replayScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const name = 'replay';
  const rows: ScenarioResult['rows'] = [];
  const checks: ScenarioResult['checks'] = [];
  let foldCollected: number | undefined;
  let foldRate: number | undefined;
  // The write path of the live projector (one script per batch) first, as the baseline of the same run.
  for (const writePath of ['per-batch', 'fold'] as const) {
    const sinks = freshSinks(ctx.config);
    ctx.sinks.push(sinks);
    const redis = createRedis(sinks);
    try {
      progress(`replay (${writePath}): rebuilding a fresh projection from ${ctx.backlog} records`);
      // CPU per event, not only wall time: on a shared box the wall time says more about the neighbours.
      const usecBefore = await commandUsec(redis);
      const redisCpuBefore = await redisCpuMicros(redis);
      const cpuBefore = process.cpuUsage();
      // the fold's state lives in this process's heap: its peak, sampled at each progress report
      let peakHeap = process.memoryUsage().heapUsed;
      const onProgress = (): void => {
        peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
      };
      const result = await runReplay({ config: sinks, kafka: ctx.kafka, redis }, { lagThreshold: 0, writePath, onProgress });
      const cpu = process.cpuUsage(cpuBefore);
      const redisCpu = usecBetween(usecBefore, await commandUsec(redis));
      const redisMicros = (await redisCpuMicros(redis)) - redisCpuBefore;
      const x = ctx.workload.expected;
      const totals = await orgDayTotals(redis, sinks.redisPrefix, ['emails', 'opens', 'clicks'], result.version);
      const rate = ratePerSecond(result.counters.records, result.elapsedMs);
      progress(`replay (${writePath}): ${Math.round(rate)} ev/s`);
      if (writePath === 'fold') {
        foldCollected = result.counters.collected;
        foldRate = rate;
      }
      rows.push({
        scenario: name,
        metric: writePath === 'fold' ? 'replay into a fresh projection' : 'baseline: replay with the per-batch script',
        value: rate,
        unit: 'ev/s',
        reference: writePath === 'fold' ? '≥ 200k/s' : 'same run',
        note: `${result.counters.records} records, ${result.counters.batches} batches, ${(result.elapsedMs / 1000).toFixed(2)} s incl. lock, control read and switch`,
      });
      const events = Math.max(1, result.counters.records);
      rows.push({
        scenario: name,
        metric: `${writePath}: CPU per event, replay process / Redis`,
        value: (cpu.user + cpu.system) / events,
        unit: 'µs',
        note: `Redis ${(redisMicros / events).toFixed(2)} µs/event (INFO cpu, main thread); commandstats top: ${redisCpu.top.map(([c, u]) => `${c} ${(u / 1e6).toFixed(2)} s`).join(', ')}`,
      });
      const spilled = result.counters.foldSpilledAt;
      rows.push({
        scenario: name,
        metric: `${writePath}: peak heap of the replay process`,
        value: peakHeap / 1_048_576,
        unit: 'MiB',
        note:
          spilled === null
            ? `the bench's own workload included; ${writePath === 'fold' ? 'the fold held its whole state in memory' : 'the state is in Redis'}`
            : `the fold reached its budget (REPLAY_FOLD_MAX_MB) after ${spilled} records and went on per batch`,
      });
      const label = (what: string): string => `${writePath}: ${what}`;
      checks.push(
        { scenario: name, name: label('switched'), ok: result.status === 'switched', detail: result.status },
        check(name, label('records replayed'), result.counters.records, ctx.backlog),
        check(name, label('collected + duplicates'), result.counters.collected + result.counters.duplicates, x.collected),
        check(name, label('sum of org-day emails'), totals.emails!, x.emails),
        check(name, label('sum of org-day opens'), totals.opens!, x.opens),
        check(name, label('sum of org-day clicks'), totals.clicks!, x.clicks),
      );
    } finally {
      redis.disconnect();
    }
  }
  progress(`replay: the fold alone, in this process (no Kafka, no Redis), over ${ctx.workload.emails.length} records`);
  const alone = await foldAlone(ctx.workload.control, ctx.workload.emails, ctx.config);
  const aloneRate = ratePerSecond(alone.records, alone.wallMs);
  rows.push({
    scenario: name,
    metric: 'the fold alone: decode, gate, fold in memory (no Kafka, no Redis)',
    value: aloneRate,
    unit: 'ev/s',
    reference: 'ceiling of the replay',
    note: `${(alone.cpuMicros / Math.max(1, alone.records)).toFixed(1)} µs CPU per record, garbage collection ${((100 * alone.gcMs) / Math.max(1, alone.wallMs)).toFixed(0)}% of ${(alone.wallMs / 1000).toFixed(2)} s; the replay's fold ran at ${foldRate === undefined ? '?' : (foldRate / aloneRate).toFixed(2)}× it`,
  });
  // the same fold as the replay's: it must fold exactly the events the replay collected
  checks.push(check(name, 'the fold alone: events folded', alone.folded, foldCollected ?? -1));
  return { rows, checks };
}
