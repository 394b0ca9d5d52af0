/**
 * DESIGN §8: a tracking request answered while Kafka is down or slow is not lost, also across a
 * kill -9 of the API process. A PRIVATE broker (the shared one stays up) is stalled with SIGSTOP
 * while 5,000 pixel and click requests are served by an API child process; every answer must come
 * in < 50 ms, and once the broker resumes all 5,000 are in the KPIs exactly once. Then the API is
 * killed -9 in the middle of another run and started again on the same spool: every answered
 * interaction is counted, none twice. Last, both at once: the API is killed -9 while the broker is
 * stalled and started again before it is back; it listens at once and spools again (sealed with the
 * data keys it kept locally), and nothing answered on either side of the kill is lost.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configEnv, type Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { stablePort } from '../support/ports.js';
import { createRedis } from '../../core/redis.js';
import { topicsFor } from '../../core/topics.js';
import { keysFor } from '../../projections/keys.js';
import { cleanupTestResources, createTestTopics, testConfig, waitFor } from '../support/env.js';
import { startPrivateKafka, type PrivateKafka } from '../support/private-kafka.js';
import { startChild, stopGracefully } from '../processors/support/child.js';

const CHILD = fileURLToPath(new URL('./support/api-child.ts', import.meta.url));
const ADMIN = 'spool-admin-key';
const ORG = 'org-spool';
const EMAILS = 17;
/** the last email's recipients warm the server up (JIT) before anything is timed */
const WARM = 4000;
const PER_EMAIL = 250;

let kafka: PrivateKafka;
let config: Config;
let spoolDir: string;
let port: number;
let api: ChildProcess | undefined;
/** the projector and control roles, in their own process: this one only times the requests */
let processors: ChildProcess | undefined;
let redis: Redis;
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
/** per recipient index: its email id, pixel path and click path */
const recipients: Array<{ emailId: string; pixel: string; click: string }> = [];

/** The org KPIs the first phases leave: the warm-up, the stalled run and the kill -9 run. */
let afterSecond: OrgKpis | undefined;

function childEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...configEnv(config),
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    ENGAGEMENT_ADMIN_KEY: ADMIN,
    TRACKING_SECRET: 'k1:spool-test-secret',
    SPOOL_DIR: spoolDir,
    SPOOL_FSYNC_MS: '5',
    LOG_LEVEL: 'error',
  };
}

function startApi(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { env: childEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`api child exited with ${code} before ready`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
  });
}

function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

interface Answer {
  status: number;
  ms: number;
  body: string;
}

function request(method: string, urlPath: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      { host: '127.0.0.1', port, method, path: urlPath, agent, headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const admin = { authorization: `Bearer ${ADMIN}` };

/** Serves `paths` with 8 clients; resolves with every answer (a refused connection is `null`). */
async function serve(paths: readonly string[], onAnswer?: (done: number) => void): Promise<Array<Answer | null>> {
  const answers: Array<Answer | null> = new Array(paths.length).fill(null);
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < paths.length) {
        const i = next++;
        answers[i] = await request('GET', paths[i]!).catch(() => null);
        done++;
        onAnswer?.(done);
      }
    }),
  );
  return answers;
}

/** The API's own duration histogram of the tracking answers (pixel 200, click 302): how many, and how many within 50 ms. */
async function trackingDurations(): Promise<{ total: number; within50ms: number }> {
  const text = (await request('GET', '/metrics')).body;
  const sum = (pattern: RegExp) =>
    text
      .split('\n')
      .filter((line) => pattern.test(line))
      .reduce((total, line) => total + Number(line.split(' ').pop()), 0);
  const routes = '(route="/t/o/:token",status_code="200"|route="/t/c/:token",status_code="302")';
  return {
    total: sum(new RegExp(`^engagement_http_request_duration_seconds_count\\{method="GET",${routes}\\}`)),
    within50ms: sum(new RegExp(`^engagement_http_request_duration_seconds_bucket\\{le="0.05",method="GET",${routes}\\}`)),
  };
}

interface OrgKpis {
  opens: number;
  uniqueOpens: number;
  clicks: number;
  uniqueClicks: number;
  machineClicks: number;
}

