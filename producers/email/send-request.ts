/**
 * Parses the body of `POST /v1/orgs/:orgId/emails` (DESIGN.md §6) into a typed request, or
 * every problem found, each with its path. Pure.
 */

import type { FieldError } from '../../schemas/validate.js';
import { DEFAULT_MAX_CLOCK_SKEW_MS, receivedTimeProblem } from '../../schemas/occurred-at.js';
import { RECIPIENT_TYPES, recipientKey, type RecipientType } from '../../schemas/events.js';
import { idCharsProblem } from '../../schemas/ids.js';

export interface SendEmailRequest {
  emailId: string;
  senderId: string;
  templateId: string | null;
  subject: string | null;
  /** epoch ms */
  sentAt: number;
  /** a recipient is (recipientType, contactId): a lead and a contact with one id are two recipients */
  recipients: Array<{ contactId: string; recipientType: RecipientType; timeZone: string | null }>;
  links: Array<{ url: string }>;
  attachments: Array<{ name: string; url: string }>;
  follow: boolean;
}

export const SEND_LIMITS = {
  maxRecipients: 10_000,
  maxLinks: 500,
  maxAttachments: 100,
  maxIdChars: 200,
  maxSubjectChars: 2000,
  maxUrlChars: 4000,
  maxNameChars: 500,
} as const;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/** `nowMs` is the receiving clock: a sentAt more than `maxSkewMs` ahead of it is refused (same bounds as ingest). */
export function parseSendEmailRequest(body: unknown, nowMs: number, maxSkewMs: number = DEFAULT_MAX_CLOCK_SKEW_MS): ParseResult<SendEmailRequest> {
  const errors: FieldError[] = [];
  const fail = (path: string, message: string): void => void errors.push({ path, message });
  if (!isObject(body)) return { ok: false, errors: [{ path: '', message: 'the body must be a JSON object' }] };

  const id = (obj: Record<string, unknown>, name: string, path: string): string => {
    const value = obj[name];
    if (typeof value !== 'string' || value.length === 0 || value.length > SEND_LIMITS.maxIdChars) {
      fail(path, `is required: a string of 1-${SEND_LIMITS.maxIdChars} characters`);
      return '';
    }
    const problem = name === 'emailId' ? null : idCharsProblem(value);
    if (problem) fail(path, problem);
    return value;
  };
  const optionalString = (name: string, max: number): string | null => {
    const value = body[name];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string' || value.length > max) {
      fail(name, `must be a string of at most ${max} characters`);
      return null;
    }
    return value;
  };
  const url = (value: unknown, path: string): string => {
    if (typeof value !== 'string' || value.length > SEND_LIMITS.maxUrlChars || !isHttpUrl(value)) {
      fail(path, `must be an absolute http(s) URL of at most ${SEND_LIMITS.maxUrlChars} characters`);
      return '';
    }
    return value;
  };
  const list = (name: string, max: number, required: boolean): unknown[] => {
    const value = body[name];
    if (value === undefined && !required) return [];
    if (!Array.isArray(value)) {
      fail(name, 'must be an array');
      return [];
    }
    if (required && value.length === 0) fail(name, 'must not be empty');
    if (value.length > max) {
      fail(name, `must hold at most ${max} items`);
      return [];
    }
    return value;
  };

  const emailId = id(body, 'emailId', 'emailId');
  const senderId = id(body, 'senderId', 'senderId');
  const templateId = optionalString('templateId', SEND_LIMITS.maxIdChars);
  const templateProblem = templateId === null ? null : idCharsProblem(templateId);
  if (templateProblem) fail('templateId', templateProblem);
  const subject = optionalString('subject', SEND_LIMITS.maxSubjectChars);
  const sentAt = parseTime(body.sentAt, nowMs, maxSkewMs, fail);
  if (typeof body.follow !== 'boolean') fail('follow', 'is required: true or false');

  const seen = new Set<string>();
  const recipients = list('recipients', SEND_LIMITS.maxRecipients, true).map((item, i) => {
    const path = `recipients.${i}`;
    if (!isObject(item)) {
      fail(path, 'must be an object {contactId, type}');
      return { contactId: '', recipientType: 'contact' as const, timeZone: null };
    }
    const contactId = id(item, 'contactId', `${path}.contactId`);
    const type = item.type ?? 'contact';
    const valid = RECIPIENT_TYPES.includes(type as RecipientType);
    if (!valid) fail(`${path}.type`, 'must be "contact", "lead" or "account"');
    const key = recipientKey(valid ? (type as RecipientType) : 'contact', contactId);
    if (contactId !== '' && seen.has(key)) fail(`${path}.contactId`, `"${contactId}" is listed twice`);
    seen.add(key);
    const tz = item.timeZone ?? null;
    if (tz !== null && (typeof tz !== 'string' || !isTimeZone(tz))) fail(`${path}.timeZone`, 'must be an IANA time zone such as "Europe/Paris"');
    return { contactId, recipientType: valid ? (type as RecipientType) : 'contact', timeZone: typeof tz === 'string' ? tz : null };
  });
  const links = list('links', SEND_LIMITS.maxLinks, false).map((item, i) => {
    if (!isObject(item)) {
      fail(`links.${i}`, 'must be an object {url}');
      return { url: '' };
    }
    return { url: url(item.url, `links.${i}.url`) };
  });
  const attachments = list('attachments', SEND_LIMITS.maxAttachments, false).map((item, i) => {
    if (!isObject(item)) {
      fail(`attachments.${i}`, 'must be an object {name, url}');
      return { name: '', url: '' };
    }
    const name = item.name;
    if (typeof name !== 'string' || name.length === 0 || name.length > SEND_LIMITS.maxNameChars) {
      fail(`attachments.${i}.name`, `must be a string of 1-${SEND_LIMITS.maxNameChars} characters`);
    }
    return { name: typeof name === 'string' ? name : '', url: url(item.url, `attachments.${i}.url`) };
  });

  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: { emailId, senderId, templateId, subject, sentAt, recipients, links, attachments, follow: body.follow as boolean },
  };
}

function parseTime(value: unknown, nowMs: number, maxSkewMs: number, fail: (path: string, message: string) => void): number {
  if (value === undefined || value === null) return nowMs;
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) {
    fail('sentAt', 'must be an ISO-8601 time or epoch milliseconds');
    return nowMs;
  }
  const problem = receivedTimeProblem(ms, nowMs, maxSkewMs);
  if (problem) {
    fail('sentAt', problem);
    return nowMs;
  }
  return ms;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isHttpUrl(value: string): boolean {
  try {
    const { protocol, hostname } = new URL(value);
    return (protocol === 'http:' || protocol === 'https:') && hostname !== '';
  } catch {
    return false;
  }
}

const knownZones = new Set<string>();
function isTimeZone(tz: string): boolean {
  if (knownZones.has(tz)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    return false;
  }
  knownZones.add(tz);
  return true;
}
