/**
 * The OpenAPI description of every route, keyed `METHOD /path` as fastify registers it. The
 * `onRoute` hook in openapi-plugin.ts attaches each entry to its route as the route's schema, and
 * @fastify/swagger generates /openapi.json from the routes fastify really has: a route without an
 * entry here is caught by test/api/openapi/openapi.int.spec.ts.
 */
import { CONTACT_WINDOW } from '../../projections/queries/contact-kpis.js';
import { MAX_RANGE_DAYS } from '../../projections/queries/days.js';
import { TOP_LIMIT } from '../../projections/queries/org-top.js';
import type { JsonSchema } from '../../schemas/json-schema.js';
import { RECIPIENT_PATHS } from '../routes/recipient-paths.js';
import { engagementBody, followEmailBody, ingestBody, resolveBody, sendEmailBody, signInBody } from './request-schemas.js';
import {
  emailKpisResponse,
  errorResponse,
  heatmapResponse,
  ingestResponse,
  orgStateResponse,
  recipientKpisResponse,
  rollupKpisResponse,
  sendEmailResponse,
  topResponse,
} from './response-schemas.js';

export interface RouteDoc {
  summary: string;
  description?: string;
  tags: string[];
  /** 'bearer': Authorization: Bearer <key>; 'session': the dashboard cookie; 'none': public */
  auth: 'bearer' | 'session' | 'none';
  params?: Record<string, JsonSchema>;
  querystring?: Record<string, JsonSchema>;
  body?: JsonSchema;
  bodyType?: string;
  /** the body is a batch whose items are checked one by one, each answered in the results, not as a 400 of the batch */
  itemsCheckedOneByOne?: boolean;
  /** status -> description, with the JSON schema of the answer or the content type when it is not JSON */
  responses: Record<string, string | { description: string; type: string } | { description: string; schema: JsonSchema }>;
}

const pathId: JsonSchema = { type: 'string', minLength: 1, maxLength: 200 };
const org = { orgId: pathId };
const findId: JsonSchema = { type: 'string', maxLength: 200, description: 'empty means not given' };
const range = {
  from: { type: 'string', format: 'date', description: `first day (YYYY-MM-DD); the range spans at most ${MAX_RANGE_DAYS} days` },
  to: { type: 'string', format: 'date', description: 'last day (YYYY-MM-DD); default: today' },
};
const html = (description: string) => ({ description, type: 'text/html' });
const readErrors = { '400': 'bad parameter', '401': 'no or unknown key', '403': 'key of another org, or the org is disabled', '404': 'nothing recorded' };
const writeErrors = { '400': 'invalid body, every problem listed in details', '401': 'no or unknown key', '403': 'key of another org' };

