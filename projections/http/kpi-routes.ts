import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { orgAuth } from '../../api/auth.js';
import { isEngagementError } from '../../core/errors.js';
import type { RouteDeps } from '../../producers/http/route-deps.js';
import { keysFor } from '../keys.js';
import { parseDays, queryContactKpis } from '../queries/contact-kpis.js';
import { queryEmailKpis } from '../queries/email-kpis.js';
import { queryRollupKpis, type RollupScope } from '../queries/rollup-kpis.js';

type OrgParams = { orgId: string };
type RangeQuery = { from?: string; to?: string };

/**
 * Read side of the API. Query errors are answered here with the statuses DESIGN.md §2 and §6
 * give them; a disabled org is 403 on reads (409 is for following an email).
 */
export const kpiRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  const { redis, now } = deps;
  const keys = keysFor(deps.config.redisPrefix);
  const authorize = orgAuth(deps.config);

  const answer = async (reply: FastifyReply, run: () => Promise<unknown>): Promise<unknown> => {
    try {
      return await run();
    } catch (error) {
      if (isEngagementError(error, 'engagement_disabled')) return reply.code(403).send({ error: error.code, message: error.message });
      if (isEngagementError(error, 'not_found')) return reply.code(404).send({ error: error.code, message: error.message });
      if (isEngagementError(error, 'bad_request')) {
        return reply.code(400).send({ error: error.code, message: error.message, parameter: error.details?.parameter });
      }
      throw error;
    }
  };
  const rollup = (reply: FastifyReply, orgId: string, scope: RollupScope, query: RangeQuery): Promise<unknown> =>
    answer(reply, () => queryRollupKpis(redis, keys, orgId, scope, { from: query.from, to: query.to }, now()));

  app.get<{ Params: OrgParams & { emailId: string } }>('/v1/orgs/:orgId/emails/:emailId/kpis', { preHandler: authorize }, (req, reply) =>
    answer(reply, () => queryEmailKpis(redis, keys, req.params.orgId, req.params.emailId)),
  );

  app.get<{ Params: OrgParams & { contactId: string }; Querystring: { days?: string } }>(
    '/v1/orgs/:orgId/contacts/:contactId/kpis',
    { preHandler: authorize },
    (req, reply) =>
      answer(reply, () => queryContactKpis(redis, keys, req.params.orgId, req.params.contactId, parseDays(req.query.days), now())),
  );

  app.get<{ Params: OrgParams; Querystring: RangeQuery }>('/v1/orgs/:orgId/kpis', { preHandler: authorize }, (req, reply) =>
    rollup(reply, req.params.orgId, { kind: 'org' }, req.query),
  );

  app.get<{ Params: OrgParams & { senderId: string }; Querystring: RangeQuery }>(
    '/v1/orgs/:orgId/senders/:senderId/kpis',
    { preHandler: authorize },
    (req, reply) => rollup(reply, req.params.orgId, { kind: 'sender', senderId: req.params.senderId }, req.query),
  );

  app.get<{ Params: OrgParams & { templateId: string }; Querystring: RangeQuery }>(
    '/v1/orgs/:orgId/templates/:templateId/kpis',
    { preHandler: authorize },
    (req, reply) => rollup(reply, req.params.orgId, { kind: 'template', templateId: req.params.templateId }, req.query),
  );
};
