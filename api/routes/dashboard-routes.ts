/**
 * `/dashboard`: server-rendered pages over the same reads as the API (no script, no CDN; the
 * charts are SVG with a table beside each). Sign-in takes an API key in a POST form and answers
 * with a signed, expiring, HttpOnly, SameSite=Strict session cookie; an org key sees its org, the
 * admin key every org and the operations page.
 */
import { readFileSync } from 'node:fs';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { asEngagementError, EngagementError } from '../../core/errors.js';
import { createKafka } from '../../core/kafka.js';
import { keysFor } from '../../projections/keys.js';
import { parseDays, queryContactKpis } from '../../projections/queries/contact-kpis.js';
import { queryEmailKpis } from '../../projections/queries/email-kpis.js';
import { queryOrgTop, TOP_LIMIT } from '../../projections/queries/org-top.js';
import { queryRecipientDaily } from '../../projections/queries/recipient-daily.js';
import { queryRecipientHeatmap } from '../../projections/queries/recipient-heatmap.js';
import { queryRollupKpis } from '../../projections/queries/rollup-kpis.js';
import { keyResolver, mayActOn, type Principal } from '../auth.js';
import { html, page, type NavLink } from '../dashboard/html.js';
import { OperationsReader } from '../dashboard/operations-data.js';
import { registerPositionMetrics } from '../dashboard/position-metrics.js';
import { emailPage } from '../dashboard/pages/email-page.js';
import { operationsPage } from '../dashboard/pages/operations-page.js';
import { orgPage } from '../dashboard/pages/org-page.js';
import { recipientPage } from '../dashboard/pages/recipient-page.js';
import { orgListPage, signInPage } from '../dashboard/pages/sign-in-page.js';
import { dashboardPaths as paths } from '../dashboard/paths.js';
import { AttemptLimiter, maskIp, sameSiteForm } from '../dashboard/sign-in-guards.js';
import { keyDigest, principalsByDigest, SESSION_COOKIE, signSession, verifySession } from '../dashboard/session.js';
import { errorResponse } from '../error-handler.js';
import { RECIPIENT_PATHS } from './recipient-paths.js';
import type { RouteDeps } from './route-deps.js';

const CSS = readFileSync(new URL('../dashboard/assets/dashboard.css', import.meta.url), 'utf8');
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  // not no-referrer: with it browsers send `Origin: null` on our own forms, which sameOrigin refuses
  'referrer-policy': 'same-origin',
};

type OrgParams = { orgId: string };

/** Sign-in attempts per client IP: a burst of 10, then one every 3 s (20 a minute). */
const SIGN_IN_BURST = 10;
const SIGN_IN_REFILL_MS = 3_000;

