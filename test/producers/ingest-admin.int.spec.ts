import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicsFor } from '../../core/topics.js';
import type { EventOf } from '../../schemas/events.js';
import { fixture, plain } from '../support/fixtures.js';
import { waitFor } from '../support/env.js';
import { KEYS, bearer, startApiHarness, startTopicReader, type ApiHarness } from './support/api-harness.js';

let h: ApiHarness;
let reader: Awaited<ReturnType<typeof startTopicReader>>;

beforeAll(async () => {
  h = await startApiHarness();
  reader = await startTopicReader(h.config, [topicsFor(h.config).emails, topicsFor(h.config).control]);
});

afterAll(async () => {
  await reader?.stop();
  await h?.close();
});

const ingest = (payload: unknown, key: string = KEYS.a, headers: Record<string, string> = {}) =>
  h.app.inject({ method: 'POST', url: '/v1/events', headers: { ...bearer(key), 'content-type': 'application/json', ...headers }, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });

describe('POST /v1/events', () => {
  it('writes the valid events of a batch and answers per-event errors for the others', async () => {
    const valid = plain(fixture('EmailReplied', { orgId: 'org-a', emailId: `e-${randomUUID()}` }));
    const noId = { type: 'EmailReplied', orgId: 'org-a', emailId: 'e-2', contactId: 'c-9', occurredAt: new Date().toISOString() };
    const res = await ingest([valid, { ...valid, eventId: randomUUID(), contactId: 42 }, plain(fixture('EmailReplied', { orgId: 'org-b' })), plain(fixture('OrgEngagementEnabled', { orgId: 'org-a' })), noId, 'junk']);
    expect(res.statusCode).toBe(207);
    const { results } = res.json<{ results: Array<{ index: number; status: string; error?: string; eventId?: string; errors?: Array<{ path: string }> }> }>();
    expect(results.map((r) => [r.index, r.status, r.error])).toEqual([
      [0, 'accepted', undefined],
      [1, 'rejected', 'validation_failed'],
      [2, 'rejected', 'forbidden'],
      [3, 'rejected', 'forbidden'],
      [4, 'accepted', undefined],
      [5, 'rejected', 'validation_failed'],
    ]);
    expect(results[0]!.eventId).toBe(valid.eventId);
    expect(results[1]!.errors![0]!.path).toBe('contactId');

    const replies = await waitFor(() => {
      const found = reader.messages.filter((m) => m.event.type === 'EmailReplied');
      return found.length >= 2 && found;
    });
    expect(replies.find((m) => m.event.eventId === valid.eventId)?.key).toBe(`org-a/${valid.emailId as string}`);
    expect(replies.find((m) => m.event.eventId === results[4]!.eventId)?.event).toMatchObject({ contactId: 'c-9', orgId: 'org-a' });
    expect(replies.some((m) => m.event.orgId === 'org-b')).toBe(false);
  });

  it('answers 200 when every event is accepted; the admin key writes for any org', async () => {
    const res = await ingest([plain(fixture('EmailReplied', { orgId: 'org-z' }))], KEYS.admin);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ accepted: 1, rejected: 0 });
  });

  it('gates an ingested EmailSent like the send endpoint', async () => {
    const res = await ingest([plain(fixture('EmailSent', { orgId: 'org-b' }))], KEYS.b);
    expect(res.statusCode).toBe(207);
    expect(res.json<{ results: Array<{ error: string }> }>().results[0]!.error).toBe('engagement_disabled');
  });

  it('refuses malformed bodies as a whole, writing nothing', async () => {
    const before = await h.endOffset(topicsFor(h.config).emails);
    const malformed = await ingest('[{"type": "EmailReplied",');
    expect(malformed.statusCode).toBe(400);
    // a 400 always names what is wrong in details (README): here the body itself
    expect(malformed.json()).toMatchObject({ error: 'bad_request', details: [{ path: '(body)' }] });
    for (const body of [{ type: 'EmailReplied' }, []]) {
      const res = await ingest(body);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: 'bad_request' });
    }
    const tooMany = await ingest(new Array(10_001).fill(0));
    expect(tooMany.statusCode).toBe(400);
    const huge = await ingest([{ type: 'EmailReplied', padding: 'x'.repeat(70_000) }]);
    expect(huge.statusCode).toBe(413);
    expect(huge.json()).toMatchObject({ error: 'payload_too_large' });
    expect(await h.endOffset(topicsFor(h.config).emails)).toBe(before);
  });
});

