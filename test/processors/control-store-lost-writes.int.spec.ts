import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { createRedis } from '../../core/redis.js';
import { startProcessors, type ProcessorsHandle } from '../../processors/index.js';
import { keysFor } from '../../projections/keys.js';
import { suppressionHash } from '../../projections/control/suppression.js';
import { cleanupTestResources, createTestTopics, testConfig, waitFor } from '../support/env.js';
import { fixture } from '../support/fixtures.js';
import { produceEvents } from './support/produce.js';

/**
 * Redis comes back without its latest writes but with the synced mark: a restart from a snapshot
 * taken before them (as a failover to a replica that lagged). The control store must not keep
 * an org enabled, or a recipient allowed, that the control topic has since switched off: the
 * control role notices that it talks to another Redis and rewrites the store from the topic.
 * The test runs a redis-server of its own, so it can be killed and restarted.
 */
describe('the control store after Redis lost its latest writes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctl-lost-'));
  let port = 0;
  let server: ChildProcess | undefined;
  let config: Config;
  let kafka: Kafka;
  let redis: Redis;
  let processors: ProcessorsHandle | undefined;
  const orgId = 'org-lost-writes';
  const at = Date.now() - 60_000;

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

  beforeAll(async () => {
    port = await freePort();
    const base = testConfig();
    config = testConfig({ REDIS_URL: `redis://127.0.0.1:${port}`, TOPIC_PREFIX: base.topicPrefix, REDIS_PREFIX: base.redisPrefix, BLOB_CONTAINER: base.blobContainer });
    await startRedis();
    kafka = createKafka(config);
    redis = createRedis(config);
    redis.on('error', () => undefined); // refused while the test restarts its server
    await createTestTopics(config);
    processors = await startProcessors(config, { roles: ['control'] });
  }, 60_000);

  afterAll(async () => {
    await processors?.stop();
    if (config) await cleanupTestResources(config);
    redis?.disconnect();
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('an org disabled and a contact opted out after the snapshot are disabled and opted out again', { timeout: 60_000 }, async () => {
    const k = keysFor(config.redisPrefix);
    const secret = config.suppressionSecret;
    await produceEvents(kafka, config, [
      fixture('OrgEngagementEnabled', { orgId, occurredAt: at }),
      fixture('ContactFollowPreferenceChanged', { orgId, contactId: 'c-1', contactType: 'contact', recipientType: 'contact', allow: true, occurredAt: at + 1 }),
    ]);
    await waitFor(async () => (await redis.hget(k.controlOrg(orgId), 'enabled')) === '1' && (await redis.exists(k.controlSynced())) === 1, {
      message: 'org enabled in a synced store',
    });
    await redis.save();

    await produceEvents(kafka, config, [
      fixture('OrgEngagementDisabled', { orgId, occurredAt: at + 2 }),
      fixture('ContactFollowPreferenceChanged', { orgId, contactId: 'c-1', contactType: 'contact', recipientType: 'contact', allow: false, occurredAt: at + 3 }),
    ]);
    await waitFor(async () => (await redis.hget(k.controlOrg(orgId), 'enabled')) === '0', { message: 'org disabled in the store' });

    // Redis dies and comes back from the snapshot: enabled, allowed, and still marked synced.
    server!.kill('SIGKILL');
    await once(server!, 'exit');
    await startRedis();
    expect(await redis.exists(k.controlSynced())).toBe(1);

    await waitFor(
      async () =>
        (await redis.hget(k.controlOrg(orgId), 'enabled')) === '0' &&
        (await redis.sismember(k.suppression(orgId), suppressionHash(secret, orgId, 'contact', 'c-1'))) === 1,
      { timeoutMs: 20_000, message: 'the control store rewritten from the topic after the lost writes' },
    );
  });
});

async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const address = probe.address();
  probe.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
