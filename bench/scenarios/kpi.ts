/**
 * DESIGN §8 KPI queries: p50/p99 latency and requests/s of the three KPI routes on the real
 * server (its own process, API role only: bench/api-child.ts), against the projection the pipeline scenario built from the backlog, each under a
 * closed-loop load from `wrk` (one thread, 10 connections) over existing email / contact ids of
 * the workload, with the admin key. Every answer must be a 200. wrk, not a Node client: on the
 * 2-core box an autocannon child took a core's share from the server it measured (p99 5.0 /
 * 5.0 / 5.5 ms under autocannon against the figures in bench/RESULTS.md under wrk, same box).
 */

import { createRedis } from '../../core/redis.js';
import { ControlStore } from '../../projections/control/control-store.js';
import { CONTACT_DAY_FIELDS, keysFor, PACKED } from '../../projections/keys.js';
import { packedLevel } from '../../projections/packed-rollups.js';
import { bucketOf, dateRange, lastDays } from '../../projections/queries/days.js';
import { EventCodec } from '../../schemas/codec.js';
import { isControlEvent, type ControlEvent } from '../../schemas/events.js';
import { describeBoxCpu, withBoxCpu } from '../box-cpu.js';
import { runWrk } from '../wrk.js';
import { redisCpuMicros } from '../redis-cpu.js';
import { progress } from '../progress.js';
import { startApiChild } from '../api-child.js';
import type { BenchContext, Check, ScenarioResult } from '../types.js';

/** seconds of wrk load per route */
export const KPI_SECONDS = { smoke: 2, full: 8 } as const;
/** Few connections: with a closed loop, latency ≈ connections / throughput (Little's law). */
const CONNECTIONS = 10;
const WARMUP_PER_ROUTE = 200;
const DAY_MS = 86_400_000;

interface Route {
  metric: string;
  paths: string[];
  /** a field every answer of this route carries, and its type */
  field: string;
  type?: 'number' | 'string';
}

