import { hash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Config } from '../core/config.js';
import { EngagementError } from '../core/errors.js';

/**
 * Bearer-key auth (DESIGN.md §6): a key is scoped to its organisation(s); the admin key acts on
 * every org. Keys are compared as SHA-256 digests with timingSafeEqual, against every known key
 * without stopping at a match, so timing reveals neither a key nor how much of it was right.
 *
 * Route modules reuse the preHandlers:
 *   app.get('/v1/orgs/:orgId/kpis', { preHandler: orgAuth(config) }, handler)
 *   app.post('/v1/…', { preHandler: adminOnly(config) }, handler)
 *   app.post('/v1/events', { preHandler: authenticated(config) }, (req) => principalOf(req) …)
 */
export interface Principal {
  admin: boolean;
  /** organisations this key may act on (empty for the admin key, which may act on all) */
  orgIds: ReadonlySet<string>;
}

type AuthConfig = Pick<Config, 'adminKey' | 'apiKeys'>;

const principals = new WeakMap<FastifyRequest, Principal>();

/** The caller of a request that went through one of the preHandlers below. */
export function principalOf(request: FastifyRequest): Principal {
  const principal = principals.get(request);
  if (!principal) throw new EngagementError('unauthorized', 'request was not authenticated');
  return principal;
}

export function mayActOn(principal: Principal, orgId: string): boolean {
  return principal.admin || principal.orgIds.has(orgId);
}

/** Resolves a bearer key to its principal, or null. Exposed for tests and non-HTTP callers. */
export function keyResolver(config: AuthConfig): (key: string) => Principal | null {
  // the one-shot hash: a Hash object per request cost several times more, on every authenticated call
  const digest = (value: string): Buffer => hash('sha256', value, 'buffer');
  const admin = digest(config.adminKey);
  const orgKeys = [...config.apiKeys].map(([orgId, key]) => ({ orgId, digest: digest(key) }));
  return (key) => {
    const given = digest(key);
    const isAdmin = timingSafeEqual(given, admin) && config.adminKey !== '';
    const orgIds = new Set<string>();
    for (const entry of orgKeys) {
      if (timingSafeEqual(given, entry.digest)) orgIds.add(entry.orgId);
    }
    return isAdmin || orgIds.size > 0 ? { admin: isAdmin, orgIds } : null;
  };
}

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

function authenticate(resolve: (key: string) => Principal | null, request: FastifyRequest, reply: FastifyReply): Principal {
  const key = bearer(request);
  const principal = key === null ? null : resolve(key);
  if (!principal) {
    void reply.header('www-authenticate', 'Bearer');
    throw new EngagementError('unauthorized', key === null ? 'missing "Authorization: Bearer <key>" header' : 'unknown API key');
  }
  principals.set(request, principal);
  return principal;
}

/** Any known key; per-org checks are the handler's (e.g. per event in a batch). */
export function authenticated(config: AuthConfig): preHandlerAsyncHookHandler {
  const resolve = keyResolver(config);
  return async (request, reply) => {
    authenticate(resolve, request, reply);
  };
}

/** The key of the route's `:orgId` (or the admin key). */
export function orgAuth(config: AuthConfig, param = 'orgId'): preHandlerAsyncHookHandler {
  const resolve = keyResolver(config);
  return async (request, reply) => {
    const principal = authenticate(resolve, request, reply);
    const orgId = (request.params as Record<string, string | undefined>)[param];
    if (orgId === undefined || !mayActOn(principal, orgId)) {
      throw new EngagementError('forbidden', `this key may not act on organisation "${orgId ?? ''}"`);
    }
  };
}

/** The admin key only. */
export function adminOnly(config: AuthConfig): preHandlerAsyncHookHandler {
  const resolve = keyResolver(config);
  return async (request, reply) => {
    const principal = authenticate(resolve, request, reply);
    if (!principal.admin) throw new EngagementError('forbidden', 'this operation needs the admin key');
  };
}
