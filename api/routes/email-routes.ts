import type { FastifyPluginAsync } from 'fastify';
import { orgAuth } from '../auth.js';
import { decideSend } from '../../producers/email/decide-send.js';
import { parseSendEmailRequest } from '../../producers/email/send-request.js';
import { subscriptionEnded } from '../../projections/control/org-state.js';
import { badRequest, EngagementError } from '../../core/errors.js';
import { checkIds, controlStateUnavailable } from './request-errors.js';
import type { RouteDeps } from './route-deps.js';

/** `POST /v1/orgs/:orgId/emails` (DESIGN.md §6): answers only after Kafka acknowledged EmailSent. */
export const emailRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  const tracking = { publicBaseUrl: deps.config.publicBaseUrl, secrets: deps.config.trackingSecrets };

  app.post<{ Params: { orgId: string } }>('/v1/orgs/:orgId/emails', { preHandler: orgAuth(deps.config) }, async (request, reply) => {
    const { orgId } = request.params;
    checkIds({ orgId }, true);
    const acceptedAt = deps.now();
    const parsed = parseSendEmailRequest(request.body, acceptedAt, deps.config.maxClockSkewSeconds * 1000);
    if (!parsed.ok) throw badRequest(parsed.errors);
    const email = parsed.value;
    const [org, allows, unreadable] = await Promise.all([
      deps.control.readOrg(orgId),
      email.follow
        ? deps.control.readRecipientsAllow(orgId, email.recipients.map((r) => ({ type: r.recipientType, id: r.contactId })))
        : new Map<string, boolean>(),
      email.follow ? deps.control.readUnreadable(orgId) : [],
    ]).catch(controlStateUnavailable);
    if (unreadable.length > 0) {
      const at = unreadable.map((r) => `partition ${r.partition} offset ${r.offset}`).join(', ');
      // a record without a key may be any org's: it blocks every org, and says so
      const whose = unreadable.some((r) => r.orgId === null) ? 'whose organisation is unknown (no key; it blocks every organisation)' : `of organisation "${orgId}"`;
      throw new EngagementError(
        'control_unreadable',
        `a control record ${whose} could not be read (${at}): nothing of organisation "${orgId}" is followed until an administrator resolves it (POST /v1/orgs/:orgId/control/resolve)`,
      );
    }
    const { event, response } = decideSend(email, {
      orgId,
      acceptedAt,
      orgEnabled: org.enabled,
      subscriptionEnded: subscriptionEnded(org),
      allows,
      tracking,
    });
    await deps.sink.send(event);
    return reply.status(201).send(response);
  });
};
