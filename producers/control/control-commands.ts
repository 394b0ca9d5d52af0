/**
 * The admin switches of DESIGN.md §6 as pure functions: parse the body, build the control
 * event stamped with the time the system accepts it (§2: gating is decided by that time).
 */

import type { FieldError } from '../../schemas/validate.js';
import type { ContactFollowPreferenceChanged, ContactType, ControlEvent } from '../../schemas/events.js';
import type { ParseResult } from '../email/send-request.js';

export type ControlCommand =
  | { kind: 'engagement'; enabled: boolean }
  | { kind: 'follow-email'; contactId: string; contactType: ContactType; allow: boolean }
  | { kind: 'subscription-end' }
  | { kind: 'subscription-renew' };

export function parseEngagementBody(body: unknown): ParseResult<{ enabled: boolean }> {
  if (!isObject(body) || typeof body.enabled !== 'boolean') return invalid('enabled', 'is required: true or false');
  return { ok: true, value: { enabled: body.enabled } };
}

export function parseFollowEmailBody(body: unknown): ParseResult<{ allow: boolean; contactType: ContactType }> {
  const errors: FieldError[] = [];
  if (!isObject(body)) return invalid('', 'the body must be a JSON object {allow, type?}');
  if (typeof body.allow !== 'boolean') errors.push({ path: 'allow', message: 'is required: true or false' });
  const type = body.type ?? 'contact';
  if (type !== 'contact' && type !== 'lead') errors.push({ path: 'type', message: 'must be "contact" or "lead"' });
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { allow: body.allow as boolean, contactType: type as ContactType } };
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
        contactType: command.contactType,
        allow: command.allow,
      } satisfies ContactFollowPreferenceChanged;
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