const DOCS: Record<string, RouteDoc> = {
  'POST /v1/orgs/:orgId/emails': {
    summary: 'Send a followed email',
    tags: ['producers'],
    auth: 'bearer',
    params: org,
    body: sendEmailBody,
    responses: { '201': { description: 'the send, with per-recipient tracking URLs', schema: sendEmailResponse }, ...writeErrors, '409': 'engagement_disabled, subscription_ended or control_unreadable' },
  },
  'POST /v1/events': {
    summary: 'Batch of upstream events, a result per event',
    tags: ['producers'],
    auth: 'bearer',
    body: ingestBody,
    itemsCheckedOneByOne: true,
    responses: { '200': { description: 'every event accepted', schema: ingestResponse }, '207': { description: 'some events rejected (see results)', schema: ingestResponse }, '400': 'the body is not an array of 1..10000 items', '401': 'no or unknown key' },
  },
  'PUT /v1/orgs/:orgId/engagement': {
    summary: 'Switch the organisation on or off',
    tags: ['control'],
    auth: 'bearer',
    params: org,
    body: engagementBody,
    responses: { '200': { description: 'the org state', schema: orgStateResponse }, ...writeErrors, '409': 'conflict: enabled at or before the org\'s latest purge, so it stays disabled' },
  },
  'POST /v1/orgs/:orgId/control/resolve': {
    summary: 'Admin: resolve an unreadable control record',
    tags: ['control'],
    auth: 'bearer',
    params: org,
    body: resolveBody,
    responses: { '200': 'what remains unresolved', '404': 'no unresolved unreadable control record there (not_found)', ...writeErrors },
  },
  'POST /v1/orgs/:orgId/subscription/end': { summary: 'Admin: end the subscription (collection stops now)', tags: ['control'], auth: 'bearer', params: org, responses: { '200': { description: 'the org state', schema: orgStateResponse }, ...writeErrors } },
  'POST /v1/orgs/:orgId/subscription/renew': { summary: 'Admin: renew the subscription', tags: ['control'], auth: 'bearer', params: org, responses: { '200': { description: 'the org state', schema: orgStateResponse }, ...writeErrors } },
  'GET /v1/orgs/:orgId/emails/:emailId/kpis': {
    summary: 'Per-email KPIs and per-link clicks',
    tags: ['kpis'],
    auth: 'bearer',
    params: { ...org, emailId: pathId },
    responses: { '200': { description: 'the email KPIs', schema: emailKpisResponse }, ...readErrors },
  },
  'GET /v1/orgs/:orgId/kpis': { summary: 'Organisation daily series, totals and rates', tags: ['kpis'], auth: 'bearer', params: org, querystring: range, responses: { '200': { description: 'the org KPIs', schema: rollupKpisResponse }, ...readErrors } },
  'GET /v1/orgs/:orgId/senders/:senderId/kpis': {
    summary: 'Sender daily series, totals and rates',
    tags: ['kpis'],
    auth: 'bearer',
    params: { ...org, senderId: pathId },
    querystring: range,
    responses: { '200': { description: 'the sender KPIs', schema: rollupKpisResponse }, ...readErrors },
  },
  'GET /v1/orgs/:orgId/templates/:templateId/kpis': {
    summary: 'Template daily series, totals and rates',
    tags: ['kpis'],
    auth: 'bearer',
    params: { ...org, templateId: pathId },
    querystring: range,
    responses: { '200': { description: 'the template KPIs', schema: rollupKpisResponse }, ...readErrors },
  },
  'GET /v1/orgs/:orgId/top': {
    summary: 'Top emails, senders and templates over a range',
    tags: ['kpis'],
    auth: 'bearer',
    params: org,
    querystring: { ...range, limit: { type: 'integer', minimum: 1, maximum: TOP_LIMIT.max, default: TOP_LIMIT.default } },
    responses: { '200': { description: 'the rankings (emails, senders and templates by unique opens)', schema: topResponse }, ...readErrors },
  },
  'GET /t/o/:token': { summary: 'Open pixel (always a 1×1 GIF)', tags: ['tracking'], auth: 'none', params: { token: { type: 'string' } }, responses: { '200': { description: 'a GIF', type: 'image/gif' } } },
  'GET /t/c/:token': {
    summary: 'Tracked click: 302 to the signed URL only',
    tags: ['tracking'],
    auth: 'none',
    params: { token: { type: 'string' } },
    responses: { '302': 'redirect to the link', '404': 'unknown or invalid tracking link' },
  },
  'GET /t/a/:token': {
    summary: 'Tracked attachment: 302 to the signed URL only',
    tags: ['tracking'],
    auth: 'none',
    params: { token: { type: 'string' } },
    responses: { '302': 'redirect to the attachment', '404': 'unknown or invalid tracking link' },
  },
  'GET /healthz': { summary: 'Liveness', tags: ['operations'], auth: 'none', responses: { '200': 'alive' } },
  'GET /readyz': { summary: 'Readiness (Redis, and Kafka or a tracking spool with room and data keys)', tags: ['operations'], auth: 'none', responses: { '200': 'ready', '503': 'not ready' } },
  'GET /metrics': { summary: 'Prometheus metrics', tags: ['operations'], auth: 'none', responses: { '200': { description: 'Prometheus text format', type: 'text/plain' } } },
  'GET /openapi.json': { summary: 'This description (OpenAPI 3.1)', tags: ['operations'], auth: 'none', responses: { '200': 'the OpenAPI document' } },
  'GET /dashboard': { summary: 'Dashboard: home (sign-in, or the first org of the key)', tags: ['dashboard'], auth: 'none', responses: { '200': html('the sign-in page'), '303': 'to the org page' } },
  'GET /dashboard/sign-in': { summary: 'Dashboard: sign-in form', tags: ['dashboard'], auth: 'none', responses: { '200': html('the form') } },
  'POST /dashboard/sign-in': {
    summary: 'Dashboard: sign in with an API key (form post; the key never goes in a URL)',
    tags: ['dashboard'],
    auth: 'none',
    body: signInBody,
    bodyType: 'application/x-www-form-urlencoded',
    responses: { '303': 'signed in: sets the HttpOnly, SameSite=Strict session cookie', '401': html('unknown key') },
  },
  'POST /dashboard/sign-out': { summary: 'Dashboard: sign out', tags: ['dashboard'], auth: 'none', responses: { '303': 'to the sign-in page' } },
  'GET /dashboard/assets/dashboard.css': { summary: 'Dashboard stylesheet', tags: ['dashboard'], auth: 'none', responses: { '200': { description: 'CSS', type: 'text/css' } } },
  'GET /dashboard/orgs/:orgId': {
    summary: 'Dashboard: organisation page',
    tags: ['dashboard'],
    auth: 'session',
    params: org,
    querystring: range,
    responses: { '200': html('daily series, rates, top emails, senders and templates'), '303': 'not signed in', '403': html('not this key’s org') },
  },
  'GET /dashboard/orgs/:orgId/find': {
    summary: 'Dashboard: open an email or recipient page by id',
    tags: ['dashboard'],
    auth: 'session',
    params: org,
    querystring: { emailId: findId, recipient: findId, type: { type: 'string', enum: ['contact', 'lead', 'account'] } },
    responses: { '303': 'to the page', '400': html('nothing to find') },
  },
  'GET /dashboard/orgs/:orgId/emails/:emailId': {
    summary: 'Dashboard: email page',
    tags: ['dashboard'],
    auth: 'session',
    params: { ...org, emailId: pathId },
    responses: { '200': html('recipients, funnel, per-link clicks, open timeline'), '303': 'not signed in', '403': html('not this key’s org'), '404': html('no such email') },
  },
  'GET /dashboard/operations': {
    summary: 'Dashboard: operations (admin key only)',
    tags: ['dashboard'],
    auth: 'session',
    responses: { '200': html('lag, dead letters, projection, purges, spool'), '303': 'not signed in', '403': html('not the admin key') },
  },
};

