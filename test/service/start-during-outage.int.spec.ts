/**
 * `engagement start` while Kafka is stalled (DESIGN §8: a tracking request answered while Kafka is
 * down is not lost): the API listens at once and spools tracking, the routes that need Kafka
 * answer 503 with a machine-readable code instead of hanging, and the other roles start once
 * Kafka answers. A PRIVATE broker is stalled (SIGSTOP), the shared one stays up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { startService, type RunningService } from '../../service/start-service.js';
import { waitFor } from '../support/env.js';
import { privateKafkaEnv, type PrivateKafka, type PrivateKafkaEnv } from '../support/private-kafka.js';

const ADMIN = 'outage-admin-key';
let env: PrivateKafkaEnv;
let kafka: PrivateKafka;
let config: Config;
let service: RunningService | undefined;

beforeAll(async () => {
  env = await privateKafkaEnv('start-outage', { ENGAGEMENT_ADMIN_KEY: ADMIN });
  ({ kafka, config } = env);
}, 120_000);

let starting: Promise<RunningService> | undefined;

afterAll(async () => {
  kafka?.resume();
  // a failed assertion above leaves the start under way: wait for it, so its service is stopped too
  await starting?.catch(() => undefined);
  await service?.stop();
  await env?.stop();
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
