/**
 * Read side of the API. Errors go through the one error handler; a disabled org is 403 on reads
 * (DESIGN.md §2: 409 is for following an email), declared per route.
 */
import type { FastifyPluginAsync, RouteShorthandOptions } from 'fastify';
import { orgAuth } from '../auth.js';
import { keysFor } from '../../projections/keys.js';
import { parseDays, queryContactKpis } from '../../projections/queries/contact-kpis.js';
import { queryEmailKpis } from '../../projections/queries/email-kpis.js';
import { queryRollupKpis, type RollupScope } from '../../projections/queries/rollup-kpis.js';
import type { RouteDeps } from './route-deps.js';
import { RECIPIENT_PATHS } from './recipient-paths.js';

type OrgParams = { orgId: string };
type RangeQuery = { from?: string; to?: string };

export const kpiRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  const { redis, now } = deps;
  const fallback = deps.control.fallback;
  const keys = keysFor(deps.config.redisPrefix);
  const read: RouteShorthandOptions = { preHandler: orgAuth(deps.config), config: { errorStatus: { engagement_disabled: 403 } } };
  const rollup = (orgId: string, scope: RollupScope, query: RangeQuery): Promise<unknown> =>
    queryRollupKpis(redis, keys, orgId, scope, { from: query.from, to: query.to }, now(), deps.config.historyDays, fallback);

  app.get<{ Params: OrgParams & { emailId: string } }>('/v1/orgs/:orgId/emails/:emailId/kpis', read, (req) =>
    queryEmailKpis(redis, keys, req.params.orgId, req.params.emailId, fallback),
  );

  // One route per recipient type (DESIGN §2.2: a lead and a contact with one id are two recipients).
  for (const [segment, type] of RECIPIENT_PATHS) {
    app.get<{ Params: OrgParams & { contactId: string }; Querystring: { days?: string } }>(
      `/v1/orgs/:orgId/${segment}/:contactId/kpis`,
      read,
      (req) => queryContactKpis(redis, keys, req.params.orgId, req.params.contactId, parseDays(req.query.days), now(), fallback, type, deps.config.historyDays),
    );
  }

  app.get<{ Params: OrgParams; Querystring: RangeQuery }>('/v1/orgs/:orgId/kpis', read, (req) =>
    rollup(req.params.orgId, { kind: 'org' }, req.query),
  );

  app.get<{ Params: OrgParams & { senderId: string }; Querystring: RangeQuery }>('/v1/orgs/:orgId/senders/:senderId/kpis', read, (req) =>
    rollup(req.params.orgId, { kind: 'sender', senderId: req.params.senderId }, req.query),
  );

  app.get<{ Params: OrgParams & { templateId: string }; Querystring: RangeQuery }>(
    '/v1/orgs/:orgId/templates/:templateId/kpis',
    read,
    (req) => rollup(req.params.orgId, { kind: 'template', templateId: req.params.templateId }, req.query),
  );
};