export async function kpiScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const name = 'kpi';
  const config = ctx.projected;
  if (!config) throw new Error('kpi needs the projection of the pipeline scenario (it did not complete)');
  const samples = ctx.workload.samples;
  if (samples.length === 0) throw new Error('the workload has no sample (org, email, contact)');
  const seconds = ctx.seconds ?? (ctx.smoke ? KPI_SECONDS.smoke : KPI_SECONDS.full);

  // The workload's own control events, applied to the projection's control state (idempotent:
  // the pipeline's control role has normally done it already). Nothing is written to Kafka.
  const redis = createRedis(config);
  const store = new ControlStore(redis, keysFor(config.redisPrefix), undefined, config.suppressionSecret);
  const codec = new EventCodec();
  const control = ctx.workload.control.map((r) => codec.decode(r.value)).filter((e): e is ControlEvent => isControlEvent(e));
  await store.apply(control);
  const orgIds = [...new Set(samples.map((s) => s.orgId))];
  const enabled = [...(await store.readOrgs(orgIds)).values()].filter((o) => o.enabled).length;
  redis.disconnect();

  const today = new Date().toISOString().slice(0, 10);
  const from = new Date(Date.now() - 29 * DAY_MS).toISOString().slice(0, 10);
  const enc = encodeURIComponent;
  const routes: Route[] = [
    // What the box allows: the same server and load on a route that does no work (same run).
    { metric: 'baseline: GET /healthz', paths: ['/healthz'], field: 'status', type: 'string' },
    { metric: 'email KPIs', paths: samples.map((s) => `/v1/orgs/${enc(s.orgId)}/emails/${enc(s.emailId)}/kpis`), field: 'opens' },
    { metric: 'contact KPIs (30 days)', paths: [...new Set(samples.map((s) => `/v1/orgs/${enc(s.orgId)}/${s.type}s/${enc(s.contactId)}/kpis?days=30`))], field: 'emailsReceived' },
    { metric: 'org KPIs (30-day range)', paths: orgIds.map((o) => `/v1/orgs/${enc(o)}/kpis?from=${from}&to=${today}`), field: 'opens' },
  ];
  const headers = { authorization: `Bearer ${config.adminKey}` };

  progress(`kpi: server on the pipeline's projection (${config.redisPrefix}), ${samples.length} samples over ${orgIds.length} orgs`);
  const server = await startApiChild(config);
  // Redis's CPU per answer next to the API's: what a read costs where the reads queue (one Redis thread)
  const cpuProbe = createRedis(config);
  const rows: ScenarioResult['rows'] = [];
  const checks: Check[] = [{ scenario: name, name: 'sample orgs enabled', ok: enabled === orgIds.length, detail: `${enabled} (want ${orgIds.length})` }];
  try {
    for (const route of routes) {
      // JIT warm-up, and a look at one answer: a KPI document, not an error.
      const warm: Array<{ status: number; body: Record<string, unknown> }> = [];
      for (let i = 0; i < WARMUP_PER_ROUTE; i++) {
        const response = await fetch(`${server.url}${route.paths[i % route.paths.length]!}`, { headers });
        warm.push({ status: response.status, body: (await response.json()) as Record<string, unknown> });
      }
      const warmOk = warm.filter((r) => r.status === 200).length;
      const doc = warm[0]!.body;
      checks.push({
        scenario: name,
        name: `${route.metric}: warm-up answers 200 with ${route.type ? 'its document' : 'KPIs'}`,
        ok: warmOk === warm.length && typeof doc[route.field] === (route.type ?? 'number'),
        detail: `${warmOk}/${warm.length} 200; ${route.field} ${String(doc[route.field])}`,
      });
      progress(`kpi: ${route.metric}: wrk -t1 -c${CONNECTIONS} -d${seconds}s, ${route.paths.length} paths round robin`);
      const cpuBefore = server.cpuMicros();
      const redisBefore = await redisCpuMicros(cpuProbe);
      const { result: load, box } = await withBoxCpu(server.pid, () => runWrk({ baseUrl: server.url, paths: route.paths, headers, connections: CONNECTIONS, durationSeconds: seconds }));
      const lat = load.latencyMs;
      progress(`kpi: ${route.metric}: ${Math.round(load.requestsPerSecond)} req/s, p50 ${lat.p50.toFixed(2)} ms, p99 ${lat.p99.toFixed(2)} ms`);
      const note = `${load.requests} requests, ${CONNECTIONS} connections, ${route.paths.length} ids, ${load.elapsedSeconds.toFixed(2)} s`;
      const cpuPerRequest = (server.cpuMicros() - cpuBefore) / Math.max(1, load.requests);
      const redisPerRequest = ((await redisCpuMicros(cpuProbe)) - redisBefore) / Math.max(1, load.requests);
      rows.push(
        { scenario: name, metric: `${route.metric}`, value: load.requestsPerSecond, unit: 'req/s', note },
        { scenario: name, metric: `${route.metric}: API CPU per request`, value: cpuPerRequest, unit: 'µs', note: 'user + system time of the API process over the load' },
        { scenario: name, metric: `${route.metric}: Redis CPU per request`, value: redisPerRequest, unit: 'µs', note: 'INFO cpu (main thread) over the load; every client of this Redis counts' },
        // a box partly idle under the load is limited by its busiest thread (the API's event loop), not by the cores
        { scenario: name, metric: `${route.metric}: box busy`, value: box.busy * 100, unit: '%', note: describeBoxCpu(box, load.requests) },
        { scenario: name, metric: `${route.metric} p50`, value: lat.p50, unit: 'ms' },
        { scenario: name, metric: `${route.metric} p99`, value: lat.p99, unit: 'ms', reference: route.type ? 'same run' : '< 5 ms', note: `p90 ${lat.p90.toFixed(2)} ms (wrk's HdrHistogram over every request)` },
      );
      const failed = load.non2xx3xx + load.socketErrors;
      checks.push({ scenario: name, name: `${route.metric}: no error answer (wrk: every response 2xx or 3xx)`, ok: failed === 0 && load.requests > 0, detail: `${load.requests} requests, ${load.non2xx3xx} not 2xx/3xx, ${load.socketErrors} socket errors` });
    }
    checks.push(...(await packedOrgReadChecks(name, config, server.url, headers, orgIds, from, today)));
    checks.push(...(await packedContactReadChecks(name, config, server.url, headers, samples)));
  } finally {
    cpuProbe.disconnect();
    await server.stop();
  }
  return { rows, checks };
}