describe('auth', () => {
  it('401 without or with an unknown key, 403 across orgs, admin acts everywhere', async () => {
    const route = { method: 'PUT' as const, url: '/v1/orgs/org-b/engagement', payload: { enabled: true } };
    const none = await h.app.inject(route);
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ error: 'unauthorized' });
    expect((await h.app.inject({ ...route, headers: bearer('nope') })).statusCode).toBe(401);
    expect((await h.app.inject({ ...route, headers: { authorization: `Basic ${KEYS.b}` } })).statusCode).toBe(401);
    const foreign = await h.app.inject({ ...route, headers: bearer(KEYS.a) });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json()).toMatchObject({ error: 'forbidden' });
    const send = await h.app.inject({ method: 'POST', url: '/v1/orgs/org-b/emails', headers: bearer(KEYS.a), payload: {} });
    expect(send.statusCode).toBe(403);
    expect((await h.app.inject({ method: 'POST', url: '/v1/events', payload: [] })).statusCode).toBe(401);
    const admin = await h.app.inject({ ...route, headers: bearer(KEYS.admin) });
    expect(admin.statusCode).toBe(200);
    expect(admin.json()).toMatchObject({ orgId: 'org-b', enabled: true });
  });
});

describe('admin switches', () => {
  it('write control events keyed by org, stamped now, and answer the resulting state', async () => {
    const t0 = Date.now();
    expect((await h.app.inject({ method: 'POST', url: '/v1/orgs/org-a/subscription/end', headers: bearer(KEYS.a) })).statusCode).toBe(403);
    const ended = await h.app.inject({ method: 'POST', url: '/v1/orgs/org-a/subscription/end', headers: bearer(KEYS.admin) });
    expect(ended.statusCode).toBe(200);
    const endedState = ended.json<{ subscriptionEndedAt: number; pendingPurgeSince: number | null }>();
    expect(endedState.subscriptionEndedAt).toBeGreaterThanOrEqual(t0);
    expect(endedState.pendingPurgeSince).toBe(endedState.subscriptionEndedAt);
    const renewed = await h.app.inject({ method: 'POST', url: '/v1/orgs/org-a/subscription/renew', headers: bearer(KEYS.admin) });
    expect(renewed.json()).toMatchObject({ orgId: 'org-a', pendingPurgeSince: null });

    const bad = await h.app.inject({ method: 'PUT', url: '/v1/orgs/org-a/engagement', headers: bearer(KEYS.a), payload: { enabled: 'yes' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'bad_request', details: [{ path: 'enabled' }] });

    const control = await waitFor(() => {
      const found = reader.messages.filter((m) => m.topic === topicsFor(h.config).control && m.key === 'org-a');
      return found.length >= 2 && found;
    });
    expect(control.map((m) => m.event.type)).toEqual(['SubscriptionEnded', 'SubscriptionRenewed']);
    expect((control[0]!.event as EventOf<'SubscriptionEnded'>).occurredAt).toBe(endedState.subscriptionEndedAt);
  });
});

describe('operations', () => {
  it('serves healthz, readyz and Prometheus metrics', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', kafka: true, redis: true, tracking: 'direct' });
    await h.app.inject({ method: 'GET', url: '/t/o/forged' });
    const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/engagement_events_written_total\{type="EmailReplied"\} \d+/);
    expect(metrics).toMatch(/engagement_tracking_requests_total\{route="open",outcome="rejected"\} 1/);
    expect(metrics).toMatch(/engagement_tracking_tokens_rejected_total\{route="open"\} 1/);
    expect(metrics).toContain('engagement_http_request_duration_seconds_bucket');
    expect((await h.app.inject({ method: 'GET', url: '/nope' })).json()).toMatchObject({ error: 'not_found' });
  });
});

describe('times ahead of the server clock (MAX_CLOCK_SKEW_SECONDS, default 300)', () => {
  const now = Date.UTC(2026, 10, 2, 9, 30);
  const ahead = new Date(now + 301_000).toISOString();
  const sendBody = (sentAt: string) => ({ emailId: `e-${randomUUID()}`, senderId: 's', sentAt, recipients: [{ contactId: 'c-1' }], follow: false });

  it('POST /v1/events refuses an occurredAt more than the skew ahead, naming the field', async () => {
    h.setNow(now);
    try {
      const reply = { type: 'EmailReplied', orgId: 'org-a', emailId: 'e-1', contactId: 'c-1' };
      const res = await ingest([{ ...reply, occurredAt: ahead }, { ...reply, occurredAt: new Date(now + 300_000).toISOString() }]);
      const { results } = res.json<{ results: Array<{ status: string; errors?: Array<{ path: string; message: string }> }> }>();
      expect(results.map((r) => r.status)).toEqual(['rejected', 'accepted']);
      expect(results[0]!.errors).toEqual([{ path: 'occurredAt', message: 'is 301 s ahead of the server clock: at most 300 s (MAX_CLOCK_SKEW_SECONDS) is accepted' }]);
    } finally {
      h.setNow(undefined);
    }
  });

  it('POST /v1/orgs/:orgId/emails answers 400 naming sentAt', async () => {
    h.setNow(now);
    try {
      const res = await h.app.inject({ method: 'POST', url: '/v1/orgs/org-a/emails', headers: bearer(KEYS.a), payload: sendBody(ahead) });
      expect(res.statusCode).toBe(400);
      expect(JSON.stringify(res.json())).toContain('"sentAt"');
      expect(JSON.stringify(res.json())).toContain('MAX_CLOCK_SKEW_SECONDS');
    } finally {
      h.setNow(undefined);
    }
  });
});
