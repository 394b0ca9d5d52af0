import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../api/server.js';
import type { Config } from '../../core/config.js';
import { createRedis } from '../../core/redis.js';
import { startProcessors, type ProcessorsHandle } from '../../processors/index.js';
import { keysFor } from '../../projections/keys.js';
import { cleanupTestResources, createTestTopics, testConfig, waitFor } from '../support/env.js';

/**
 * The control store is derived from the control topic like the projection: when Redis loses it
 * (FLUSHDB of the service's database), an enabled org must not turn "disabled". The API answers
 * from its own copy of the topic until the control role has rewritten the store, and the KPIs
 * come back by themselves. The test owns Redis database 14.
 */
const OWN_DB = 14;
const ADMIN = 'admin-key-control-loss';

describe('losing the control store in Redis', () => {
  let config: Config;
  let redis: Redis;
  let processors: ProcessorsHandle | undefined;
  let server: RunningServer | undefined;
  const orgId = 'org-loss';
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    const response = await fetch(`${server!.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    const base = testConfig();
    const url = new URL(base.redisUrl);
    url.pathname = `/${OWN_DB}`;
    config = testConfig({
      REDIS_URL: url.toString(),
      TOPIC_PREFIX: base.topicPrefix,
      REDIS_PREFIX: base.redisPrefix,
      BLOB_CONTAINER: base.blobContainer,
      ENGAGEMENT_ADMIN_KEY: ADMIN,
      PORT: '0',
    });
    redis = createRedis(config);
    await redis.flushdb();
    await createTestTopics(config);
    processors = await startProcessors(config, { roles: ['projector', 'control'] });
    server = await startServer(config);
    await server.kafkaReached();
  });

  afterAll(async () => {
    await server?.close();
    await processors?.stop();
    await redis?.flushdb().catch(() => undefined);
    redis?.disconnect();
    if (config) await cleanupTestResources(config);
  });

  it('an enabled org stays enabled: the API answers from the topic, the store and the KPIs come back', { timeout: 60_000 }, async () => {
    expect((await call('PUT', `/v1/orgs/${orgId}/engagement`, { enabled: true })).status).toBe(200);
    const sent = await call('POST', `/v1/orgs/${orgId}/emails`, {
      emailId: 'e-1',
      senderId: 's-1',
      recipients: [{ contactId: 'c-1', type: 'contact' }],
      links: [{ url: 'https://example.com/a' }],
      follow: true,
    });
    expect(sent.status).toBe(201);
    const kpis = `/v1/orgs/${orgId}/emails/e-1/kpis`;
    await waitFor(async () => (await call('GET', kpis)).json.recipients === 1, { timeoutMs: 20_000, message: 'email projected' });
    const k = keysFor(config.redisPrefix);
    await waitFor(async () => (await redis.exists(k.controlSynced())) === 1, { message: 'control store synced' });

    await redis.flushdb();

    // Not a 403: the org was enabled on the topic, whatever Redis has forgotten.
    const during = await call('GET', kpis);
    expect(during.status).not.toBe(403);
    const again = await call('POST', `/v1/orgs/${orgId}/emails`, {
      emailId: 'e-2',
      senderId: 's-1',
      recipients: [{ contactId: 'c-2', type: 'contact' }],
      links: [],
      follow: true,
    });
    expect(again.status).toBe(201);
    expect(again.json.followed).toBe(true);

    await waitFor(async () => (await redis.hget(k.controlOrg(orgId), 'enabled')) === '1' && (await redis.exists(k.controlSynced())) === 1, {
      timeoutMs: 20_000,
      message: 'control store rewritten from the topic',
    });
    await waitFor(async () => (await call('GET', kpis)).json.recipients === 1, { timeoutMs: 20_000, message: 'email KPIs rebuilt' });
    await waitFor(async () => (await call('GET', `/v1/orgs/${orgId}/emails/e-2/kpis`)).json.recipients === 1, { timeoutMs: 20_000, message: 'second email projected' });
  });
});
