import type { FastifyPluginAsync } from 'fastify';
import { authenticated, mayActOn, principalOf } from '../auth.js';
import { isControlEvent, recipientKey, recipientTypeOf, type AnyEvent, type ControlEvent, type EmailSent } from '../../schemas/events.js';
import { applySendPolicy, parseIngestBody, screenEvents, stampAcceptedAt, type IngestResult } from '../../producers/ingest/ingest-batch.js';
import { subscriptionEnded } from '../../projections/control/org-state.js';
import { badRequest } from '../../core/errors.js';
import { controlStateUnavailable } from './request-errors.js';
import type { RouteDeps } from './route-deps.js';

/**
 * `POST /v1/events`: a result per event; 200 when all were accepted, 207 otherwise. Answers
 * only after Kafka acknowledged every accepted event, so an accepted event is never lost.
 */
export const ingestRoutes: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  app.post('/v1/events', { preHandler: authenticated(deps.config) }, async (request, reply) => {
    const parsed = parseIngestBody(request.body);
    if (!parsed.ok) throw badRequest(parsed.errors);
    const principal = principalOf(request);
    const now = deps.now();
    const { accepted, rejected } = screenEvents(parsed.value, (orgId) => mayActOn(principal, orgId), now, principal.admin, deps.config.maxClockSkewSeconds * 1000);

    const toWrite: Array<{ index: number; event: AnyEvent }> = [];
    const sends = accepted.filter((a): a is { index: number; event: EmailSent } => a.event.type === 'EmailSent');
    const policy = sends.length > 0 ? await readPolicy(deps, sends.map((s) => s.event)).catch(controlStateUnavailable) : undefined;
    for (const item of accepted) {
      if (item.event.type !== 'EmailSent' || !policy) {
        toWrite.push(item);
        continue;
      }
      const orgId = item.event.orgId;
      const decision = applySendPolicy(stampAcceptedAt(item.event, now, principal.admin), policy.enabled.get(orgId) ?? false, policy.allows.get(orgId) ?? new Map(), {
        subscriptionEnded: policy.ended.get(orgId) ?? false,
      });
      if (decision.ok) toWrite.push({ index: item.index, event: decision.event });
      else rejected.push({ index: item.index, status: 'rejected', error: decision.error, errors: decision.errors });
    }

    await deps.sink.sendAll(toWrite.map((w) => w.event));
    const control = toWrite.map((w) => w.event).filter((e): e is ControlEvent => isControlEvent(e));
    if (control.length > 0) await deps.control.apply(control).catch(controlStateUnavailable);
    const results: IngestResult[] = [
      ...toWrite.map((w): IngestResult => ({ index: w.index, status: 'accepted', eventId: w.event.eventId })),
      ...rejected,
    ].sort((a, b) => a.index - b.index);
    return reply.status(rejected.length > 0 ? 207 : 200).send({ accepted: toWrite.length, rejected: rejected.length, results });
  });
};

async function readPolicy(deps: RouteDeps, sends: readonly EmailSent[]) {
  const orgIds = [...new Set(sends.map((s) => s.orgId))];
  const states = await deps.control.readOrgs(orgIds);
  const allows = new Map<string, Map<string, boolean>>();
  for (const orgId of orgIds) {
    const recipients = new Map(
      sends
        .filter((s) => s.orgId === orgId)
        .flatMap((s) => s.recipients.map((r) => ({ type: recipientTypeOf(r), id: r.contactId })))
        .map((r) => [recipientKey(r.type, r.id), r] as const),
    );
    allows.set(orgId, await deps.control.readRecipientsAllow(orgId, [...recipients.values()]));
  }
  return {
    enabled: new Map(orgIds.map((o) => [o, states.get(o)?.enabled ?? false])),
    ended: new Map(orgIds.map((o) => [o, states.has(o) && subscriptionEnded(states.get(o)!)])),
    allows,
  };
}
