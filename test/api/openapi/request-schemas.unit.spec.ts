/**
 * The published request schemas agree with the parsers the routes run: the same verdict on a set
 * of valid and invalid bodies, so the description cannot drift from what is enforced.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { engagementBody, followEmailBody, ingestBody, resolveBody, sendEmailBody } from '../../../api/openapi/request-schemas.js';
import { parseEngagementBody, parseFollowEmailBody, parseResolveBody } from '../../../producers/control/control-commands.js';
import { parseSendEmailRequest, SEND_LIMITS } from '../../../producers/email/send-request.js';
import { parseIngestBody } from '../../../producers/ingest/ingest-batch.js';
import type { JsonSchema } from '../../../schemas/json-schema.js';

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
const now = Date.UTC(2026, 10, 25, 12);

function agree(schema: JsonSchema, parse: (body: unknown) => { ok: boolean }, bodies: ReadonlyArray<[string, unknown, boolean]>): void {
  const validate = ajv.compile(schema);
  for (const [name, body, valid] of bodies) {
    expect(validate(body), `schema on ${name}: ${JSON.stringify(validate.errors)}`).toBe(valid);
    expect(parse(body).ok, `parser on ${name}`).toBe(valid);
  }
}

const send = { emailId: 'e-1', senderId: 's-1', recipients: [{ contactId: 'c-1' }], follow: true };

describe('request schemas agree with the parsers', () => {
  it('POST /v1/orgs/:orgId/emails', () => {
    agree(sendEmailBody, (b) => parseSendEmailRequest(b, now), [
      ['minimal', send, true],
      [
        'full',
        {
          ...send,
          templateId: 't',
          subject: 'Hi',
          sentAt: '2026-11-25T11:00:00Z',
          recipients: [{ contactId: 'c-1', type: 'lead', timeZone: 'Europe/Paris' }],
          links: [{ url: 'https://example.com/a' }],
          attachments: [{ name: 'deck.pdf', url: 'http://files.example.com/deck.pdf' }],
        },
        true,
      ],
      ['epoch sentAt', { ...send, sentAt: now - 1000 }, true],
      ['null optionals', { ...send, templateId: null, subject: null, sentAt: null }, true],
      ['not an object', [send], false],
      ['no emailId', { ...send, emailId: undefined }, false],
      ['empty senderId', { ...send, senderId: '' }, false],
      ['long emailId', { ...send, emailId: 'x'.repeat(SEND_LIMITS.maxIdChars + 1) }, false],
      ['an email address as contactId', { ...send, recipients: [{ contactId: 'alice@example.com', type: 'contact' }] }, false],
      ['an email address as senderId', { ...send, senderId: 'bob@example.com' }, false],
      ['an email address as templateId', { ...send, templateId: 'tpl@example.com' }, false],
      ['a percent-encoded address as senderId', { ...send, senderId: 'bob%40example.com' }, false],
      ['a full-width at sign in a contactId', { ...send, recipients: [{ contactId: 'alice\uFF20example.com', type: 'contact' }] }, false],
      ['follow as a string', { ...send, follow: 'yes' }, false],
      ['no recipients', { ...send, recipients: [] }, false],
      ['recipient without id', { ...send, recipients: [{ type: 'contact' }] }, false],
      ['unknown recipient type', { ...send, recipients: [{ contactId: 'c', type: 'robot' }] }, false],
      ['a link that is not http', { ...send, links: [{ url: 'javascript:alert(1)' }] }, false],
      ['a link without url', { ...send, links: [{}] }, false],
      ['an attachment without name', { ...send, attachments: [{ url: 'https://x.example/a' }] }, false],
      ['a subject too long', { ...send, subject: 's'.repeat(SEND_LIMITS.maxSubjectChars + 1) }, false],
    ]);
  });

  it('PUT …/engagement, …/follow-email, POST …/control/resolve', () => {
    agree(engagementBody, parseEngagementBody, [
      ['on', { enabled: true }, true],
      ['off', { enabled: false }, true],
      ['missing', {}, false],
      ['a string', { enabled: 'true' }, false],
    ]);
    agree(followEmailBody, (b) => parseFollowEmailBody(b, 'contact'), [
      ['allow', { allow: true }, true],
      ['with a type', { allow: false, type: 'lead' }, true],
      ['missing', { type: 'lead' }, false],
      ['bad type', { allow: true, type: 'robot' }, false],
      ['not an object', 'allow', false],
    ]);
    agree(resolveBody, parseResolveBody, [
      ['ok', { partition: 0, offset: 41 }, true],
      ['negative', { partition: -1, offset: 1 }, false],
      ['fraction', { partition: 1, offset: 1.5 }, false],
      ['missing', { partition: 1 }, false],
    ]);
  });

  it('POST /v1/events: the batch bounds (each event is judged by its own schema, see json-schema.unit.spec.ts)', () => {
    const reply = { type: 'EmailReplied', orgId: 'o', emailId: 'e', contactId: 'c' };
    agree(ingestBody, parseIngestBody, [
      ['one event', [reply], true],
      ['empty', [], false],
      ['an object', reply, false],
    ]);
  });
});
