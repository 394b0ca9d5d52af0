/**
 * The JSON Schema of each event (what /openapi.json publishes for POST /v1/events) agrees with
 * validateEvent, the validator that really runs: every fixture passes both, and structural
 * mistakes are refused by both.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../../schemas/events.js';
import { anyEventJsonSchema, eventJsonSchema } from '../../schemas/json-schema.js';
import { validateEvent } from '../../schemas/validate.js';
import { fixture, plain } from '../support/fixtures.js';

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
const now = Date.UTC(2026, 10, 25, 12);

describe('eventJsonSchema', () => {
  it.each(EVENT_TYPES)('%s: the fixture passes the schema and the validator', (type) => {
    const event = plain(fixture(type));
    expect(ajv.validate(eventJsonSchema(type), event), JSON.stringify(ajv.errors)).toBe(true);
    expect(validateEvent(event, now).ok).toBe(true);
  });

  it.each(EVENT_TYPES)('%s: without eventId and with an ISO occurredAt both still accept it', (type) => {
    const { eventId: _id, ...event } = plain(fixture(type));
    const iso = { ...event, occurredAt: '2026-11-02T09:30:00Z' };
    expect(ajv.validate(eventJsonSchema(type), iso), JSON.stringify(ajv.errors)).toBe(true);
    expect(validateEvent(iso, now).ok).toBe(true);
  });

  it.each(EVENT_TYPES)('%s: a missing required field or a wrong type is refused by both', (type) => {
    const schema = eventJsonSchema(type);
    const event = plain(fixture(type));
    for (const field of (schema.required as string[]).filter((f) => f !== 'type')) {
      const { [field]: _dropped, ...without } = event;
      expect(ajv.validate(schema, without), `${type} without ${field}`).toBe(false);
      expect(validateEvent(without, now).ok, `${type} without ${field}`).toBe(false);
      const wrong = { ...event, [field]: { not: 'this' } };
      expect(ajv.validate(schema, wrong), `${type} with a bad ${field}`).toBe(false);
      expect(validateEvent(wrong, now).ok, `${type} with a bad ${field}`).toBe(false);
    }
  });

  it('a preference needs contactType or a recipientType, and both say so alike', () => {
    const schema = eventJsonSchema('ContactFollowPreferenceChanged');
    const { contactType: _c, recipientType: _r, ...neither } = plain(fixture('ContactFollowPreferenceChanged'));
    for (const [body, ok] of [
      [neither, false],
      [{ ...neither, recipientType: 'account' }, true],
      [{ ...neither, recipientType: null }, false],
      [{ ...neither, contactType: 'lead' }, true],
    ] as const) {
      expect(ajv.validate(schema, body), JSON.stringify(body)).toBe(ok);
      expect(validateEvent(body, now).ok, JSON.stringify(body)).toBe(ok);
    }
  });

  it('an unknown recipient type is refused by both', () => {
    const sent = plain(fixture('EmailSent'));
    const bad = { ...sent, recipients: [{ contactId: 'c', contactType: 'robot', followed: true }] };
    expect(ajv.validate(eventJsonSchema('EmailSent'), bad)).toBe(false);
    expect(validateEvent(bad, now).ok).toBe(false);
  });

  it('the union tells events apart by type', () => {
    const validate = ajv.compile(anyEventJsonSchema());
    expect(validate(plain(fixture('EmailReplied')))).toBe(true);
    expect(validate({ ...plain(fixture('EmailReplied')), type: 'EmailBounced' })).toBe(false);
  });
});