/**
 * The org route measured the packed read (the month hashes: the projection's marker is set) and
 * answers what the day hashes hold: each sample org's 30-day totals against HMGETs of its day hashes.
 */
async function packedOrgReadChecks(name: string, config: NonNullable<BenchContext['projected']>, url: string, headers: Record<string, string>, orgIds: readonly string[], from: string, to: string): Promise<Check[]> {
  const redis = createRedis(config);
  try {
    const v = keysFor(config.redisPrefix).version(1);
    const packed = (await packedLevel(redis, v)) >= PACKED.rollups;
    const fields = ['emails', 'opens', 'clicks'] as const;
    const buckets = dateRange(from, to).map(bucketOf);
    let mismatched = 0;
    for (const orgId of orgIds) {
      const response = await fetch(`${url}/v1/orgs/${encodeURIComponent(orgId)}/kpis?from=${from}&to=${to}`, { headers });
      const doc = (await response.json()) as Record<string, number>;
      const stored = await Promise.all(buckets.map((b) => redis.hmget(v.orgDay(orgId, b), ...fields)));
      if (fields.some((f, i) => doc[f] !== stored.reduce((sum, values) => sum + Number(values[i] ?? 0), 0))) mismatched++;
    }
    return [
      { scenario: name, name: 'org KPIs read from the month hashes (projection marked packed)', ok: packed, detail: packed ? 'yes' : 'no marker: the day hashes were read' },
      { scenario: name, name: 'org KPIs = the day hashes summed (emails, opens, clicks)', ok: mismatched === 0, detail: `${orgIds.length - mismatched}/${orgIds.length} orgs equal` },
    ];
  } finally {
    redis.disconnect();
  }
}

/**
 * The contact route measured the packed read (marker at the contact level) and answers what the
 * contact-day hashes hold: each sample recipient's 30-day counts against HMGETs of its day hashes.
 */
async function packedContactReadChecks(
  name: string,
  config: NonNullable<BenchContext['projected']>,
  url: string,
  headers: Record<string, string>,
  samples: BenchContext['workload']['samples'],
): Promise<Check[]> {
  const redis = createRedis(config);
  try {
    const v = keysFor(config.redisPrefix).version(1);
    const level = await packedLevel(redis, v);
    const fields = CONTACT_DAY_FIELDS;
    const buckets = lastDays(30, Date.now()).map(bucketOf);
    const documented = { received: 'emailsReceived', opened: 'emailsOpened', clicked: 'emailsClicked', replied: 'emailsReplied' } as const;
    const recipients = [...new Map(samples.map((s) => [`${s.orgId}/${s.type}/${s.contactId}`, s])).values()];
    let mismatched = 0;
    for (const { orgId, contactId, type } of recipients) {
      const response = await fetch(`${url}/v1/orgs/${encodeURIComponent(orgId)}/${type}s/${encodeURIComponent(contactId)}/kpis?days=30`, { headers });
      const doc = (await response.json()) as Record<string, unknown>;
      const stored = await Promise.all(buckets.map((b) => redis.hmget(v.contactDay(orgId, contactId, b, type), ...fields)));
      if (fields.some((f, i) => doc[documented[f]] !== stored.reduce((sum, values) => sum + Number(values[i] ?? 0), 0))) mismatched++;
    }
    return [
      { scenario: name, name: 'contact KPIs read from the month hashes (projection marked at the contact level)', ok: level >= PACKED.contacts, detail: `packed level ${level}` },
      { scenario: name, name: 'contact KPIs = the contact-day hashes summed (received, opened, clicked, replied)', ok: mismatched === 0, detail: `${recipients.length - mismatched}/${recipients.length} recipients equal` },
    ];
  } finally {
    redis.disconnect();
  }
}
