import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../api/server.js';
import type { Config } from '../../core/config.js';
import { cleanupTestResources, createTestTopics, testConfig } from '../support/env.js';

let config: Config;
let server: RunningServer | undefined;

beforeAll(async () => {
  config = testConfig({ PORT: '0', ENGAGEMENT_API_KEYS: 'org-s:key-s', ENGAGEMENT_ADMIN_KEY: 'admin-s' });
  await createTestTopics(config);
  server = await startServer(config);
  await server.kafkaReached();
});

afterAll(async () => {
  await server?.close();
  if (config) await cleanupTestResources(config);
});

describe('startServer', () => {
  it('listens on 127.0.0.1 and serves the whole flow over real HTTP', async () => {
    const base = server!.url;
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const headers = { authorization: 'Bearer admin-s', 'content-type': 'application/json' };
    expect((await fetch(`${base}/v1/orgs/org-s/engagement`, { method: 'PUT', headers, body: JSON.stringify({ enabled: true }) })).status).toBe(200);
    const sent = await fetch(`${base}/v1/orgs/org-s/emails`, {
      method: 'POST',
      headers: { ...headers, authorization: 'Bearer key-s' },
      body: JSON.stringify({ emailId: 'e-1', senderId: 's', recipients: [{ contactId: 'c' }], links: [{ url: 'https://example.com/x' }], follow: true }),
    });
    expect(sent.status).toBe(201);
    const answer = (await sent.json()) as { recipients: Array<{ openPixelUrl: string; links: Array<{ trackedUrl: string }> }> };
    const local = (url: string) => `${base}${new URL(url).pathname}`;
    const pixel = await fetch(local(answer.recipients[0]!.openPixelUrl));
    expect(pixel.headers.get('content-type')).toBe('image/gif');
    const click = await fetch(local(answer.recipients[0]!.links[0]!.trackedUrl), { redirect: 'manual' });
    expect(click.status).toBe(302);
    expect(click.headers.get('location')).toBe('https://example.com/x');
  });
});