async function orgKpis(): Promise<OrgKpis> {
  const day = new Date().toISOString().slice(0, 10);
  const res = await request('GET', `/v1/orgs/${ORG}/kpis?from=${day}&to=${day}`, undefined, admin);
  return JSON.parse(res.body) as OrgKpis;
}

/** The API child listens before it reaches Kafka: /readyz says when it has. */
async function reachedKafka(): Promise<void> {
  await waitFor(
    async () => {
      const res = await request('GET', '/readyz');
      return res.status === 200 && (JSON.parse(res.body) as { kafka: boolean }).kafka;
    },
    { timeoutMs: 60_000, message: 'the API reached Kafka' },
  );
}

/** The projector has folded everything on the emails topic and the spool is empty. */
async function settled(): Promise<void> {
  const topic = topicsFor(config).emails;
  const kafkaAdmin = createKafka(config).admin();
  await kafkaAdmin.connect();
  try {
    await waitFor(
      async () => {
        const ready = JSON.parse((await request('GET', '/readyz')).body) as { spool: { records: number } };
        if (ready.spool.records !== 0) return false;
        const high = (await kafkaAdmin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
        const stored = await redis.hvals(keysFor(config.redisPrefix).version(1).offsets(topic));
        return stored.reduce((sum, o) => sum + Number(o), 0) === high;
      },
      { timeoutMs: 180_000, intervalMs: 250, message: 'spool drained and projector caught up' },
    );
  } finally {
    await kafkaAdmin.disconnect();
  }
}

beforeAll(async () => {
  kafka = await startPrivateKafka();
  spoolDir = mkdtempSync(path.join(process.env.SPOOL_TEST_DIR ?? tmpdir(), 'spool-int-'));
  port = await stablePort();
  config = testConfig({ KAFKA_BROKERS: kafka.brokers, ENGAGEMENT_ADMIN_KEY: ADMIN });
  await createTestTopics(config, 3);
  redis = createRedis(config);
  process.env.PROCESSOR_ROLES = 'projector,control';
  processors = await startChild(config);
  delete process.env.PROCESSOR_ROLES;
  api = await startApi();
  await reachedKafka();
  expect((await request('PUT', `/v1/orgs/${ORG}/engagement`, { enabled: true }, admin)).status).toBe(200);
  for (let e = 0; e < EMAILS; e++) {
    const emailId = `e-${e}`;
    const res = await request(
      'POST',
      `/v1/orgs/${ORG}/emails`,
      {
        emailId,
        senderId: 's-1',
        sentAt: new Date(Date.now() - 3_600_000).toISOString(),
        recipients: Array.from({ length: PER_EMAIL }, (_, i) => ({ contactId: `r${e * PER_EMAIL + i}`, type: 'contact' })),
        links: [{ url: 'https://example.com/offer' }],
        follow: true,
      },
      admin,
    );
    expect(res.status, res.body).toBe(201);
    const answer = JSON.parse(res.body) as { recipients: Array<{ openPixelUrl: string; links: Array<{ trackedUrl: string }> }> };
    for (const r of answer.recipients) {
      recipients.push({ emailId, pixel: new URL(r.openPixelUrl).pathname, click: new URL(r.links[0]!.trackedUrl).pathname });
    }
  }
  await serve(recipients.slice(WARM).flatMap((r) => [r.pixel, r.click]));
  // every send and the warm-up are projected: the phases below count from a known start
  await settled();
  expect(await orgKpis()).toMatchObject({ opens: 250, clicks: 250 });
}, 240_000);

afterAll(async () => {
  if (api && api.exitCode === null && api.signalCode === null) {
    const exited = new Promise((resolve) => api!.once('exit', resolve));
    api.kill('SIGTERM');
    await exited;
  }
  if (processors) await stopGracefully(processors);
  await cleanupTestResources(config).catch(() => undefined);
  redis?.disconnect();
  agent.destroy();
  await kafka?.stop();
  rmSync(spoolDir, { recursive: true, force: true });
}, 120_000);

describe('tracking with a durable spool', () => {
  it('answers 5,000 pixels and clicks in < 50 ms each while the broker is stalled, and counts all of them exactly once when it is back', async () => {
    const first = recipients.slice(0, 2500);
    kafka.pause();
    try {
      const before = await trackingDurations();
      // this test process's own stalls (GC, the machine's scheduling) delay the answers it reads, not the server's
      const ownLoop = monitorEventLoopDelay({ resolution: 1 });
      ownLoop.enable();
      const answers = await serve(first.flatMap((r) => [r.pixel, r.click]));
      ownLoop.disable();
      const ownStallMs = ownLoop.max / 1e6;
      expect(answers.filter((a) => a?.status === 200)).toHaveLength(2500);
      expect(answers.filter((a) => a?.status === 302)).toHaveLength(2500);
      // The handler itself never waits for the stalled broker (the server's duration histogram).
      const after = await trackingDurations();
      expect(after.total - before.total).toBe(5000);
      expect(after.total - after.within50ms - (before.total - before.within50ms), 'tracking answers over 50 ms (server side)').toBe(0);
      // Every answer within 50 ms as the client saw it, whatever delayed it in the server (its event
      // loop, GC, the drainer); only a stall of this test process itself is excused, by its measured length.
      const ms = answers.map((a) => a!.ms).sort((x, y) => x - y);
      const slowestTen = ms.slice(-10).map((m) => `${Math.round(m)} ms`);
      expect(ms[ms.length - 1]!, `slowest answers ${slowestTen.join(', ')}; this test process stalled up to ${ownStallMs.toFixed(1)} ms`).toBeLessThan(50 + ownStallMs);
      expect(ms[Math.floor(ms.length * 0.99)]!).toBeLessThan(50);
      // still ready: the spool takes tracking, and /readyz says so
      const ready = await waitFor(
        async () => {
          const res = await request('GET', '/readyz');
          const body = JSON.parse(res.body) as { tracking: string; kafka: boolean; spool: { records: number } };
          return res.status === 200 && body.tracking === 'spooling' ? body : false;
        },
        { timeoutMs: 20_000, message: 'readyz says spooling' },
      );
      expect(ready.kafka).toBe(false);
      expect(ready.spool.records).toBe(5000);
      const metrics = (await request('GET', '/metrics')).body;
      expect(metrics).toMatch(/^engagement_spool_records 5000$/m);
      expect(metrics).toMatch(/^engagement_spool_oldest_age_seconds [1-9]/m);
    } finally {
      kafka.resume();
    }
    await settled();
    expect(await orgKpis()).toMatchObject({ opens: 2750, uniqueOpens: 2750, clicks: 2750, uniqueClicks: 2750, machineClicks: 0 });
  }, 300_000);

  it('loses nothing it answered and doubles nothing when the API is killed -9 mid-run and started again', async () => {
    const second = recipients.slice(2500, 3500);
    const paths = second.flatMap((r) => [r.pixel, r.click]);
    let killing: Promise<void> | undefined;
    const answers = await serve(paths, (done) => {
      if (done === 1000 && api) killing ??= killHard(api);
    });
    await killing;
    const accepted = answers.map((a, i) => ({ a, i })).filter(({ a }) => a !== null && (a.status === 200 || a.status === 302));
    expect(accepted.length).toBeGreaterThanOrEqual(1000);
    expect(accepted.length).toBeLessThan(paths.length);
    api = await startApi();
    await settled();
    const kpis = await orgKpis();
    // one interaction per recipient and kind: a doubled one would make the count exceed the unique count
    expect(kpis.opens).toBe(kpis.uniqueOpens);
    expect(kpis.clicks).toBe(kpis.uniqueClicks);
    expect(kpis.opens + kpis.clicks - 5500).toBeGreaterThanOrEqual(accepted.length);
    expect(kpis.opens + kpis.clicks - 5500).toBeLessThanOrEqual(paths.length);
    // and every answered one is there, by recipient
    const v = keysFor(config.redisPrefix).version(1);
    const flags = new Map<string, Record<string, string>>();
    for (const emailId of new Set(second.map((r) => r.emailId))) flags.set(emailId, await redis.hgetall(v.emailRecipients(ORG, emailId)));
    const missing = accepted.filter(({ i }) => {
      const r = second[Math.floor(i / 2)]!;
      const index = recipients.indexOf(r);
      return flags.get(r.emailId)![`${i % 2 === 0 ? 'o' : 'c'}:r${index}`] !== '1';
    });
    expect(missing).toEqual([]);
    afterSecond = kpis;
  }, 300_000);

  it('starts listening while the broker is stalled after a kill -9, spools sealed with the keys it kept, and loses nothing', async () => {
    expect(afterSecond, 'runs after the kill -9 test').toBeDefined();
    const third = recipients.slice(3500, 4000);
    const paths = third.flatMap((r) => [r.pixel, r.click]);
    const beforeKill = paths.slice(0, 500);
    const afterRestart = paths.slice(500);
    kafka.pause();
    let restartMs = 0;
    let answers: Array<Answer | null>;
    try {
      let killing: Promise<void> | undefined;
      const first = await serve(beforeKill, (done) => {
        if (done === 300 && api) killing ??= killHard(api);
      });
      await killing;
      const started = performance.now();
      // a start that waited for the stalled broker would hang here until the test's timeout
      api = await startApi();
      restartMs = performance.now() - started;
      const second = await serve(afterRestart);
      answers = [...first, ...second];
      expect(second.filter((a) => a?.status === 200)).toHaveLength(afterRestart.length / 2);
      expect(second.filter((a) => a?.status === 302)).toHaveLength(afterRestart.length / 2);
      // a fresh, cold process: not timed to 50 ms like the warmed-up run above, but never waiting
      // on the stalled broker (its client timeouts are seconds)
      expect(Math.max(...second.map((a) => a!.ms))).toBeLessThan(1_000);
      // "starting" (503) for STARTING_GRACE_MS, then ready for tracking although Kafka is down
      const body = await waitFor(
        async () => {
          const res = await request('GET', '/readyz');
          return res.status === 200 && (JSON.parse(res.body) as { tracking: string; kafka: boolean; spool: { records: number } });
        },
        { timeoutMs: 30_000, message: 'the restarted API ready for tracking during the outage' },
      );
      expect(body).toMatchObject({ kafka: false, tracking: 'spooling' });
      // what the killed process spooled and did not send, and everything answered since
      expect(body.spool.records).toBeGreaterThanOrEqual(afterRestart.length);
      const metrics = (await request('GET', '/metrics')).body;
      // every one of them sealed into the spool with a key read from the local copy, none refused for want of one
      expect(metrics).not.toMatch(/^engagement_spool_appends_total\{outcome="no_key"\} [1-9]/m);
      expect(metrics).toMatch(new RegExp(`^engagement_spool_appends_total\\{outcome="spooled"\\} ${afterRestart.length}$`, 'm'));
    } finally {
      kafka.resume();
    }
    expect(restartMs, 'the API restarted during the outage listens without waiting for Kafka').toBeLessThan(20_000);
    await settled();
    const kpis = await orgKpis();
    expect(kpis.opens).toBe(kpis.uniqueOpens);
    expect(kpis.clicks).toBe(kpis.uniqueClicks);
    const accepted = answers.map((a, i) => ({ a, i })).filter(({ a }) => a !== null && (a.status === 200 || a.status === 302));
    expect(accepted.length).toBeGreaterThanOrEqual(300 + afterRestart.length);
    const v = keysFor(config.redisPrefix).version(1);
    const flags = new Map<string, Record<string, string>>();
    for (const emailId of new Set(third.map((r) => r.emailId))) flags.set(emailId, await redis.hgetall(v.emailRecipients(ORG, emailId)));
    const missing = accepted.filter(({ i }) => {
      const r = third[Math.floor(i / 2)]!;
      return flags.get(r.emailId)![`${i % 2 === 0 ? 'o' : 'c'}:r${recipients.indexOf(r)}`] !== '1';
    });
    expect(missing).toEqual([]);
    const added = kpis.opens + kpis.clicks - afterSecond!.opens - afterSecond!.clicks;
    expect(added).toBeGreaterThanOrEqual(accepted.length);
    expect(added).toBeLessThanOrEqual(paths.length);
  }, 300_000);
});
