/**
 * Reads the dashboard needs beyond the KPI routes, public like them (same auth, same 403 on a
 * disabled org): the org's top emails, senders and templates over a range, and a recipient's
 * whole 7×24 open heatmap in its own time zone.
 */
import type { FastifyPluginAsync, RouteShorthandOptions } from 'fastify';
import { orgAuth } from '../auth.js';
import { keysFor } from '../../projections/keys.js';
import { parseTopLimit, queryOrgTop } from '../../projections/queries/org-top.js';
import { queryRecipientHeatmap } from '../../projections/queries/recipient-heatmap.js';
import { RECIPIENT_PATHS } from './recipient-paths.js';
import type { RouteDeps } from './route-deps.js';

export const insightRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  const { redis, now } = deps;
  const keys = keysFor(deps.config.redisPrefix);
  const read: RouteShorthandOptions = { preHandler: orgAuth(deps.config), config: { errorStatus: { engagement_disabled: 403 } } };

  app.get<{ Params: { orgId: string }; Querystring: { from?: string; to?: string; limit?: string } }>('/v1/orgs/:orgId/top', read, (req) =>
    queryOrgTop(redis, keys, req.params.orgId, { from: req.query.from, to: req.query.to }, parseTopLimit(req.query.limit), now(), deps.control.fallback, deps.orgTopCache),
  );

  for (const [segment, type] of RECIPIENT_PATHS) {
    app.get<{ Params: { orgId: string; contactId: string } }>(`/v1/orgs/:orgId/${segment}/:contactId/heatmap`, read, (req) =>
      queryRecipientHeatmap(redis, keys, req.params.orgId, req.params.contactId, type, now(), deps.control.fallback, deps.config.historyDays),
    );
  }
};
