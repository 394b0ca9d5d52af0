/**
 * JSON Schemas of the API's answers, published in /openapi.json. The read models are closed
 * (`additionalProperties: false`) and test/api/dashboard/dashboard.int.spec.ts checks real answers,
 * produced through the pipeline, against them: a field added to a read without its description
 * fails there.
 */
import { ROLLUP_FIELDS } from '../../projections/keys.js';
import { TOP_SCAN_LIMIT } from '../../projections/queries/org-top.js';
import { RECIPIENT_TYPES } from '../../schemas/events.js';
import type { JsonSchema } from '../../schemas/json-schema.js';

const int: JsonSchema = { type: 'integer', minimum: 0 };
const share: JsonSchema = { type: 'number', minimum: 0, maximum: 1 };
const str: JsonSchema = { type: 'string' };
const nullableStr: JsonSchema = { type: ['string', 'null'] };
const time: JsonSchema = { type: ['string', 'null'], format: 'date-time' };
const date: JsonSchema = { type: 'string', format: 'date' };

function closed(properties: Record<string, JsonSchema>, optional: readonly string[] = []): JsonSchema {
  return { type: 'object', additionalProperties: false, properties, required: Object.keys(properties).filter((k) => !optional.includes(k)) };
}

const rates = { openRate: share, clickRate: share, clickToOpenRate: share, replyRate: share };
const rollupCounters = Object.fromEntries([...ROLLUP_FIELDS, 'uniqueReplies'].map((f) => [f, int]));

export const errorResponse: JsonSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string', description: 'machine-readable code' },
    message: str,
    details: { type: 'array', items: { type: 'object', properties: { path: str, message: str } } },
  },
};

export const emailKpisResponse = closed({
  orgId: str,
  emailId: str,
  senderId: nullableStr,
  templateId: nullableStr,
  subject: nullableStr,
  sentAt: time,
  recipients: int,
  followedRecipients: int,
  opens: int,
  uniqueOpens: int,
  firstOpenedAt: time,
  lastOpenedAt: time,
  clicks: int,
  uniqueClicks: int,
  links: { type: 'array', items: closed({ linkId: str, url: nullableStr, clicks: int, uniqueClicks: int }) },
  attachmentViews: int,
  replies: int,
  uniqueReplies: int,
  machineOpens: int,
  machineClicks: int,
  ...rates,
});

export const recipientKpisResponse = closed({
  orgId: str,
  contactId: str,
  recipientType: { type: 'string', enum: [...RECIPIENT_TYPES] },
  days: { type: 'integer', minimum: 1 },
  from: date,
  to: date,
  timeZone: nullableStr,
  emailsReceived: int,
  emailsOpened: int,
  emailsClicked: int,
  emailsReplied: int,
  openRate: share,
  clickRate: share,
  replyRate: share,
  lastOpenedAt: time,
  bestTimeToEmail: {
    description: 'the hour-of-week slots with the most opens in the recipient’s time zone; null until there are enough opens',
    anyOf: [{ type: 'array', items: closed({ dayOfWeek: str, hour: { type: 'integer', minimum: 0, maximum: 23 }, opens: int }) }, { type: 'null' }],
  },
});

export const rollupKpisResponse = closed({
  orgId: str,
  scope: { type: 'object', required: ['kind'], properties: { kind: { type: 'string', enum: ['org', 'sender', 'template'] }, senderId: str, templateId: str } },
  from: date,
  to: date,
  ...rollupCounters,
  ...rates,
  daily: { type: 'array', items: closed({ date, ...rollupCounters }) },
});

const topGroup = closed({ id: str, emails: int, followedRecipients: int, opens: int, uniqueOpens: int, clicks: int, uniqueClicks: int, uniqueReplies: int, ...rates });
export const topResponse = closed({
  orgId: str,
  from: date,
  to: date,
  emails: {
    type: 'array',
    items: closed({
      emailId: str,
      subject: nullableStr,
      senderId: nullableStr,
      templateId: nullableStr,
      sentAt: time,
      followedRecipients: int,
      uniqueOpens: int,
      uniqueClicks: int,
      uniqueReplies: int,
      openRate: share,
      clickRate: share,
      replyRate: share,
    }),
  },
  senders: { type: 'array', items: topGroup },
  templates: { type: 'array', items: topGroup },
  truncated: { type: 'boolean', description: `true when the org's key index has more than ${TOP_SCAN_LIMIT} members: the rankings then cover only the members examined` },
});

export const heatmapResponse = closed({
  orgId: str,
  contactId: str,
  recipientType: { type: 'string', enum: [...RECIPIENT_TYPES] },
  timeZone: nullableStr,
  opens: { type: 'array', minItems: 7, maxItems: 7, items: { type: 'array', minItems: 24, maxItems: 24, items: int }, description: 'opens[day][hour], Monday first' },
  totalOpens: int,
});

const tracked = { type: 'object', required: ['url', 'trackedUrl'], properties: { url: str, trackedUrl: str } };
export const sendEmailResponse: JsonSchema = {
  type: 'object',
  required: ['emailId', 'followed', 'recipients'],
  properties: {
    emailId: str,
    followed: { type: 'boolean' },
    recipients: {
      type: 'array',
      items: {
        type: 'object',
        required: ['contactId', 'type', 'followed', 'links', 'attachments'],
        properties: {
          contactId: str,
          type: { type: 'string', enum: [...RECIPIENT_TYPES] },
          followed: { type: 'boolean' },
          openPixelUrl: { type: 'string', description: 'only for a followed recipient' },
          links: { type: 'array', items: tracked },
          attachments: { type: 'array', items: { ...tracked, required: ['name', 'url', 'trackedUrl'], properties: { ...tracked.properties, name: str } } },
        },
      },
    },
  },
};

export const ingestResponse: JsonSchema = {
  type: 'object',
  required: ['accepted', 'rejected', 'results'],
  properties: {
    accepted: int,
    rejected: int,
    results: {
      type: 'array',
      items: {
        type: 'object',
        required: ['index', 'status'],
        properties: {
          index: int,
          status: { type: 'string', enum: ['accepted', 'rejected'] },
          eventId: str,
          error: { type: 'string', enum: ['validation_failed', 'forbidden', 'engagement_disabled', 'subscription_ended'] },
          errors: { type: 'array', items: { type: 'object', properties: { path: str, message: str } } },
        },
      },
    },
  },
};

export const orgStateResponse: JsonSchema = {
  type: 'object',
  required: ['orgId', 'enabled'],
  properties: {
    orgId: str,
    enabled: { type: 'boolean' },
    changedAt: { type: 'integer', description: 'epoch ms of the switch' },
    subscriptionEndedAt: { type: ['integer', 'null'] },
    renewedAt: { type: ['integer', 'null'] },
    purgedAt: { type: ['integer', 'null'] },
    pendingPurgeSince: { type: ['integer', 'null'] },
  },
};
