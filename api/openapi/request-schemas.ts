/**
 * JSON Schemas of the request bodies, built from the same limits and enumerations the parsers
 * use. They are enforced at runtime (request-validation.ts, before the handler's parser) and
 * published in /openapi.json; test/api/openapi/request-schemas.unit.spec.ts also runs a set of
 * bodies through schema and parser and requires the same verdict, so the two lines agree. Event bodies come from the Avro schemas themselves (schemas/json-schema.ts).
 */
import { INGEST_LIMITS } from '../../producers/ingest/ingest-batch.js';
import { SEND_LIMITS } from '../../producers/email/send-request.js';
import { anyEventJsonSchema, type JsonSchema } from '../../schemas/json-schema.js';
import { RECIPIENT_TYPES } from '../../schemas/events.js';
import { ID_PATTERN } from '../../schemas/ids.js';

const id: JsonSchema = { type: 'string', minLength: 1, maxLength: SEND_LIMITS.maxIdChars };
/** an id that may name a person (schemas/ids.ts) */
const personId: JsonSchema = { ...id, pattern: ID_PATTERN };
const url: JsonSchema = { type: 'string', format: 'uri', pattern: '^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]+', maxLength: SEND_LIMITS.maxUrlChars };
const time: JsonSchema = {
  oneOf: [
    { type: 'string', format: 'date-time' },
    { type: 'integer', description: 'epoch milliseconds' },
    { type: 'null' },
  ],
};
const recipientType: JsonSchema = { type: 'string', enum: [...RECIPIENT_TYPES] };

export const sendEmailBody: JsonSchema = {
  type: 'object',
  required: ['emailId', 'senderId', 'recipients', 'follow'],
  properties: {
    emailId: id,
    senderId: personId,
    templateId: { type: ['string', 'null'], maxLength: SEND_LIMITS.maxIdChars, pattern: ID_PATTERN },
    subject: { type: ['string', 'null'], maxLength: SEND_LIMITS.maxSubjectChars },
    sentAt: { ...time, description: `defaults to now; at most MAX_CLOCK_SKEW_SECONDS ahead of the server clock` },
    follow: { type: 'boolean' },
    recipients: {
      type: 'array',
      minItems: 1,
      maxItems: SEND_LIMITS.maxRecipients,
      description: 'a (type, contactId) pair may appear once',
      items: {
        type: 'object',
        required: ['contactId'],
        properties: {
          contactId: personId,
          type: { ...recipientType, default: 'contact' },
          timeZone: { type: ['string', 'null'], description: 'IANA time zone, e.g. Europe/Paris' },
        },
      },
    },
    links: { type: 'array', maxItems: SEND_LIMITS.maxLinks, items: { type: 'object', required: ['url'], properties: { url } } },
    attachments: {
      type: 'array',
      maxItems: SEND_LIMITS.maxAttachments,
      items: { type: 'object', required: ['name', 'url'], properties: { name: { type: 'string', minLength: 1, maxLength: SEND_LIMITS.maxNameChars }, url } },
    },
  },
};

export const engagementBody: JsonSchema = { type: 'object', required: ['enabled'], properties: { enabled: { type: 'boolean' } } };

export const followEmailBody: JsonSchema = {
  type: 'object',
  required: ['allow'],
  properties: { allow: { type: 'boolean' }, type: { ...recipientType, description: 'on /contacts/… picks the namespace; elsewhere must equal the path’s type' } },
};

export const resolveBody: JsonSchema = {
  type: 'object',
  required: ['partition', 'offset'],
  properties: { partition: { type: 'integer', minimum: 0 }, offset: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } },
};

export const ingestBody: JsonSchema = { type: 'array', minItems: 1, maxItems: INGEST_LIMITS.maxEvents, items: anyEventJsonSchema() };

// no minLength/required: an empty or missing key is answered by the sign-in page itself (401, "Enter an API key")
export const signInBody: JsonSchema = { type: 'object', properties: { key: { type: 'string', maxLength: 1000, description: 'an API key or the admin key' } } };
