/**
 * DESIGN §8 live pipeline: one processor instance with every role (startProcessors) draining the
 * backlog, next to a bare kafkajs consumer that only decodes, measured in the same run.
 * Both are timed in steady state: from the first batch processed to the last offset applied
 * (projector: offsets stored in Redis; lander: records consumed), group join excluded.
 */

import { PROCESSOR_CONSUMER, PROCESSOR_RUN, PROJECTOR_FETCH } from '../../core/consumer-options.js';
import { createRedis } from '../../core/redis.js';
import { topicsFor } from '../../core/topics.js';
import { startProcessors } from '../../processors/index.js';
import { metrics } from '../../processors/metrics.js';
import type { RoleStats } from '../../processors/stats.js';
import { bareDecodeConsumer } from '../kafka-io.js';
import { progress } from '../progress.js';
import { commandUsec, redisCpuMicros, usecBetween } from '../redis-cpu.js';
import { orgDayTotals, storedOffsetSum } from '../projection-totals.js';
import { ratePerSecond, ratio } from '../stats.js';
import { check, type BenchContext, type Check, type ScenarioResult } from '../types.js';

const POLL_MS = 5;
/** The bare consumer gets the projector's fetch settings, so the ratio compares processing, not fetch tuning. */
const BASELINE_CONSUMER_OPTIONS = {
  maxWaitTimeInMs: PROCESSOR_CONSUMER.maxWaitTimeInMs,
  ...PROJECTOR_FETCH,
  partitionsConsumedConcurrently: PROCESSOR_RUN.partitionsConsumedConcurrently,
};

async function processedTotal(role: string): Promise<number> {
  const values = (await metrics.processed.get()).values;
  return values.filter((v) => v.labels.role === role).reduce((s, v) => s + v.value, 0);
}

export async function pipelineScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const { config, kafka, backlog, workload } = ctx;
  const topic = topicsFor(config).emails;
  const name = 'pipeline';

  progress(`pipeline: baseline (bare consumer, decode only) over ${backlog} records`);
  const baseline = await bareDecodeConsumer(kafka, topic, `${config.topicPrefix}.bench-baseline`, backlog, BASELINE_CONSUMER_OPTIONS);
  const baselineRate = ratePerSecond(baseline.records, baseline.steadyMs);
  progress(`pipeline: baseline ${Math.round(baselineRate)} ev/s (join ${baseline.joinMs} ms)`);

  const redis = createRedis(config);
  const before = { projector: await processedTotal('projector'), lander: await processedTotal('lander') };
  let firstAt = 0;
  let projectedAt = 0;
  let landedAt = 0;
  let stop = false;
  const runAt = Date.now();
  const watcher = (async () => {
    while (!stop) {
      const [p, l] = [(await processedTotal('projector')) - before.projector, (await processedTotal('lander')) - before.lander];
      const now = Date.now();
      if (firstAt === 0 && p + l > 0) firstAt = now;
      if (landedAt === 0 && l >= backlog) landedAt = now;
      if (projectedAt === 0 && p > 0 && (await storedOffsetSum(redis, config.redisPrefix, topic)) === backlog) projectedAt = Date.now();
      if (projectedAt && landedAt) return;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  })();
  const usecBefore = await commandUsec(redis);
  const redisCpuBefore = await redisCpuMicros(redis);
  const cpuBefore = process.cpuUsage();
  progress('pipeline: startProcessors (projector + lander + control)');
  const handle = await startProcessors(config);
  const deadline = Date.now() + (ctx.smoke ? 90_000 : 900_000);
  let lastShown = Date.now();
  while (!(projectedAt && landedAt) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    if (Date.now() - lastShown > 3000) {
      lastShown = Date.now();
      const s = handle.stats();
      progress(`pipeline: projector ${(s.projector as RoleStats).records}/${backlog}, lander ${(s.lander as RoleStats).records}/${backlog}`);
    }
  }
  stop = true;
  await watcher;
  const stats = handle.stats();
  const redisCpu = usecBetween(usecBefore, await commandUsec(redis));
  const redisMicros = (await redisCpuMicros(redis)) - redisCpuBefore;
  const cpu = process.cpuUsage(cpuBefore);
  await handle.stop();
  const projector = stats.projector as RoleStats;
  const lander = stats.lander as RoleStats;
  const x = workload.expected;

  const checks: Check[] = [
    { scenario: name, name: 'drained in time', ok: projectedAt > 0 && landedAt > 0, detail: projectedAt && landedAt ? 'yes' : 'timed out' },
    check(name, 'projector stored offsets', await storedOffsetSum(redis, config.redisPrefix, topic), backlog),
    check(name, 'lander records consumed', lander.records, backlog),
    check(name, 'dead letters', projector.deadLettered, x.garbage),
    check(name, 'gated out (opt-outs)', projector.gatedOut.contact_opted_out, x.gatedOut),
    check(name, 'collected + duplicates', projector.collected + projector.duplicates, x.collected),
    check(name, 'lander collected', lander.collected, x.collected),
  ];
  const totals = await orgDayTotals(redis, config.redisPrefix, ['emails', 'opens', 'machineOpens', 'clicks', 'machineClicks']);
  for (const field of ['emails', 'opens', 'machineOpens', 'clicks', 'machineClicks'] as const) checks.push(check(name, `sum of org-day ${field}`, totals[field]!, x[field]));
  redis.disconnect();
  ctx.projected = config;

  const end = Math.max(projectedAt, landedAt);
  const rate = ratePerSecond(backlog, end - firstAt);
  const projectorRate = ratePerSecond(backlog, projectedAt - firstAt);
  const landerRate = ratePerSecond(backlog, landedAt - firstAt);
  progress(`pipeline: ${Math.round(rate)} ev/s steady (join ${firstAt - runAt} ms excluded)`);
  return {
    rows: [
      { scenario: name, metric: 'baseline: bare consumer, decode only', value: baselineRate, unit: 'ev/s', reference: 'same run', note: `${backlog} records, join ${baseline.joinMs} ms excluded` },
      { scenario: name, metric: 'one processor, all roles', value: rate, unit: 'ev/s', reference: '≥ 100k/s', note: `first batch → last offset applied; start+join ${firstAt - runAt} ms excluded` },
      { scenario: name, metric: 'ratio to baseline', value: ratio(rate, baselineRate), unit: '×', reference: '≥ 0.7×' },
      { scenario: name, metric: 'projector done', value: projectorRate, unit: 'ev/s', note: `${((projectedAt - firstAt) / 1000).toFixed(2)} s, ${projector.batches} batches (${Math.round(projector.records / Math.max(1, projector.batches))} records each)` },
      {
        scenario: name,
        metric: 'Redis CPU per projected event',
        value: redisMicros / backlog,
        unit: 'µs',
        reference: '≤ 2 µs',
        note: `INFO cpu (main thread) over the run, every client of this Redis included; commandstats top: ${redisCpu.top.map(([c, u]) => `${c} ${(u / 1e6).toFixed(2)} s`).join(', ')}`,
      },
      {
        scenario: name,
        metric: 'processor CPU per event (all roles)',
        value: (cpu.user + cpu.system) / backlog,
        unit: 'µs',
        note: 'user + system time of the bench process while the in-process processors drained the backlog',
      },
      { scenario: name, metric: 'lander consumed', value: landerRate, unit: 'ev/s', note: `${((landedAt - firstAt) / 1000).toFixed(2)} s, ${lander.blobsUploaded} blobs by then` },
    ],
    checks,
  };
}
