/**
 * The admin switches of DESIGN.md §6 as pure functions: parse the body, build the control
 * event stamped with the time the system accepts it (§2: gating is decided by that time).
 */

import type { FieldError } from '../../schemas/validate.js';
import { legacyContactType, RECIPIENT_TYPES, type ContactFollowPreferenceChanged, type ControlEvent, type RecipientType } from '../../schemas/events.js';
import type { ParseResult } from '../email/send-request.js';

export type ControlCommand =
  | { kind: 'engagement'; enabled: boolean }
  | { kind: 'follow-email'; contactId: string; recipientType: RecipientType; allow: boolean }
  | { kind: 'resolve-unreadable'; partition: number; offset: number }
  | { kind: 'subscription-end' }
  | { kind: 'subscription-renew' };

export function parseEngagementBody(body: unknown): ParseResult<{ enabled: boolean }> {
  if (!isObject(body) || typeof body.enabled !== 'boolean') return invalid('enabled', 'is required: true or false');
  return { ok: true, value: { enabled: body.enabled } };
}

/**
 * `{allow, type?}`. `pathType` is the recipient type the route names (`/leads/…`, `/accounts/…`):
 * a body `type` must then agree with it. On `/contacts/…` (the original route) a body `type`
 * still picks the namespace, as it always did.
 */
export function parseFollowEmailBody(body: unknown, pathType?: RecipientType): ParseResult<{ allow: boolean; recipientType: RecipientType }> {
  const errors: FieldError[] = [];
  if (!isObject(body)) return invalid('', 'the body must be a JSON object {allow, type?}');
  if (typeof body.allow !== 'boolean') errors.push({ path: 'allow', message: 'is required: true or false' });
  const type = body.type ?? pathType ?? 'contact';
  if (!RECIPIENT_TYPES.includes(type as RecipientType)) errors.push({ path: 'type', message: 'must be "contact", "lead" or "account"' });
  else if (pathType !== undefined && pathType !== 'contact' && type !== pathType) errors.push({ path: 'type', message: `must be "${pathType}" on this route, or absent` });
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { allow: body.allow as boolean, recipientType: type as RecipientType } };
}

/** `{partition, offset}` of the unreadable control record an administrator resolves. */
export function parseResolveBody(body: unknown): ParseResult<{ partition: number; offset: number }> {
  const errors: FieldError[] = [];
  if (!isObject(body)) return invalid('', 'the body must be a JSON object {partition, offset}');
  if (!Number.isInteger(body.partition) || (body.partition as number) < 0) errors.push({ path: 'partition', message: 'is required: a partition number' });
  if (!Number.isSafeInteger(body.offset) || (body.offset as number) < 0) errors.push({ path: 'offset', message: 'is required: an offset' });
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { partition: body.partition as number, offset: body.offset as number } };
}

export function controlEvent(orgId: string, command: ControlCommand, eventId: string, acceptedAt: number): ControlEvent {
  const base = { eventId, orgId, occurredAt: acceptedAt };
  switch (command.kind) {
    case 'engagement':
      return { ...base, type: command.enabled ? 'OrgEngagementEnabled' : 'OrgEngagementDisabled' };
    case 'follow-email':
      return {
        ...base,
        type: 'ContactFollowPreferenceChanged',
        contactId: command.contactId,
        // older readers know only contact | lead: an account reads there as a contact
        contactType: legacyContactType(command.recipientType),
        recipientType: command.recipientType,
        allow: command.allow,
      } satisfies ContactFollowPreferenceChanged;
    case 'resolve-unreadable':
      return { ...base, type: 'ControlRecordResolved', partition: command.partition, offset: command.offset };
    case 'subscription-end':
      return { ...base, type: 'SubscriptionEnded' };
    case 'subscription-renew':
      return { ...base, type: 'SubscriptionRenewed' };
    default: {
      const never: never = command;
      return never;
    }
  }
}

function invalid<T>(path: string, message: string): ParseResult<T> {
  return { ok: false, errors: [{ path, message }] };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
