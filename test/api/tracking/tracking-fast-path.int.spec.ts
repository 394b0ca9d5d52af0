import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import { startServer, type RunningServer } from '../../../api/server.js';
import type { Config } from '../../../core/config.js';
import { cleanupTestResources, createTestTopics, testConfig } from '../../support/env.js';

/**
 * Real HTTP requests to the tracking endpoints are answered by the fast path before fastify;
 * `app.inject` goes through fastify's routes. Both must answer byte for byte the same.
 */
let config: Config;
let server: RunningServer | undefined;
let pixel = '';
let click = '';

const ANSWER_HEADERS = ['content-type', 'content-length', 'cache-control', 'pragma', 'expires', 'location', 'referrer-policy'];

interface Answer {
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
}

function pick(headers: Record<string, unknown>): Record<string, string | undefined> {
  return Object.fromEntries(ANSWER_HEADERS.map((name) => [name, headers[name] === undefined ? undefined : String(headers[name])]));
}

/** node:http rather than fetch: HEAD, any path as written, no redirect following. */
function overHttp(method: string, path: string): Promise<Answer> {
  const url = new URL(server!.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers: { 'user-agent': 'Mozilla/5.0 (fast path test)' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: pick(res.headers), body: Buffer.concat(chunks).toString('latin1') }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function throughFastify(method: 'GET' | 'HEAD' | 'POST', path: string): Promise<Answer> {
  const res = await server!.app.inject({ method, url: path, headers: { 'user-agent': 'Mozilla/5.0 (fast path test)' } });
  return { status: res.statusCode, headers: pick(res.headers), body: res.rawPayload.toString('latin1') };
}

async function metric(line: RegExp): Promise<number> {
  const text = await (await fetch(`${server!.url}/metrics`)).text();
  const found = text.split('\n').find((l) => line.test(l));
  return found === undefined ? 0 : Number(found.split(' ').pop());
}

beforeAll(async () => {
  config = testConfig({ PORT: '0', ENGAGEMENT_API_KEYS: 'org-fp:key-fp', ENGAGEMENT_ADMIN_KEY: 'admin-fp' });
  await createTestTopics(config);
  server = await startServer(config);
  await server.kafkaReached();
  const headers = { authorization: 'Bearer admin-fp', 'content-type': 'application/json' };
  expect((await fetch(`${server.url}/v1/orgs/org-fp/engagement`, { method: 'PUT', headers, body: JSON.stringify({ enabled: true }) })).status).toBe(200);
  const sent = await fetch(`${server.url}/v1/orgs/org-fp/emails`, {
    method: 'POST',
    headers: { ...headers, authorization: 'Bearer key-fp' },
    body: JSON.stringify({ emailId: 'e-fp', senderId: 's', recipients: [{ contactId: 'c-fp' }], links: [{ url: 'https://example.com/x?a=1' }], follow: true }),
  });
  expect(sent.status).toBe(201);
  const answer = (await sent.json()) as { recipients: Array<{ openPixelUrl: string; links: Array<{ trackedUrl: string }> }> };
  pixel = new URL(answer.recipients[0]!.openPixelUrl).pathname;
  click = new URL(answer.recipients[0]!.links[0]!.trackedUrl).pathname;
});

afterAll(async () => {
  await server?.close();
  if (config) await cleanupTestResources(config);
});

describe('tracking fast path', () => {
  const cases: Array<[string, 'GET' | 'HEAD' | 'POST', () => string]> = [
    ['a valid pixel', 'GET', () => pixel],
    ['a valid pixel by HEAD', 'HEAD', () => pixel],
    ['a pixel with a query string', 'GET', () => `${pixel}?utm_source=x`],
    ['a forged pixel', 'GET', () => `${pixel.slice(0, -2)}AA`],
    ['a click token on the pixel route', 'GET', () => click.replace('/t/c/', '/t/o/')],
    ['a valid click', 'GET', () => click],
    ['a valid click by HEAD', 'HEAD', () => click],
    ['a forged click', 'GET', () => `${click.slice(0, -2)}AA`],
    ['a pixel token on the click route', 'GET', () => pixel.replace('/t/o/', '/t/c/')],
    ['an empty token', 'GET', () => '/t/o/'],
    ['a token with a slash', 'GET', () => `${pixel}/x`],
    ['a percent-encoded token', 'GET', () => pixel.replace('.', '%2E')],
    ['a POST', 'POST', () => pixel],
    ['a token longer than fastify’s maxParamLength', 'GET', () => `/t/o/k1.${'A'.repeat(8200)}`],
  ];

  it.each(cases)('answers %s as fastify does', async (_name, method, path) => {
    const fast = await overHttp(method, path());
    const framework = await throughFastify(method, path());
    expect(fast).toEqual(framework);
  });

  it('answers what the contract says: a GIF, a redirect, a 404', async () => {
    const gif = await overHttp('GET', pixel);
    expect([gif.status, gif.headers['content-type'], gif.headers['cache-control']]).toEqual([200, 'image/gif', 'no-cache, no-store, must-revalidate, private, max-age=0']);
    const redirect = await overHttp('GET', click);
    expect([redirect.status, redirect.headers.location, redirect.headers['referrer-policy']]).toEqual([302, 'https://example.com/x?a=1', 'no-referrer']);
    const forged = await overHttp('GET', `${click.slice(0, -2)}AA`);
    expect(forged.status).toBe(404);
    expect(JSON.parse(forged.body)).toEqual({ error: 'not_found', message: 'unknown or invalid tracking link' });
  });

  it('counts what it answers in /metrics as the routes do', async () => {
    const recorded = /^engagement_tracking_requests_total\{route="open",outcome="recorded"\}/;
    const durations = /^engagement_http_request_duration_seconds_count\{method="GET",route="\/t\/o\/:token",status_code="200"\}/;
    const [recordedBefore, durationsBefore] = [await metric(recorded), await metric(durations)];
    for (let i = 0; i < 5; i++) expect((await overHttp('GET', pixel)).status).toBe(200);
    expect(await metric(recorded)).toBe(recordedBefore + 5);
    expect(await metric(durations)).toBe(durationsBefore + 5);
  });
});

describe('trackingFastPath on a bare node server', () => {
  it('answers tracking requests itself and hands everything else, and everything while closing, to the framework', async () => {
    const { createServer } = await import('node:http');
    const { Histogram, Registry } = await import('prom-client');
    const { trackingFastPath } = await import('../../../api/tracking/tracking-fast-path.js');
    const seen: string[] = [];
    let closing = false;
    const fastPath = trackingFastPath({
      handle: (kind, token, client) => {
        seen.push(`${kind} ${token} ${client.method} ${client.userAgent}`);
        return kind === 'o' ? { kind: 'pixel' } : { kind: 'redirect', location: 'https://example.com/' };
      },
      trustProxy: false,
      httpDuration: new Histogram({ name: 'fast_path_test_seconds', help: 'test', labelNames: ['method', 'route', 'status_code'], registers: [new Registry()] }),
      closing: () => closing,
      afterWrite: (then) => then(),
    });
    const bare = createServer((req, res) => {
      if (fastPath(req, res)) return;
      res.writeHead(599);
      res.end('framework');
    });
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    const port = (bare.address() as { port: number }).port;
    const get = async (path: string, method = 'GET') => (await fetch(`http://127.0.0.1:${port}${path}`, { method, redirect: 'manual', headers: { 'user-agent': 'ua-1' } })).status;
    try {
      expect(await get('/t/o/k1.abc')).toBe(200);
      expect(await get('/t/c/k1.def?x=1')).toBe(302);
      expect(await get('/t/o/k1.abc', 'HEAD')).toBe(200);
      expect(await get('/t/o/k1.abc', 'POST')).toBe(599);
      expect(await get('/t/o/')).toBe(599);
      expect(await get('/healthz')).toBe(599);
      closing = true;
      expect(await get('/t/o/k1.abc')).toBe(599);
      expect(seen).toEqual(['o k1.abc GET ua-1', 'c k1.def GET ua-1', 'o k1.abc HEAD ua-1']);
    } finally {
      await new Promise((resolve) => bare.close(resolve));
    }
  });
});
