/**
 * DESIGN §8 tracking endpoint: requests/s and latency of `GET /t/o/:token` on the real server
 * (durable spool, drained to Kafka with acks=all) under a closed-loop `wrk` load on loopback, and
 * `GET /healthz` of the same server under the same load as the baseline (half before the pixel's load,
 * half after, so both see the same box); then every pixel the
 * server recorded accounted for as an EmailOpened on the emails topic. The server is
 * `engagement start --roles api` in its own process (bench/api-child.ts), as it is deployed: in
 * the bench process it would share its heap and garbage collection with the bench's workload.
 *
 * It runs on its own topics (`<prefix>.tracking.*`, removed with the bench's) and Redis prefix, so
 * the backlog the other scenarios drain is left untouched.
 */

import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { writeTrackingAnswer } from '../../api/tracking/tracking-answer.js';
import type { Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { topicsFor } from '../../core/topics.js';
import { EventCodec } from '../../schemas/codec.js';
import { createTopics } from '../env.js';
import { topicEnds } from '../kafka-io.js';
import { addBoxCpu, describeBoxCpu, withBoxCpu, type BoxCpu } from '../box-cpu.js';
import { runWrk } from '../wrk.js';
import { progress } from '../progress.js';
import { startApiChild, type ApiChild } from '../api-child.js';
import { promSum } from '../prom-text.js';
import { pollUntil } from '../../stack/poll.js';
import { trackingChecks } from '../tracking-accounting.js';
import type { BenchContext, Check, ScenarioResult } from '../types.js';

/** seconds of wrk load per endpoint */
export const TRACKING_SECONDS = { smoke: 3, full: 15 } as const;
const CONNECTIONS = 50;
const RECIPIENTS = 200;
const WARMUP_REQUESTS = 500;
const HUMAN_AGENT = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (bench)';

export function trackingConfig(config: Config): Config {
  const id = randomBytes(2).toString('hex');
  return { ...config, topicPrefix: `${config.topicPrefix}.tracking`, redisPrefix: `${config.redisPrefix}-trk${id}`, blobContainer: `${config.blobContainer}-trk${id}` };
}

async function call(server: { url: string }, config: Config, method: string, path: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${config.adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as unknown;
}

/** Sends a followed email to `n` recipients and returns the path of each one's open pixel. */
async function pixelPaths(server: { url: string }, config: Config, orgId: string, emailId: string, n: number): Promise<string[]> {
  const recipients = Array.from({ length: n }, (_, i) => ({ contactId: `r-${i}`, type: 'contact' }));
  const sent = (await call(server, config, 'POST', `/v1/orgs/${orgId}/emails`, {
    emailId,
    senderId: 's-bench',
    subject: 'tracking bench',
    recipients,
    links: [{ url: 'https://example.com/pricing' }],
    follow: true,
  })) as { recipients: Array<{ followed: boolean; openPixelUrl?: string }> };
  const paths = sent.recipients.filter((r) => r.followed && r.openPixelUrl).map((r) => new URL(r.openPixelUrl!).pathname);
  if (paths.length !== n) throw new Error(`${emailId}: ${paths.length} of ${n} recipients followed`);
  return paths;
}

/** Reads the whole emails topic (it is the scenario's own) and counts EmailOpened per emailId. */
async function countOpens(config: Config, timeoutMs: number): Promise<Map<string, number>> {
  const kafka = createKafka(config);
  const topic = topicsFor(config).emails;
  const { total } = await topicEnds(kafka, topic);
  const codec = new EventCodec();
  const counts = new Map<string, number>();
  const consumer = kafka.consumer({ groupId: `${config.topicPrefix}.bench-count`, maxWaitTimeInMs: 100 });
  let seen = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${seen} of ${total} records of ${topic} in ${timeoutMs} ms`)), timeoutMs);
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const message of batch.messages) {
              seen++;
              const event = codec.decode(message.value!);
              if (event.type === 'EmailOpened') counts.set(event.emailId, (counts.get(event.emailId) ?? 0) + 1);
            }
            if (seen >= total) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return counts;
}

/**
 * The ceiling of this box for any HTTP answer: node's http server answering the same GIF with the
 * same headers and doing nothing else, under the same wrk load. In the bench process, idle otherwise.
 */
async function bareGifServer(): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => writeTrackingAnswer(res, { kind: 'pixel' }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

/**
 * wrk against a server, with the CPU time (user + system) of the process serving it per request,
 * and where the whole box's CPU went meanwhile (bench/box-cpu.ts).
 */
async function measured(
  spec: Parameters<typeof runWrk>[0],
  cpuMicros: () => number,
  serverPid: number,
): Promise<Awaited<ReturnType<typeof runWrk>> & { cpuMicros: number; box: BoxCpu; boxMicros: number }> {
  const before = cpuMicros();
  const { result, box, elapsedMicros } = await withBoxCpu(serverPid, () => runWrk(spec));
  return { ...result, cpuMicros: (cpuMicros() - before) / Math.max(1, result.requests), box, boxMicros: elapsedMicros };
}

type Measured = Awaited<ReturnType<typeof measured>>;

/** Two loads of one endpoint as one: rates and CPU over both, the worse half's latencies. Pure. */
export function bracketing(before: Measured, after: Measured): Measured & { before: number; after: number } {
  const requests = before.requests + after.requests;
  const elapsedSeconds = before.elapsedSeconds + after.elapsedSeconds;
  const worse = (key: keyof Measured['latencyMs']): number => Math.max(before.latencyMs[key], after.latencyMs[key]);
  return {
    command: before.command,
    requests,
    elapsedSeconds,
    requestsPerSecond: requests / elapsedSeconds,
    latencyMs: { p50: worse('p50'), p75: worse('p75'), p90: worse('p90'), p99: worse('p99') },
    non2xx3xx: before.non2xx3xx + after.non2xx3xx,
    socketErrors: before.socketErrors + after.socketErrors,
    cpuMicros: (before.cpuMicros * before.requests + after.cpuMicros * after.requests) / Math.max(1, requests),
    box: addBoxCpu(before.box, after.box, before.boxMicros, after.boxMicros),
    boxMicros: before.boxMicros + after.boxMicros,
    before: before.requestsPerSecond,
    after: after.requestsPerSecond,
  };
}

const thisProcessCpu = (): number => {
  const used = process.cpuUsage();
  return used.user + used.system;
};

async function metricsOf(server: ApiChild): Promise<string> {
  const response = await fetch(`${server.url}/metrics`);
  const text = await response.text();
  if (!response.ok) throw new Error(`GET /metrics: ${response.status} ${text.slice(0, 200)}`);
  return text;
}

async function spoolDrained(server: ApiChild): Promise<void> {
  const drained = await pollUntil(async () => promSum(await metricsOf(server), 'engagement_spool_records', {}) === 0, { timeoutMs: 60_000, intervalMs: 100 });
  if (!drained) throw new Error('the server did not drain its spool to Kafka within 60 s');
}

/** `n` pixel requests, `concurrency` at a time, over `paths`. */
async function warmUp(server: ApiChild, paths: string[], n: number, concurrency: number): Promise<void> {
  for (let i = 0; i < n; i += concurrency) {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, n - i) }, async (_, j) => {
        const response = await fetch(`${server.url}${paths[(i + j) % paths.length]}`, { headers: { 'user-agent': HUMAN_AGENT } });
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`warm-up pixel: ${response.status}`);
      }),
    );
  }
}

export async function trackingScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const name = 'tracking';
  const config = trackingConfig(ctx.config);
  ctx.sinks.push(config);
  const seconds = ctx.seconds ?? (ctx.smoke ? TRACKING_SECONDS.smoke : TRACKING_SECONDS.full);
  await createTopics(config);
  progress(`tracking: server (engagement start --roles api) on topics ${config.topicPrefix}.*`);
  const server = await startApiChild(config);
  const orgId = `bench-tracking-${randomBytes(3).toString('hex')}`;
  let pixel;
  let health;
  let bare;
  let metricsText: string;
  try {
    await call(server, config, 'PUT', `/v1/orgs/${orgId}/engagement`, { enabled: true });
    const paths = await pixelPaths(server, config, orgId, 'e-measured', RECIPIENTS);
    const warm = await pixelPaths(server, config, orgId, 'e-warmup', 20);
    // JIT warm-up, on another email so the measured one's count stays exact.
    await warmUp(server, warm, WARMUP_REQUESTS, 50);
    const load = { baseUrl: server.url, headers: { 'user-agent': HUMAN_AGENT }, connections: CONNECTIONS, durationSeconds: seconds };
    progress(`tracking: wrk -t1 -c${CONNECTIONS} -d${seconds}s on a bare node:http GIF (the box's ceiling), then GET /healthz (baseline) for half of it before and half after ${RECIPIENTS} pixel URLs round robin`);
    const ceiling = await bareGifServer();
    try {
      bare = await measured({ ...load, baseUrl: ceiling.url, paths: paths.slice(0, 1) }, thisProcessCpu, process.pid);
    } finally {
      await new Promise((resolve) => ceiling.server.close(resolve));
    }
    // The baseline brackets the pixel, half of it before and half after: this box's speed drifts by
    // tens of percent within a minute, and a baseline taken only before compared the pixel with
    // another minute's box (pixel ÷ /healthz ranged 0.31–0.74× over runs of one code).
    const half = { ...load, paths: ['/healthz'], durationSeconds: Math.max(1, Math.round(seconds / 2)) };
    const healthBefore = await measured(half, server.cpuMicros, server.pid);
    pixel = await measured({ ...load, paths }, server.cpuMicros, server.pid);
    // the spool's sender thread is idle again before the second half (it would slow /healthz down)
    await spoolDrained(server);
    const healthAfter = await measured(half, server.cpuMicros, server.pid);
    health = bracketing(healthBefore, healthAfter);
    progress(
      `tracking: pixel ${Math.round(pixel.requestsPerSecond)} req/s, p99 ${pixel.latencyMs.p99.toFixed(2)} ms; /healthz ${Math.round(health.requestsPerSecond)} req/s (${Math.round(healthBefore.requestsPerSecond)} before, ${Math.round(healthAfter.requestsPerSecond)} after); bare GIF ${Math.round(bare.requestsPerSecond)} req/s`,
    );
    metricsText = await metricsOf(server);
    // Kafka has every record before the server stops (a stop sends what is left for a bounded time only)
    await spoolDrained(server);
  } finally {
    await server.stop();
  }
  const counter = (name: string, labels: Record<string, string>) => promSum(metricsText, name, labels);
  const serverWritten =
    counter('engagement_tracking_requests_total', { route: 'open', outcome: 'recorded' }) + counter('engagement_tracking_requests_total', { route: 'open', outcome: 'machine' }) - WARMUP_REQUESTS;
  // refused, or spooled and then lost by a failed end-of-turn write
  const notSpooled =
    counter('engagement_spool_appends_total', {}) - counter('engagement_spool_appends_total', { outcome: 'spooled' }) + counter('engagement_spool_write_lost_total', {});
  progress('tracking: counting EmailOpened on the emails topic');
  const opens = await countOpens(config, 60_000);
  const kafkaOpens = opens.get('e-measured') ?? 0;
  const checks: Check[] = [
    ...trackingChecks(name, { pixel, connections: CONNECTIONS, kafkaOpens, serverWritten, notSpooled }),
    { scenario: name, name: 'warm-up opens in Kafka', ok: (opens.get('e-warmup') ?? 0) === WARMUP_REQUESTS, detail: `${opens.get('e-warmup') ?? 0} (want ${WARMUP_REQUESTS})` },
  ];
  const note = `${pixel.command}; loopback, same box`;
  const ratio = pixel.requestsPerSecond / health.requestsPerSecond;
  const boxPerRequest = (m: Measured) => m.box.busyMicros / Math.max(1, m.requests);
  return {
    rows: [
      { scenario: name, metric: 'GET /t/o/:token (pixel, spooled)', value: pixel.requestsPerSecond, unit: 'req/s', reference: '≥ 20k/s', note },
      { scenario: name, metric: 'pixel latency p50', value: pixel.latencyMs.p50, unit: 'ms', note: `p90 ${pixel.latencyMs.p90.toFixed(2)} ms` },
      { scenario: name, metric: 'pixel latency p99', value: pixel.latencyMs.p99, unit: 'ms', reference: '< 10 ms' },
      { scenario: name, metric: 'pixel: server CPU per request', value: pixel.cpuMicros, unit: 'µs', note: 'user + system time of the server process (spool, drainer and its Kafka client thread included) over the load' },
      {
        scenario: name,
        metric: 'GET /healthz, same server and load (baseline)',
        value: health.requestsPerSecond,
        unit: 'req/s',
        note: `half before the pixel, half after (${Math.round(health.before)} and ${Math.round(health.after)} req/s); p99 ${health.latencyMs.p99.toFixed(2)} ms (the worse half); ${health.cpuMicros.toFixed(0)} µs CPU per request`,
      },
      { scenario: name, metric: 'pixel / healthz', value: ratio, unit: '×', reference: '≥ 0.6×' },
      { scenario: name, metric: 'pixel: CPU of the whole box per request', value: boxPerRequest(pixel), unit: 'µs', note: describeBoxCpu(pixel.box, pixel.requests) },
      { scenario: name, metric: 'GET /healthz: CPU of the whole box per request', value: boxPerRequest(health), unit: 'µs', note: describeBoxCpu(health.box, health.requests) },
      {
        scenario: name,
        metric: 'bare node:http answering the same GIF (ceiling of this box)',
        value: bare.requestsPerSecond,
        unit: 'req/s',
        note: `same wrk; nothing but the answer; p99 ${bare.latencyMs.p99.toFixed(2)} ms; ${bare.cpuMicros.toFixed(0)} µs CPU per request`,
      },
    ],
    checks,
  };
}