for (const [segment, type] of RECIPIENT_PATHS) {
  const params = { ...org, contactId: pathId };
  DOCS[`PUT /v1/orgs/:orgId/${segment}/:contactId/follow-email`] = {
    summary: `A ${type}'s Follow Email preference`,
    tags: ['control'],
    auth: 'bearer',
    params,
    body: followEmailBody,
    responses: { '200': 'the preference as recorded', ...writeErrors },
  };
  DOCS[`GET /v1/orgs/:orgId/${segment}/:contactId/kpis`] = {
    summary: `A ${type}'s activity over a window, last open and best time to email`,
    tags: ['kpis'],
    auth: 'bearer',
    params,
    querystring: { days: { type: 'integer', minimum: 1, maximum: CONTACT_WINDOW.maxDays, default: CONTACT_WINDOW.defaultDays } },
    responses: { '200': { description: `the ${type} KPIs`, schema: recipientKpisResponse }, ...readErrors },
  };
  DOCS[`GET /v1/orgs/:orgId/${segment}/:contactId/heatmap`] = {
    summary: `A ${type}'s opens per hour of week (7×24) in its own time zone`,
    tags: ['kpis'],
    auth: 'bearer',
    params,
    responses: { '200': { description: 'opens[day][hour], Monday first', schema: heatmapResponse }, ...readErrors },
  };
  DOCS[`GET /dashboard/orgs/:orgId/${segment}/:contactId`] = {
    summary: `Dashboard: ${type} page`,
    tags: ['dashboard'],
    auth: 'session',
    params,
    querystring: { days: { type: 'integer', minimum: 1, maximum: CONTACT_WINDOW.maxDays, default: CONTACT_WINDOW.defaultDays } },
    responses: { '200': html('activity, last open, 7×24 heatmap'), '303': 'not signed in', '403': html('not this key’s org'), '404': html('nothing recorded') },
  };
}

export const ROUTE_DOCS: Readonly<Record<string, RouteDoc>> = DOCS;

export function routeDoc(method: string, url: string): RouteDoc | undefined {
  return ROUTE_DOCS[`${method} ${url}`];
}

const SECURITY = { bearer: [{ bearerAuth: [] }], session: [{ sessionCookie: [] }], none: [] } as const;

/** A RouteDoc as a fastify route schema, the form @fastify/swagger reads. */
export function fastifySchema(doc: RouteDoc): Record<string, unknown> {
  const object = (properties: Record<string, JsonSchema>, required: string[] = []) => ({ type: 'object', properties, required });
  const response = Object.fromEntries(
    Object.entries(doc.responses).map(([status, r]) => {
      if (typeof r === 'object' && 'schema' in r) return [status, { description: r.description, content: { 'application/json': { schema: r.schema } } }];
      const { description, type } = typeof r === 'string' ? { description: r, type: 'application/json' } : r;
      const schema = type !== 'application/json' ? { type: 'string' } : Number(status) >= 400 ? errorResponse : {};
      return [status, { description, content: { [type]: { schema } } }];
    }),
  );
  return {
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    tags: doc.tags,
    security: SECURITY[doc.auth],
    ...(doc.params ? { params: object(doc.params, Object.keys(doc.params)) } : {}),
    ...(doc.querystring ? { querystring: object(doc.querystring) } : {}),
    ...(doc.body ? { body: doc.bodyType ? { content: { [doc.bodyType]: { schema: doc.body } } } : doc.body } : {}),
    response,
  };
}
