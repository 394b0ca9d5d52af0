/**
 * The privacy gate of DESIGN §2, decided at the event's own occurredAt. Pure over the history.
 * Order of reasons: a purge wins over everything (nothing of a purged past comes back), then
 * an unreadable control record of the org (fail closed), then the org switch, then the
 * recipient's preference (in the recipient's own namespace: contact, lead or account).
 */

import { recipientTypeOf, type EmailEvent } from '../../schemas/events.js';
import type { ControlHistory } from './control-history.js';

export type GateReason = 'org_disabled' | 'contact_opted_out' | 'org_purged' | 'control_unreadable';
export type GateDecision = { collect: true } | { collect: false; reason: GateReason };

export const GATE_REASONS: readonly GateReason[] = ['org_disabled', 'contact_opted_out', 'org_purged', 'control_unreadable'];

const COLLECT: GateDecision = { collect: true };

export function gate(event: EmailEvent, history: ControlHistory): GateDecision {
  const at = event.occurredAt;
  const purgedAt = history.purgedAt(event.orgId);
  if (purgedAt !== null && at <= purgedAt) return { collect: false, reason: 'org_purged' };
  // Fail closed: an unreadable control record of the org may have been a disable or an opt-out.
  if (history.blockedAt(event.orgId, at)) return { collect: false, reason: 'control_unreadable' };
  if (!history.orgEnabledAt(event.orgId, at)) return { collect: false, reason: 'org_disabled' };
  // EmailSent keeps its per-recipient `followed` flags, decided by the API when it was sent.
  if (event.type === 'EmailSent') return COLLECT;
  if (!history.contactAllowsAt(event.orgId, event.contactId, at, recipientTypeOf(event))) return { collect: false, reason: 'contact_opted_out' };
  return COLLECT;
}
