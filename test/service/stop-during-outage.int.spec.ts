/**
 * `engagement start` stopped (SIGTERM, Ctrl-C) while Kafka is stalled: the stop is bounded. The
 * spool drain gives up after its own bound and keeps the rest on disk; the processors, whose Kafka
 * clients would wait on a broker that answers nothing, are left after STOP_TIMEOUT_SECONDS (what
 * they had not committed is read again at the next start: exactly-once does not depend on a
 * clean stop). A PRIVATE broker is stalled (SIGSTOP), the shared one stays up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { startService, type RunningService } from '../../service/start-service.js';
import { waitFor } from '../support/env.js';
import { privateKafkaEnv, type PrivateKafkaEnv } from '../support/private-kafka.js';

const ADMIN = 'stop-outage-admin-key';
const STOP_TIMEOUT_SECONDS = 5;
let env: PrivateKafkaEnv;
let config: Config;
let service: RunningService | undefined;

beforeAll(async () => {
  env = await privateKafkaEnv('stop-outage', { ENGAGEMENT_ADMIN_KEY: ADMIN, STOP_TIMEOUT_SECONDS: String(STOP_TIMEOUT_SECONDS) });
  config = env.config;
}, 120_000);

afterAll(async () => {
  env?.kafka.resume();
  await service?.stop();
  await env?.stop();
}, 120_000);

describe('engagement start stopped during a Kafka outage', () => {
  it('stops within its bound with every role running, and says it gave up', async () => {
    const base = `http://127.0.0.1:${config.port}`;
    service = await startService(config, ['api', 'projector', 'lander', 'control', 'retention']);
    await service.server!.kafkaReached();
    const put = await fetch(`${base}/v1/orgs/org-stop/engagement`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: true }),
    });
    expect(put.status).toBe(200);
    await waitFor(async () => ((await (await fetch(`${base}/readyz`)).json()) as { status: string }).status === 'ready', { message: 'ready' });

    env.kafka.pause();
    const began = performance.now();
    const outcome = await service.stop();
    const seconds = (performance.now() - began) / 1000;
    // without the bound it took minutes: the processors' Kafka clients wait on the stalled broker
    expect(seconds).toBeLessThan(STOP_TIMEOUT_SECONDS + 5);
    expect(outcome).toMatchObject({ clean: false });
  }, 120_000);

  it('with the API alone, stops cleanly within seconds: its Kafka clients are not waited for once every request is answered', async () => {
    // the processors' consumers are what STOP_TIMEOUT_SECONDS bounds; the API alone has none
    env.kafka.resume();
    const api = await startService({ ...config, stopTimeoutSeconds: 60 }, ['api']);
    service = api;
    await api.server!.kafkaReached();
    env.kafka.pause();
    const began = performance.now();
    const outcome = await api.stop();
    const seconds = (performance.now() - began) / 1000;
    // before: ~27 s, the producer and the two topic readers each waiting on the stalled broker
    expect(outcome).toMatchObject({ clean: true });
    expect(seconds).toBeLessThan(10);
  }, 120_000);
});
