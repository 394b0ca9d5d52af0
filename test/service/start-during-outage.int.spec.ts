/**
 * `engagement start` while Kafka is stalled (DESIGN §8: a tracking request answered while Kafka is
 * down is not lost): the API listens at once and spools tracking, the routes that need Kafka
 * answer 503 with a machine-readable code instead of hanging, and the other roles start once
 * Kafka answers. A PRIVATE broker is stalled (SIGSTOP), the shared one stays up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { freePort } from '../../core/net.js';
import { startService, type RunningService } from '../../service/start-service.js';
import { cleanupTestResources, createTestTopics, testConfig, waitFor } from '../support/env.js';
import { startPrivateKafka, type PrivateKafka } from '../support/private-kafka.js';

const ADMIN = 'outage-admin-key';
let kafka: PrivateKafka;
let config: Config;
let spoolDir: string;
let service: RunningService | undefined;

beforeAll(async () => {
  kafka = await startPrivateKafka();
  spoolDir = mkdtempSync(path.join(tmpdir(), 'start-outage-'));
  const port = await freePort();
  config = testConfig({ KAFKA_BROKERS: kafka.brokers, ENGAGEMENT_ADMIN_KEY: ADMIN, PORT: String(port), HOST: '127.0.0.1', SPOOL_DIR: spoolDir });
  await createTestTopics(config, 3);
}, 120_000);

let starting: Promise<RunningService> | undefined;

afterAll(async () => {
  kafka?.resume();
  // a failed assertion above leaves the start under way: wait for it, so its service is stopped too
  await starting?.catch(() => undefined);
  await service?.stop();
  await cleanupTestResources(config).catch(() => undefined);
  await kafka?.stop();
  rmSync(spoolDir, { recursive: true, force: true });
}, 120_000);

describe('engagement start during a Kafka outage', () => {
  it('serves the API at once, answers 503 where Kafka is needed, and starts the other roles when Kafka is back', async () => {
    const base = `http://127.0.0.1:${config.port}`;
    kafka.pause();
    let started = false;
    starting = startService(config, ['api', 'projector', 'lander', 'control', 'retention']).then((s) => {
      started = true;
      service = s;
      return s;
    });
    try {
      const ready = await waitFor(
        async () => {
          const res = await fetch(`${base}/readyz`).catch(() => null);
          const body = res && ((await res.json()) as { status: string; kafka: boolean; tracking: string });
          // "starting" for the first seconds (a load balancer waits), then what it can take
          return body && body.status !== 'starting' && body;
        },
        { timeoutMs: 30_000, message: 'the API past starting while Kafka is stalled' },
      );
      // a first start in an outage has no data key to seal tracking hits with (no keys topic read, no
      // local copy): it would lose every one, so it says so instead of taking them (a restart with its
      // copy is ready for tracking: tracking-spool.int.spec.ts)
      expect(ready).toMatchObject({ status: 'not_ready', kafka: false, tracking: 'keys_unavailable' });
      // a route that must write to Kafka says so, quickly, with the code a client can act on
      const began = performance.now();
      const put = await fetch(`${base}/v1/orgs/org-x/engagement`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ enabled: true }),
      });
      expect(put.status).toBe(503);
      expect(((await put.json()) as { error: string }).error).toBe('kafka_unavailable');
      expect(performance.now() - began).toBeLessThan(15_000);
      expect(started, 'the processors wait for Kafka').toBe(false);
    } finally {
      kafka.resume();
    }
    const running = await starting;
    expect(running.processors).toBeDefined();
    await running.server!.kafkaReached();
    const put = await fetch(`${base}/v1/orgs/org-x/engagement`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: true }),
    });
    expect(put.status).toBe(200);
    expect(((await (await fetch(`${base}/readyz`)).json()) as { kafka: boolean }).kafka).toBe(true);
  }, 180_000);
});
