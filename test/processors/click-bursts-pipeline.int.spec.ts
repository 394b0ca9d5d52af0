/**
 * DESIGN §5 on the real pipeline: a scanner clicks three links of one email within one second,
 * and the clicks are served by two API instances (neither sees the burst). The projector flags
 * all three as machineClicks, the recipient gains no unique click, and a replay gives the same.
 */
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../api/server.js';
import type { Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { createRedis } from '../../core/redis.js';
import { topicsFor } from '../../core/topics.js';
import { startProcessors, type ProcessorsHandle } from '../../processors/index.js';
import { EventProducer } from '../../producers/event-producer.js';
import { keysFor } from '../../projections/keys.js';
import { queryEmailKpis } from '../../projections/queries/email-kpis.js';
import { runReplay } from '../../replay/replay-runner.js';
import { cleanupTestResources, createTestTopics, testConfig } from '../support/env.js';
import { waitForProjectorAtEnd } from './support/verify.js';

const ADMIN = 'burst-admin-key';
const admin = { authorization: `Bearer ${ADMIN}` };
let config: Config;
let kafka: Kafka;
let redis: Redis;
let processors: ProcessorsHandle;
const producers: EventProducer[] = [];
const apps: FastifyInstance[] = [];
let now = Date.now();

beforeAll(async () => {
  config = testConfig({ ENGAGEMENT_ADMIN_KEY: ADMIN, TRACKING_SECRET: 'k1:burst-secret', PUBLIC_BASE_URL: 'http://tracking.test' });
  await createTestTopics(config);
  kafka = createKafka(config);
  redis = createRedis(config);
  processors = await startProcessors(config, { roles: ['projector', 'control'] });
  for (let i = 0; i < 2; i++) {
    const producer = new EventProducer(createKafka(config), topicsFor(config));
    await producer.connect();
    producers.push(producer);
    const app = buildServer({ config, producer, redis, now: () => now });
    await app.ready();
    apps.push(app);
  }
});

afterAll(async () => {
  for (const app of apps) await app.close();
  for (const producer of producers) await producer.disconnect();
  await processors?.stop();
  redis?.disconnect();
  await cleanupTestResources(config);
});

const emailKpis = () => queryEmailKpis(redis, keysFor(config.redisPrefix), 'org-b', 'e-burst');
const settled = async () => {
  for (const p of producers) await p.flush();
  await waitForProjectorAtEnd(kafka, redis, config, topicsFor(config).emails, Number((await redis.get(keysFor(config.redisPrefix).currentVersion())) ?? 1));
};

describe('a click burst served by two API instances', () => {
  it('is all machineClicks, leaves uniqueClicks unchanged, and a replay gives the same', async () => {
    const [a, b] = apps as [FastifyInstance, FastifyInstance];
    // the servers' clock: the org is enabled and the email sent now, the clicks follow within minutes
    const sentAt = Math.floor(Date.now() / 1000) * 1000;
    now = sentAt;
    expect((await a.inject({ method: 'PUT', url: '/v1/orgs/org-b/engagement', headers: admin, payload: { enabled: true } })).statusCode).toBe(200);
    const sent = await a.inject({
      method: 'POST',
      url: '/v1/orgs/org-b/emails',
      headers: admin,
      payload: {
        emailId: 'e-burst',
        senderId: 's-1',
        sentAt: new Date(sentAt).toISOString(),
        recipients: [{ contactId: 'person', type: 'contact' }, { contactId: 'scanned', type: 'contact' }],
        links: [{ url: 'https://example.com/1' }, { url: 'https://example.com/2' }, { url: 'https://example.com/3' }],
        follow: true,
      },
    });
    expect(sent.statusCode, sent.body).toBe(201);
    const [person, scanned] = sent.json<{ recipients: Array<{ links: Array<{ trackedUrl: string }> }> }>().recipients as [
      { links: Array<{ trackedUrl: string }> },
      { links: Array<{ trackedUrl: string }> },
    ];
    const path = (url: string) => new URL(url).pathname;

    // a person clicks once, a minute after the send
    now = sentAt + 60_000;
    expect((await b.inject({ method: 'GET', url: path(person.links[0]!.trackedUrl) })).statusCode).toBe(302);
    await settled();
    expect(await emailKpis()).toMatchObject({ clicks: 1, uniqueClicks: 1, machineClicks: 0 });

    // the scanner: three links within one second, on two instances
    const second = sentAt + 120_000;
    const served: Array<[FastifyInstance, number, number]> = [[a, 0, 100], [b, 1, 450], [a, 2, 900]];
    for (const [app, link, ms] of served) {
      now = second + ms;
      expect((await app.inject({ method: 'GET', url: path(scanned.links[link]!.trackedUrl) })).statusCode).toBe(302);
    }
    await settled();
    const live = await emailKpis();
    expect(live).toMatchObject({ clicks: 1, uniqueClicks: 1, machineClicks: 3 });

    const replayed = await runReplay({ config, kafka, redis });
    expect(replayed.status).toBe('switched');
    expect(await emailKpis()).toEqual(live);
  });
});
