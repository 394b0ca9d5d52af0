import type { FastifyPluginAsync } from 'fastify';
import { adminOnly, orgAuth } from '../auth.js';
import { asEngagementError, badRequest, EngagementError } from '../../core/errors.js';
import { pendingPurgeSince } from '../../projections/control/org-state.js';
import type { ControlEvent } from '../../schemas/events.js';
import { controlEvent, parseEngagementBody, parseFollowEmailBody, parseResolveBody, type ControlCommand } from '../../producers/control/control-commands.js';
import { RECIPIENT_PATHS } from './recipient-paths.js';
import { checkIds } from './request-errors.js';
import type { RouteDeps } from './route-deps.js';

/**
 * The admin switches. Each writes its control event stamped with the accepted time, waits for
 * Kafka's ack, then applies it to the control state in Redis so the caller's very next request
 * sees it. The org's own key may switch engagement and contact preferences (the CRM decides
 * which of its users are administrators); subscriptions are the operator's: admin key only.
 */
export const controlRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  const write = async (orgId: string, command: ControlCommand): Promise<ControlEvent> => {
    const event = controlEvent(orgId, command, deps.newEventId(), deps.now());
    await deps.sink.send(event);
    await deps.control.apply([event]).catch((error: unknown) => {
      throw asEngagementError(error, 'redis_unavailable', true);
    });
    return event;
  };
  const orgState = async (orgId: string) => {
    const state = await deps.control.readOrg(orgId);
    return { ...state, pendingPurgeSince: pendingPurgeSince(state) };
  };

  app.put<{ Params: { orgId: string } }>('/v1/orgs/:orgId/engagement', { preHandler: orgAuth(deps.config) }, async (request) => {
    const { orgId } = request.params;
    const body = parseEngagementBody(request.body);
    if (!body.ok) throw badRequest(body.errors);
    // switching off is protective: it stays possible for an org id stored before the "@" rule
    checkIds({ orgId }, body.value.enabled);
    // The org's data key exists before any of its events is sealed (also after a purge destroyed the last one).
    if (body.value.enabled) await deps.keys?.ensure(orgId);
    const event = await write(orgId, { kind: 'engagement', enabled: body.value.enabled });
    const state = await orgState(orgId);
    if (body.value.enabled && !state.enabled) {
      // Written, but it does not take effect: say so rather than answer 200 with the org still off.
      const at = new Date(event.occurredAt).toISOString();
      // A purge with nothing after it leaves no state hash (only its fence): purgedAt may read null.
      const why =
        state.changedAt > event.occurredAt
          ? `a later switch (at ${new Date(state.changedAt).toISOString()}) outlives this one (${at})`
          : `a purge of the org stamped${state.purgedAt === null ? '' : ` at ${new Date(state.purgedAt).toISOString()}`} at or after this switch (${at}) outlives it: enable it again once the clock is past the purge`;
      throw new EngagementError('conflict', `organisation ${orgId} stays disabled: ${why}`);
    }
    return state;
  });

  // One route per recipient type: a lead and a contact with one id are two recipients (DESIGN §2.2).
  for (const [segment, pathType] of RECIPIENT_PATHS) {
    app.put<{ Params: { orgId: string; contactId: string } }>(
      `/v1/orgs/:orgId/${segment}/:contactId/follow-email`,
      { preHandler: orgAuth(deps.config) },
      async (request) => {
        const { orgId, contactId } = request.params;
        const body = parseFollowEmailBody(request.body, pathType);
        if (!body.ok) throw badRequest(body.errors);
        const { recipientType, allow } = body.value;
        // an opt-out is protective: it stays possible for an id stored before the "@" rule
        checkIds({ orgId, contactId }, allow);
        const event = await write(orgId, { kind: 'follow-email', contactId, recipientType, allow });
        return { orgId, contactId, contactType: recipientType, recipientType, allow, changedAt: event.occurredAt };
      },
    );
  }

  /**
   * Fail closed (DESIGN §2): an unreadable control record blocks its org until an administrator
   * resolves it here, after restoring what it meant (e.g. sending the opt-out or the switch again).
   */
  app.post<{ Params: { orgId: string } }>('/v1/orgs/:orgId/control/resolve', { preHandler: adminOnly(deps.config) }, async (request) => {
    const { orgId } = request.params;
    checkIds({ orgId }, true);
    const body = parseResolveBody(request.body);
    if (!body.ok) throw badRequest(body.errors);
    // Only a record listed as unreadable (for this org, or for every org): this route is the only
    // writer of resolutions (/v1/events refuses them), and one naming an offset not written yet
    // would let a record that lands there later pass unblocked.
    const { partition, offset } = body.value;
    const listed = await deps.control.readUnreadable(orgId);
    if (!listed.some((r) => r.partition === partition && r.offset === offset)) {
      throw new EngagementError('not_found', `no unresolved unreadable control record at partition ${partition}, offset ${offset} blocks organisation ${orgId}`);
    }
    const event = await write(orgId, { kind: 'resolve-unreadable', ...body.value });
    return { orgId, ...body.value, resolvedAt: event.occurredAt, unresolved: await deps.control.readUnreadable(orgId) };
  });

  app.post<{ Params: { orgId: string } }>('/v1/orgs/:orgId/subscription/end', { preHandler: adminOnly(deps.config) }, async (request) => {
    checkIds({ orgId: request.params.orgId });
    await write(request.params.orgId, { kind: 'subscription-end' });
    return orgState(request.params.orgId);
  });

  app.post<{ Params: { orgId: string } }>('/v1/orgs/:orgId/subscription/renew', { preHandler: adminOnly(deps.config) }, async (request) => {
    checkIds({ orgId: request.params.orgId }, true);
    await write(request.params.orgId, { kind: 'subscription-renew' });
    return orgState(request.params.orgId);
  });
};