export const dashboardRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  const { config, redis, now } = deps;
  const keys = keysFor(config.redisPrefix);
  const fallback = deps.control.fallback;
  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 4096 });

  const resolveKey = keyResolver(config);
  const byDigest = principalsByDigest(config);
  // Secure when the request came over https (behind a TLS proxy: TRUST_PROXY, X-Forwarded-Proto)
  const cookieOptions = (request: FastifyRequest) => ({ path: paths.home, httpOnly: true, sameSite: 'strict' as const, secure: request.protocol === 'https' });
  const signInAttempts = new AttemptLimiter(SIGN_IN_BURST, SIGN_IN_REFILL_MS);
  const principals = new WeakMap<FastifyRequest, Principal>();
  const operations = new OperationsReader({ config, kafka: createKafka(config), redis, control: deps.control, registries: [deps.metrics.registry], now });
  app.addHook('onClose', () => operations.close());
  registerPositionMetrics(deps.metrics.registry, () => operations.positions());

  const send = (reply: FastifyReply, status: number, title: string, body: ReturnType<typeof html>, nav: readonly NavLink[] = []) =>
    reply.status(status).headers(PAGE_HEADERS).send(page(title, body, nav));

  const navFor = (principal: Principal, orgId?: string): NavLink[] => [
    ...(principal.admin ? [{ href: paths.home, label: 'Organisations' }] : [...principal.orgIds].map((o) => ({ href: paths.org(o), label: o }))),
    ...(orgId && principal.admin ? [{ href: paths.org(orgId), label: orgId }] : []),
    ...(principal.admin ? [{ href: paths.operations, label: 'Operations' }] : []),
    { href: '/docs', label: 'API reference' },
  ];

  // A person reads these: errors become a page with the message, never a stack trace or JSON.
  app.setErrorHandler((error, request, reply) => {
    const { status, body } = errorResponse(error, { engagement_disabled: 403 });
    if (status >= 500) request.log.error({ err: error, url: request.routeOptions.url }, 'dashboard page failed');
    const principal = principals.get(request);
    return send(reply, status, status === 403 ? 'Not allowed' : status === 404 ? 'Not found' : 'Something went wrong', html`<p class="error" role="alert" data-testid="error">${body.message}</p>`, principal ? navFor(principal) : []);
  });

  const signedIn: preHandlerAsyncHookHandler = async (request, reply) => {
    const session = verifySession(request.cookies[SESSION_COOKIE], config.dashboardSessionSecret, now());
    const principal = session ? byDigest(session.keyDigest) : null;
    if (!principal) return reply.status(303).header('cache-control', 'no-store').redirect(paths.signIn, 303);
    principals.set(request, principal);
  };
  const principal = (request: FastifyRequest): Principal => principals.get(request)!;
  const orgAllowed: preHandlerAsyncHookHandler = async (request) => {
    const { orgId } = request.params as OrgParams;
    if (!mayActOn(principal(request), orgId)) throw new EngagementError('forbidden', `this key may not open organisation "${orgId}"`);
  };
  const adminOnly: preHandlerAsyncHookHandler = async (request) => {
    if (!principal(request).admin) throw new EngagementError('forbidden', 'the operations page needs the admin key');
  };
  const orgPage_ = { preHandler: [signedIn, orgAllowed] };
  const sameOrigin: preHandlerAsyncHookHandler = async (request) => {
    if (!sameSiteForm(request.headers, config.publicBaseUrl)) {
      throw new EngagementError('forbidden', 'this form may only be posted from the dashboard itself');
    }
  };

  app.get('/dashboard/assets/dashboard.css', async (_request, reply) =>
    reply.headers({ 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=300', 'x-content-type-options': 'nosniff' }).send(CSS),
  );

  app.get('/dashboard/sign-in', async (_request, reply) => send(reply, 200, 'Sign in', signInPage(null)));

  app.post<{ Body: { key?: unknown } }>('/dashboard/sign-in', { preHandler: sameOrigin }, async (request, reply) => {
    const attempt = signInAttempts.take(request.ip);
    if (!attempt.allowed) {
      const seconds = Math.ceil(attempt.retryAfterMs / 1000);
      request.log.warn({ client: maskIp(request.ip) }, 'dashboard sign-in refused: too many attempts');
      return send(reply.header('retry-after', String(seconds)), 429, 'Sign in', signInPage(`Too many sign-in attempts from your address. Wait ${seconds} s and try again.`));
    }
    const key = typeof request.body?.key === 'string' ? request.body.key.trim() : '';
    const resolved = key === '' ? null : resolveKey(key);
    if (!resolved) request.log.warn({ client: maskIp(request.ip) }, 'dashboard sign-in refused: unknown key');
    if (!resolved) return send(reply.header('www-authenticate', 'Bearer'), 401, 'Sign in', signInPage(key === '' ? 'Enter an API key.' : 'That key is not valid. Check it and try again.'));
    const secret = config.dashboardSessionSecret;
    const token = signSession({ keyDigest: keyDigest(secret, key), expiresAt: now() + config.dashboardSessionHours * 3_600_000 }, secret);
    return reply
      .setCookie(SESSION_COOKIE, token, { ...cookieOptions(request), maxAge: config.dashboardSessionHours * 3600 })
      .header('cache-control', 'no-store')
      .redirect(paths.home, 303);
  });

  app.post('/dashboard/sign-out', { preHandler: sameOrigin }, async (request, reply) =>
    reply.clearCookie(SESSION_COOKIE, cookieOptions(request)).redirect(paths.signIn, 303),
  );

  app.get('/dashboard', async (request, reply) => {
    const session = verifySession(request.cookies[SESSION_COOKIE], config.dashboardSessionSecret, now());
    const who = session ? byDigest(session.keyDigest) : null;
    if (!who) return send(reply, 200, 'Sign in', signInPage(null));
    principals.set(request, who);
    if (!who.admin && who.orgIds.size === 1) return reply.redirect(paths.org([...who.orgIds][0]!), 303);
    const orgIds = who.admin ? (await deps.control.listOrgs()).sort() : [...who.orgIds].sort();
    return send(reply, 200, 'Organisations', orgListPage(orgIds, who.admin), navFor(who));
  });

  app.get<{ Params: OrgParams; Querystring: { from?: string; to?: string } }>('/dashboard/orgs/:orgId', orgPage_, async (request, reply) => {
    const { orgId } = request.params;
    const range = { from: request.query.from || undefined, to: request.query.to || undefined };
    const [kpis, top] = await Promise.all([
      queryRollupKpis(redis, keys, orgId, { kind: 'org' }, range, now(), config.historyDays, fallback),
      queryOrgTop(redis, keys, orgId, range, TOP_LIMIT.default, now(), fallback, deps.orgTopCache),
    ]);
    return send(reply, 200, `Organisation ${orgId}`, orgPage(kpis, top), navFor(principal(request), orgId));
  });

  app.get<{ Params: OrgParams; Querystring: { emailId?: string; recipient?: string; type?: string } }>('/dashboard/orgs/:orgId/find', orgPage_, async (request, reply) => {
    const { orgId } = request.params;
    const { emailId, recipient, type } = request.query;
    if (emailId) return reply.redirect(paths.email(orgId, emailId), 303);
    const segment = RECIPIENT_PATHS.find(([, t]) => t === (type || 'contact'))?.[0];
    if (recipient && segment) return reply.redirect(paths.recipient(orgId, segment, recipient), 303);
    throw new EngagementError('bad_request', 'give an email id, or a recipient id with its type (contact, lead or account)');
  });

  app.get<{ Params: OrgParams & { emailId: string } }>('/dashboard/orgs/:orgId/emails/:emailId', orgPage_, async (request, reply) => {
    const { orgId, emailId } = request.params;
    const kpis = await queryEmailKpis(redis, keys, orgId, emailId, fallback);
    return send(reply, 200, `Email ${emailId}`, emailPage(kpis), navFor(principal(request), orgId));
  });

  for (const [segment, type] of RECIPIENT_PATHS) {
    app.get<{ Params: OrgParams & { contactId: string }; Querystring: { days?: string } }>(`/dashboard/orgs/:orgId/${segment}/:contactId`, orgPage_, async (request, reply) => {
      const { orgId, contactId } = request.params;
      const days = parseDays(request.query.days);
      const [kpis, daily, map] = await Promise.all([
        queryContactKpis(redis, keys, orgId, contactId, days, now(), fallback, type, config.historyDays),
        queryRecipientDaily(redis, keys, orgId, contactId, type, days, now(), fallback),
        queryRecipientHeatmap(redis, keys, orgId, contactId, type, now(), fallback, config.historyDays).catch((error: unknown) => {
          if (error instanceof EngagementError && error.code === 'not_found') return null;
          throw error;
        }),
      ]);
      const title = `${type[0]!.toUpperCase()}${type.slice(1)} ${contactId}`;
      return send(reply, 200, title, recipientPage(kpis, map, paths.recipient(orgId, segment, contactId), daily), navFor(principal(request), orgId));
    });
  }

  app.get('/dashboard/operations', { preHandler: [signedIn, adminOnly] }, async (request, reply) =>
    send(
      reply,
      200,
      'Operations',
      operationsPage(
        await operations.read().catch((error: unknown) => {
          throw asEngagementError(error, 'kafka_unavailable', true);
        }),
      ),
      navFor(principal(request)),
    ),
  );
};
