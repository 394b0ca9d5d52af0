/**
 * Turns untrusted JSON (HTTP ingest, NDJSON files) into a typed event, or the list of what is
 * wrong with it, each with a field path. Pure.
 */

import { randomUUID } from 'node:crypto';
import type avro from 'avsc';
import { catalog } from './catalog.js';
import { EVENT_TYPES, legacyContactType, RECIPIENT_TYPES, type AnyEvent, type EventType, type RecipientType } from './events.js';
import type { FieldProblem } from '../core/errors.js';
import { DEFAULT_MAX_CLOCK_SKEW_MS, receivedTimeProblem } from './occurred-at.js';
import { idCharsProblem, PERSONAL_ID_FIELDS, protectiveControl } from './ids.js';

export type FieldError = FieldProblem;

export type ValidationResult = { ok: true; event: AnyEvent } | { ok: false; errors: FieldError[] };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ID_FIELDS = ['orgId', 'emailId', 'contactId', 'senderId', 'linkId', 'attachmentId'];

/** `now` is the receiving clock: an occurredAt more than `maxSkewMs` ahead of it is refused. */
export function validateEvent(input: unknown, now: number = Date.now(), maxSkewMs: number = DEFAULT_MAX_CLOCK_SKEW_MS): ValidationResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, errors: [{ path: '', message: 'an event must be a JSON object' }] };
  }
  const raw = input as Record<string, unknown>;
  const type = raw.type;
  if (typeof type !== 'string' || !EVENT_TYPES.includes(type as EventType)) {
    return { ok: false, errors: [{ path: 'type', message: `must be one of ${EVENT_TYPES.join(', ')}` }] };
  }
  const entry = catalog.current.get(type as EventType)!;
  const errors: FieldError[] = [];
  const candidate = withDefaults(withLegacyContactType(raw), entry.avroType, now, errors);
  if (errors.length > 0) return { ok: false, errors };

  entry.avroType.isValid(candidate, {
    errorHook: (path: string[], value: unknown) => {
      errors.push({ path: path.join('.'), message: `invalid value ${JSON.stringify(value) ?? 'undefined'}` });
    },
  });
  if (errors.length === 0) errors.push(...semanticErrors(type as EventType, candidate, now, maxSkewMs));
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, event: { ...candidate, type } as unknown as AnyEvent };
}

/**
 * A preference given by its `recipientType` alone (the current field) also fills `contactType`,
 * which the schema keeps for older readers, as the API's own preference route does.
 */
function withLegacyContactType(raw: Record<string, unknown>): Record<string, unknown> {
  if (raw.type !== 'ContactFollowPreferenceChanged' || raw.contactType !== undefined) return raw;
  const type = raw.recipientType;
  return typeof type === 'string' && RECIPIENT_TYPES.includes(type as RecipientType) ? { ...raw, contactType: legacyContactType(type as RecipientType) } : raw;
}

function withDefaults(raw: Record<string, unknown>, type: avro.Type, now: number, errors: FieldError[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = (type as unknown as { fields: Array<{ name: string; type: avro.Type; defaultValue(): unknown }> }).fields;
  for (const field of fields) {
    let value = raw[field.name];
    if (field.name === 'eventId' && value === undefined) value = randomUUID();
    if (field.name === 'occurredAt') value = toMillis(value, now, errors);
    // EmailSent's acceptedAt: absent stays null (the gate then judges the send at occurredAt).
    if (field.name === 'acceptedAt' && value !== undefined && value !== null) value = toMillis(value, now, errors, 'acceptedAt');
    if (value === undefined) value = field.defaultValue();
    if (Array.isArray(value) && field.type.typeName === 'array') {
      const items = (field.type as unknown as { itemsType: avro.Type }).itemsType;
      if (items.typeName === 'record') {
        value = value.map((item) =>
          typeof item === 'object' && item !== null && !Array.isArray(item)
            ? withDefaults(item as Record<string, unknown>, items, now, [])
            : item,
        );
      }
    }
    if (value !== undefined) out[field.name] = value;
  }
  return out;
}

function toMillis(value: unknown, now: number, errors: FieldError[], path = 'occurredAt'): unknown {
  if (value === undefined || value === null) return now;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const parsed = Date.parse(value);
    if (Number.isNaN(parsed)) {
      errors.push({ path, message: `"${value}" is not an ISO-8601 timestamp` });
      return value;
    }
    return parsed;
  }
  errors.push({ path, message: 'must be an ISO-8601 string or epoch milliseconds' });
  return value;
}

function semanticErrors(type: EventType, event: Record<string, unknown>, now: number, maxSkewMs: number): FieldError[] {
  const errors: FieldError[] = [];
  if (!UUID.test(String(event.eventId))) errors.push({ path: 'eventId', message: 'must be a UUID' });
  const timeProblem = receivedTimeProblem(event.occurredAt as number, now, maxSkewMs);
  if (timeProblem) errors.push({ path: 'occurredAt', message: timeProblem });
  const acceptedProblem = typeof event.acceptedAt === 'number' ? receivedTimeProblem(event.acceptedAt, now, maxSkewMs) : null;
  if (acceptedProblem) errors.push({ path: 'acceptedAt', message: acceptedProblem });
  const checkIds = (obj: Record<string, unknown>, prefix: string): void => {
    for (const name of ID_FIELDS) {
      const value = obj[name];
      if (typeof value === 'string' && (value.length === 0 || value.length > 200)) {
        errors.push({ path: `${prefix}${name}`, message: 'must be 1-200 characters' });
      }
    }
    // not for the protective control events (schemas/ids.ts)
    if (!protectiveControl(type, event.allow)) {
      for (const name of PERSONAL_ID_FIELDS) {
        const problem = typeof obj[name] === 'string' ? idCharsProblem(obj[name]) : null;
        if (problem) errors.push({ path: `${prefix}${name}`, message: problem });
      }
    }
  };
  checkIds(event, '');
  // Sealing is the pipeline's job (schemas/sealing.ts): a client sends its events in clear.
  if (event.encryption !== undefined && event.encryption !== null) errors.push({ path: 'encryption', message: 'is set by the pipeline; send the fields in clear' });
  if (typeof event.recipientType === 'string' && !RECIPIENT_TYPES.includes(event.recipientType as RecipientType)) {
    errors.push({ path: 'recipientType', message: `must be one of ${RECIPIENT_TYPES.join(', ')}` });
  }
  for (const list of ['recipients', 'links', 'attachments']) {
    const items = event[list];
    if (Array.isArray(items)) items.forEach((item, i) => checkIds(item as Record<string, unknown>, `${list}.${i}.`));
  }
  for (const [i, link] of ((event.links as Array<{ url: string }> | undefined) ?? []).entries()) {
    if (!/^https?:\/\//i.test(link.url)) errors.push({ path: `links.${i}.url`, message: 'must be an http(s) URL' });
  }
  return errors;
}
