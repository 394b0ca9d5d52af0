/**
 * `POST /v1/events`: upstream email events, each judged on its own. Pure steps; the route reads
 * the control state and writes to Kafka in between.
 */

import type { FieldError } from '../../schemas/validate.js';
import { validateEvent } from '../../schemas/validate.js';
import { DEFAULT_MAX_CLOCK_SKEW_MS } from '../../schemas/occurred-at.js';
import { isControlEvent, recipientKey, reservedEventProblem, recipientTypeOf, type AnyEvent, type EmailSent } from '../../schemas/events.js';
import type { ParseResult } from '../email/send-request.js';

export const INGEST_LIMITS = { maxEvents: 10_000 } as const;

export type RejectionCode = 'validation_failed' | 'forbidden' | 'engagement_disabled' | 'subscription_ended';

export type IngestResult =
  | { index: number; status: 'accepted'; eventId: string }
  | { index: number; status: 'rejected'; error: RejectionCode; errors: FieldError[] };

export interface Screened {
  accepted: Array<{ index: number; event: AnyEvent }>;
  rejected: IngestResult[];
}

export function parseIngestBody(body: unknown): ParseResult<unknown[]> {
  if (!Array.isArray(body)) return { ok: false, errors: [{ path: '', message: 'the body must be a JSON array of events' }] };
  if (body.length === 0) return { ok: false, errors: [{ path: '', message: 'the array must hold at least one event' }] };
  if (body.length > INGEST_LIMITS.maxEvents) {
    return { ok: false, errors: [{ path: '', message: `at most ${INGEST_LIMITS.maxEvents} events per request, got ${body.length}` }] };
  }
  return { ok: true, value: body };
}

/**
 * Validates each item and checks the caller may write for its org. Control events are the CRM
 * backend's admin history (a backfill): only the admin key may send them here.
 */
export function screenEvents(
  items: readonly unknown[],
  mayWrite: (orgId: string) => boolean,
  nowMs: number,
  mayWriteControl = false,
  maxSkewMs: number = DEFAULT_MAX_CLOCK_SKEW_MS,
): Screened {
  const out: Screened = { accepted: [], rejected: [] };
  items.forEach((item, index) => {
    const result = validateEvent(item, nowMs, maxSkewMs);
    if (!result.ok) return void out.rejected.push({ index, status: 'rejected', error: 'validation_failed', errors: result.errors });
    const event: AnyEvent = result.event;
    if (!mayWrite(event.orgId)) {
      return void out.rejected.push({
        index,
        status: 'rejected',
        error: 'forbidden',
        errors: [{ path: 'orgId', message: `this key may not write events for organisation "${event.orgId}"` }],
      });
    }
    const reserved = reservedEventProblem(event.type, '/v1/events');
    if (reserved) return void out.rejected.push({ index, status: 'rejected', error: 'forbidden', errors: [{ path: 'type', message: reserved }] });
    if (isControlEvent(event) && !mayWriteControl) {
      // Control events change what every processor collects: org keys use the admin endpoints.
      return void out.rejected.push({
        index,
        status: 'rejected',
        error: 'forbidden',
        errors: [{ path: 'type', message: `${event.type} needs the admin key; org keys use the admin endpoints (PUT …/engagement)` }],
      });
    }
    out.accepted.push({ index, event });
  });
  return out;
}

/**
 * The instant of an ingested send's follow decision, at which the gate judges it. This endpoint
 * decides with the control state of now (`applySendPolicy`), so acceptedAt is the ingest time;
 * only the admin key may carry its own acceptedAt, to backfill history as it was decided then
 * (with the control history backfilled alongside). An org key's acceptedAt is replaced.
 */
export function stampAcceptedAt(event: EmailSent, nowMs: number, admin: boolean): EmailSent {
  return { ...event, acceptedAt: admin && event.acceptedAt !== null ? event.acceptedAt : nowMs };
}

/**
 * An EmailSent arriving here obeys the same rules as `POST …/emails`: no follow once the
 * subscription has ended or while the org is disabled, and recipients who don't allow following
 * are not followed.
 */
export function applySendPolicy(
  event: EmailSent,
  orgEnabled: boolean,
  allows: ReadonlyMap<string, boolean>,
  lifecycle: { subscriptionEnded?: boolean } = {},
): { ok: true; event: EmailSent } | { ok: false; error: RejectionCode; errors: FieldError[] } {
  if (!event.follow) return { ok: true, event: { ...event, recipients: event.recipients.map((r) => ({ ...r, followed: false })) } };
  if (lifecycle.subscriptionEnded) {
    return { ok: false, error: 'subscription_ended', errors: [{ path: 'follow', message: `the subscription of organisation "${event.orgId}" has ended` }] };
  }
  if (!orgEnabled) {
    return { ok: false, error: 'engagement_disabled', errors: [{ path: 'follow', message: `email engagement is disabled for organisation "${event.orgId}"` }] };
  }
  return {
    ok: true,
    event: { ...event, recipients: event.recipients.map((r) => ({ ...r, followed: r.followed && allows.get(recipientKey(recipientTypeOf(r), r.contactId)) !== false })) },
  };
}
