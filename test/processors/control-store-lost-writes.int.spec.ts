import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { createRedis } from '../../core/redis.js';
import { startProcessors, type ProcessorsHandle } from '../../processors/index.js';
import { startServer, type RunningServer } from '../../api/server.js';
import { keysFor } from '../../projections/keys.js';
import { ControlStore } from '../../projections/control/control-store.js';
import { connectRetention } from '../../retention/connect.js';
import { runRetention } from '../../retention/run-retention.js';
import { recipientKey } from '../../schemas/events.js';
import { cleanupTestResources, createTestTopics, testConfig, waitFor } from '../support/env.js';
import { fixture } from '../support/fixtures.js';
import { produceEvents } from './support/produce.js';
import { stablePort } from '../support/ports.js';

/**
 * Redis comes back without its latest writes but with the synced mark: a restart from a snapshot
 * taken before them (as a failover to a replica that lagged). Nothing may keep an org enabled, or
 * a recipient allowed, that the control topic has since switched off: while the control role is
 * down the API answers from its own copy of the topic (the mark names another Redis) and retention
 * decides no purge; once the role runs, it rewrites the store from the topic, and records the
 * purges it knows of again, so retention deletes what the restore brought back.
 * The test runs a redis-server of its own, so it can be killed and restarted.
 */
const DAY = 86_400_000;

