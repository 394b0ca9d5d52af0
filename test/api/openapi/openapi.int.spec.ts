/**
 * /openapi.json is valid OpenAPI 3.1, describes every route the server registers (HEAD routes
 * are fastify's automatic twins of the GETs), and the interactive reference is served locally.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../../api/server.js';
import { bearer, KEYS, startApiHarness, type ApiHarness } from '../../producers/support/api-harness.js';

let h: ApiHarness;

beforeAll(async () => {
  h = await startApiHarness();
});

afterAll(async () => {
  await h?.close();
});

type Spec = { openapi: string; paths: Record<string, Record<string, { summary?: string; security?: unknown[] }>> };

describe('GET /openapi.json', () => {
  it('validates as OpenAPI 3.1', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const spec = res.json<Spec>();
    expect(spec.openapi).toBe('3.1.0');
    const validator = new Validator();
    const result = await validator.validate(spec);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 1)?.slice(0, 3000)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('describes every route the server registers, with a summary, and nothing else', async () => {
    const registered: Array<{ method: string; url: string; hidden: boolean }> = [];
    const app = buildServer({ config: h.config, producer: h.producer, redis: h.redis });
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) {
        registered.push({ method: String(method), url: route.url, hidden: (route.schema as { hide?: boolean } | undefined)?.hide === true });
      }
    });
    await app.ready();
    const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<Spec>();
    await app.close();

    const documented = new Set(
      Object.entries(spec.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`)),
    );
    // the reference page's own asset routes are the only ones hidden (they are not the API)
    const hidden = registered.filter((r) => r.hidden);
    expect(hidden.every((r) => r.url.startsWith('/docs'))).toBe(true);
    const api = registered.filter((r) => r.method !== 'HEAD' && !r.hidden).map((r) => `${r.method} ${r.url}`);
    expect(api.length).toBeGreaterThan(30);
    expect(api.filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((d) => !api.includes(d))).toEqual([]);
    for (const ops of Object.values(spec.paths)) for (const op of Object.values(ops)) expect(op.summary).toBeTruthy();
    expect(documented).toContain('GET /dashboard/operations');
    expect(documented).toContain('POST /v1/events');
  });

  it('describes event bodies from the Avro schemas and security per route', async () => {
    const spec = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json<Record<string, any>>();
    const events = spec.paths['/v1/events'].post.requestBody.content['application/json'].schema;
    const titles = events.items.oneOf.map((s: { title: string }) => s.title);
    expect(titles).toContain('EmailReplied');
    expect(spec.paths['/v1/orgs/{orgId}/kpis'].get.security).toEqual([{ bearerAuth: [] }]);
    expect(spec.paths['/t/o/{token}'].get.security).toEqual([]);
  });
});

describe('requests are validated by the schemas /openapi.json publishes', () => {
  type Problem = { error: string; message: string; details: Array<{ path: string; message: string }> };
  const get = (url: string, key?: string) => h.app.inject({ method: 'GET', url, headers: key ? bearer(key) : {} });

  it('checks query strings after authentication: 401 first, then 400 naming each parameter', async () => {
    expect((await get('/v1/orgs/org-a/top?limit=abc')).statusCode).toBe(401);
    expect((await get('/v1/orgs/org-a/top?limit=abc', KEYS.b)).statusCode).toBe(403);
    const bad = await get('/v1/orgs/org-a/top?limit=abc&from=2026-02-30', KEYS.a);
    expect(bad.statusCode).toBe(400);
    const body = bad.json<Problem>();
    expect(body.error).toBe('bad_request');
    expect(body.details.map((d) => d.path).sort()).toEqual(['from', 'limit']);
    expect(body.message).toContain('limit must be integer');
    const spec = (await get('/openapi.json')).json<Record<string, any>>();
    const limit = spec.paths['/v1/orgs/{orgId}/top'].get.parameters.find((p: { name: string }) => p.name === 'limit').schema;
    // the published maximum is the enforced one
    expect((await get(`/v1/orgs/org-a/top?limit=${limit.maximum + 1}`, KEYS.a)).json<Problem>().details).toEqual([{ path: 'limit', message: `must be <= ${limit.maximum}` }]);
    expect((await get(`/v1/orgs/org-a/top?limit=${limit.maximum}`, KEYS.a)).statusCode).not.toBe(400);
    expect((await get('/v1/orgs/org-a/contacts/c-1/kpis?days=0', KEYS.a)).json<Problem>().details).toEqual([{ path: 'days', message: 'must be >= 1' }]);
    // an empty parameter means "not given", as the parsers read it
    expect((await get('/v1/orgs/org-a/top?limit=&from=', KEYS.a)).statusCode).not.toBe(400);
  });

  it('checks bodies after authentication, every bad field listed', async () => {
    const put = (payload: unknown, key?: string) =>
      h.app.inject({ method: 'PUT', url: '/v1/orgs/org-a/engagement', headers: key ? bearer(key) : {}, payload: payload as object });
    expect((await put({ enabled: 'yes' })).statusCode).toBe(401);
    const bad = await put({ enabled: 'yes' }, KEYS.a);
    expect(bad.statusCode).toBe(400);
    expect(bad.json<Problem>().details).toEqual([{ path: 'enabled', message: 'must be boolean' }]);
    const missing = await put({}, KEYS.a);
    expect(missing.json<Problem>().details).toEqual([{ path: 'enabled', message: 'is required' }]);
    // a batch is checked as a batch; its events one by one, each with its own result
    const events = await h.app.inject({ method: 'POST', url: '/v1/events', headers: bearer(KEYS.admin), payload: [{ type: 'Nope' }] });
    expect(events.statusCode).toBe(207);
  });
});

describe('the API reference page', () => {
  it('is served locally, with no script or style from another host', async () => {
    const index = await h.app.inject({ method: 'GET', url: '/docs/' });
    expect(index.statusCode).toBe(200);
    expect(index.body).not.toMatch(/(src|href)="https?:\/\//);
    const bundle = await h.app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' });
    expect(bundle.statusCode).toBe(200);
    const init = await h.app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    expect(init.statusCode).toBe(200);
  });
});
