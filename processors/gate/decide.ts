/**
 * The privacy gate of DESIGN §2, decided at the event's own time: an interaction at its
 * occurredAt, an EmailSent at its acceptedAt (the follow decision; its occurredAt, the CRM's
 * sentAt, only places it on its day) or, for a writer that did not carry it, at its occurredAt.
 * Pure over the history. Order of reasons: a purge wins over everything (nothing of a purged past
 * comes back), then the subscription's end, then an unreadable control record of the org (fail
 * closed), then the org switch (after a purge the org is disabled until a later enable), then the
 * recipient's preference (in the recipient's own namespace: contact, lead or account).
 */

import { recipientTypeOf, type EmailEvent } from '../../schemas/events.js';
import type { ControlHistory } from './control-history.js';

export type GateReason = 'org_disabled' | 'contact_opted_out' | 'org_purged' | 'subscription_ended' | 'control_unreadable';
export type GateDecision = { collect: true } | { collect: false; reason: GateReason };

export const GATE_REASONS: readonly GateReason[] = ['org_disabled', 'contact_opted_out', 'org_purged', 'subscription_ended', 'control_unreadable'];

const COLLECT: GateDecision = { collect: true };

/** The instant an event is judged at. */
export function gateTime(event: EmailEvent): number {
  return event.type === 'EmailSent' ? (event.acceptedAt ?? event.occurredAt) : event.occurredAt;
}

export function gate(event: EmailEvent, history: ControlHistory): GateDecision {
  const at = gateTime(event);
  const purgedAt = history.purgedAt(event.orgId);
  if (purgedAt !== null && at <= purgedAt) return { collect: false, reason: 'org_purged' };
  if (!history.subscriptionActiveAt(event.orgId, at)) return { collect: false, reason: 'subscription_ended' };
  // Fail closed: an unreadable control record of the org may have been a disable or an opt-out.
  if (history.blockedAt(event.orgId, at)) return { collect: false, reason: 'control_unreadable' };
  if (!history.orgEnabledAt(event.orgId, at)) return { collect: false, reason: 'org_disabled' };
  // EmailSent keeps its per-recipient `followed` flags, decided by the API when it was accepted.
  if (event.type === 'EmailSent') return COLLECT;
  if (!history.contactAllowsAt(event.orgId, event.contactId, at, recipientTypeOf(event))) return { collect: false, reason: 'contact_opted_out' };
  return COLLECT;
}