describe('the control store after Redis lost its latest writes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctl-lost-'));
  let port = 0;
  let server: ChildProcess | undefined;
  let config: Config;
  let kafka: Kafka;
  let redis: Redis;
  let processors: ProcessorsHandle | undefined;
  let api: RunningServer | undefined;
  const disabledOrg = 'org-lost-disable';
  const optOutOrg = 'org-lost-optout';
  const purgedOrg = 'org-lost-purged';
  const at = Date.now() - 60_000;
  const ADMIN = 'admin-key-lost-writes';

  /** Resolves once the server says it accepts connections (its log, on stdout). */
  async function startRedis(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', 'dump.rdb', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    server = child;
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes('Ready to accept connections')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${seen}`)));
    });
    child.stdout!.resume();
  }

  const send = async (orgId: string, contactId: string): Promise<{ status: number; json: Record<string, unknown> }> => {
    const response = await fetch(`${api!.url}/v1/orgs/${orgId}/emails`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ emailId: `e-${randomUUID()}`, senderId: 's-1', recipients: [{ contactId, type: 'contact' }], links: [], follow: true }),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    port = await stablePort();
    const base = testConfig();
    config = testConfig({
      REDIS_URL: `redis://127.0.0.1:${port}`,
      TOPIC_PREFIX: base.topicPrefix,
      REDIS_PREFIX: base.redisPrefix,
      BLOB_CONTAINER: base.blobContainer,
      ENGAGEMENT_ADMIN_KEY: ADMIN,
      PORT: '0',
    });
    await startRedis();
    kafka = createKafka(config);
    redis = createRedis(config);
    redis.on('error', () => undefined); // refused while the test restarts its server
    await createTestTopics(config);
    processors = await startProcessors(config, { roles: ['control'] });
  }, 60_000);

  afterAll(async () => {
    await api?.close();
    await processors?.stop();
    if (config) await cleanupTestResources(config);
    redis?.disconnect();
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('an org disabled, a contact opted out and an org purged after the snapshot: the API answers from the topic, retention waits, the control role rewrites the store and retention purges again', { timeout: 90_000 }, async () => {
    const k = keysFor(config.redisPrefix);
    const store = new ControlStore(redis, k, undefined, config.suppressionSecret);
    const ended = Date.now() - (config.retentionDays + 1) * DAY;
    await produceEvents(kafka, config, [
      fixture('OrgEngagementEnabled', { orgId: disabledOrg, occurredAt: at }),
      fixture('OrgEngagementEnabled', { orgId: optOutOrg, occurredAt: at }),
      fixture('ContactFollowPreferenceChanged', { orgId: optOutOrg, contactId: 'c-1', contactType: 'contact', recipientType: 'contact', allow: true, occurredAt: at + 1 }),
      fixture('OrgEngagementEnabled', { orgId: purgedOrg, occurredAt: ended - DAY }),
      fixture('SubscriptionEnded', { orgId: purgedOrg, occurredAt: ended }),
    ]);
    await waitFor(async () => (await store.readOrg(disabledOrg)).enabled && (await store.readOrg(optOutOrg)).enabled && (await store.isSynced(0)), {
      message: 'both orgs enabled in a synced store',
    });
    // a projection key of the org about to be purged, listed in its index as the projector lists every key it writes
    const v1 = k.version(1);
    const kept = v1.email(purgedOrg, 'e-before-purge');
    await redis.hset(kept, { opens: '3' });
    await redis.sadd(v1.orgIndex(purgedOrg), kept);
    await redis.save();

    // Retention purges the org after the snapshot: its key is gone.
    const purging = await connectRetention(config);
    try {
      expect((await runRetention(purging.deps)).purged).toMatchObject([{ orgId: purgedOrg, status: 'completed' }]);
    } finally {
      await purging.close();
    }
    expect(await redis.exists(kept)).toBe(0);

    await produceEvents(kafka, config, [
      // a disable of the purged org after its purge (a CRM sync switching churned orgs off): still nothing of its own since
      fixture('OrgEngagementDisabled', { orgId: purgedOrg, occurredAt: Date.now() }),
      fixture('OrgEngagementDisabled', { orgId: disabledOrg, occurredAt: at + 2 }),
      fixture('ContactFollowPreferenceChanged', { orgId: optOutOrg, contactId: 'c-1', contactType: 'contact', recipientType: 'contact', allow: false, occurredAt: at + 3 }),
    ]);
    const switchedOff = async (): Promise<boolean> =>
      !(await store.readOrg(disabledOrg)).enabled && (await store.readRecipientsAllow(optOutOrg, [{ type: 'contact', id: 'c-1' }])).get(recipientKey('contact', 'c-1')) === false;
    await waitFor(switchedOff, { message: 'org disabled and contact opted out in the store' });

    // The control role is down, and Redis dies and comes back from the snapshot: enabled, allowed, and still marked synced.
    await processors!.stop();
    processors = undefined;
    server!.kill('SIGKILL');
    await once(server!, 'exit');
    await startRedis();
    expect(await redis.exists(k.controlSynced())).toBe(1);
    expect(await switchedOff()).toBe(false);
    expect(await redis.exists(kept)).toBe(1); // what the purge deleted is back
    expect(await store.isSynced(0)).toBe(false);

    // The API does not take the restored store for the truth: the mark names the Redis before the restart.
    api = await startServer(config);
    await api.kafkaReached();
    await waitFor(async () => (await send(disabledOrg, 'c-9')).status === 409, { timeoutMs: 20_000, message: 'the disabled org refused from the topic' });
    expect((await send(disabledOrg, 'c-9')).json).toMatchObject({ error: 'engagement_disabled' });
    const optedOut = await send(optOutOrg, 'c-1');
    expect(optedOut.status).toBe(201);
    expect((optedOut.json.recipients as Array<{ followed: boolean }>)[0]!.followed).toBe(false);

    // Nor does retention: it decides no purge on a store it cannot trust.
    const retention = await connectRetention(config);
    try {
      expect((await runRetention(retention.deps)).purgesDeferred).toMatch(/not synced/);
    } finally {
      await retention.close();
    }

    // The control role back: the store rewritten from the topic, on this Redis.
    processors = await startProcessors(config, { roles: ['control'] });
    await waitFor(async () => (await switchedOff()) && (await store.isSynced(0)), { timeoutMs: 20_000, message: 'the control store rewritten from the topic after the lost writes' });
    // ...and the purge recorded again, for retention to finish from its deletions
    expect(JSON.parse((await redis.hget(k.purges(), purgedOrg))!)).toMatchObject({ step: 'fence', again: true });
    const after = await connectRetention(config);
    try {
      const report = await runRetention(after.deps);
      expect(report.purgesDeferred).toBeUndefined();
      expect(report.purged).toMatchObject([{ orgId: purgedOrg, resumedFrom: 'fence', status: 'completed', redisKeysDeleted: 2 }]);
    } finally {
      await after.close();
    }
    expect(await redis.exists(kept)).toBe(0);
    expect(await redis.hexists(k.purges(), purgedOrg)).toBe(0);

    // A purge recorded again just before the org is enabled again (the next pass comes after the
    // enable): the org's new data is its own, and the record is dropped without deleting any of it.
    const record = { eventId: randomUUID(), purgedAt: Date.now() - 1_000, subscriptionEndedAt: ended, step: 'fence', again: true, controlEnds: {} };
    await redis.hset(k.purges(), purgedOrg, JSON.stringify(record));
    await produceEvents(kafka, config, [fixture('OrgEngagementEnabled', { orgId: purgedOrg, occurredAt: Date.now() })]);
    await waitFor(async () => (await store.readOrg(purgedOrg)).enabled, { message: 'the purged org enabled again' });
    const fresh = v1.email(purgedOrg, 'e-after-enable');
    await redis.hset(fresh, { opens: '1' });
    await redis.sadd(v1.orgIndex(purgedOrg), fresh);
    const last = await connectRetention(config);
    try {
      expect((await runRetention(last.deps)).purged).toEqual([]);
    } finally {
      await last.close();
    }
    expect(await redis.exists(fresh)).toBe(1);
    expect(await redis.hexists(k.purges(), purgedOrg)).toBe(0);
  });
});
