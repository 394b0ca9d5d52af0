/**
 * The organisation's top emails, senders and templates over a date range (the dashboard's
 * ranking). There is no ranking index: the org's key index (`orgkeys`, kept for retention) is
 * scanned once for the email, sender-day and template-day keys, then one pipeline reads them.
 * The cost grows with the org's keys, so it is a dashboard read, not a hot path: at most
 * MAX_TOP_EMAILS email hashes are read (the answer says when it stopped there).
 */
import type { Redis } from 'ioredis';
import { invalidParameter } from '../../core/errors.js';
import type { ControlFallback } from '../control/control-store.js';
import { ROLLUP_FIELDS, type Keys, type RollupField, type VersionKeys } from '../keys.js';
import { openQuery, readHashes } from './context.js';
import { bucketOf } from './days.js';
import { emailKpisFromHash, type EmailKpis } from './email-kpis.js';
import { engagementRates, toInt, type EngagementRates } from './rates.js';
import { resolveRange } from './rollup-kpis.js';

export const MAX_TOP_EMAILS = 5000;
export const TOP_LIMIT = { default: 10, max: 100 } as const;

export interface TopGroup extends EngagementRates {
  id: string;
  emails: number;
  followedRecipients: number;
  opens: number;
  uniqueOpens: number;
  clicks: number;
  uniqueClicks: number;
  uniqueReplies: number;
}

export type TopEmail = Pick<
  EmailKpis,
  'emailId' | 'subject' | 'senderId' | 'templateId' | 'sentAt' | 'followedRecipients' | 'uniqueOpens' | 'uniqueClicks' | 'uniqueReplies' | 'openRate' | 'clickRate' | 'replyRate'
>;

export interface OrgTop {
  orgId: string;
  from: string;
  to: string;
  emails: TopEmail[];
  senders: TopGroup[];
  templates: TopGroup[];
  /** true when the org had more emails than MAX_TOP_EMAILS and the ranking saw only some */
  truncated: boolean;
}

function unescapeId(escaped: string): string {
  return escaped.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Pure: which index members are this org's emails and sender/template days within `buckets`. */
export function classifyIndex(v: VersionKeys, orgId: string, members: readonly string[], buckets: ReadonlySet<string>) {
  const emailPrefix = v.email(orgId, '');
  const senderPrefix = v.senderDay(orgId, '', '').slice(0, -1);
  const templatePrefix = v.templateDay(orgId, '', '').slice(0, -1);
  const emails: string[] = [];
  const senders: Array<{ key: string; id: string }> = [];
  const templates: Array<{ key: string; id: string }> = [];
  const dayed = (rest: string): { id: string; day: string } | null => {
    const at = rest.lastIndexOf(':');
    return at < 0 ? null : { id: unescapeId(rest.slice(0, at)), day: rest.slice(at + 1) };
  };
  for (const key of members) {
    if (key.startsWith(emailPrefix)) emails.push(key);
    else if (key.startsWith(senderPrefix) || key.startsWith(templatePrefix)) {
      const isSender = key.startsWith(senderPrefix);
      const parsed = dayed(key.slice((isSender ? senderPrefix : templatePrefix).length));
      if (parsed && buckets.has(parsed.day)) (isSender ? senders : templates).push({ key, id: parsed.id });
    }
  }
  return { emails: emails.sort(), senders, templates };
}

/** Pure: day hashes grouped by id → totals with rates, best first. */
export function rankGroups(entries: ReadonlyArray<{ id: string; hash: Record<string, string> }>, limit: number): TopGroup[] {
  const sums = new Map<string, Record<RollupField, number>>();
  for (const { id, hash } of entries) {
    const sum = sums.get(id) ?? (Object.fromEntries(ROLLUP_FIELDS.map((f) => [f, 0])) as Record<RollupField, number>);
    for (const f of ROLLUP_FIELDS) sum[f] += toInt(hash[f]);
    sums.set(id, sum);
  }
  return [...sums]
    .map(([id, s]) => {
      const counters = { followedRecipients: s.followedRecipients, uniqueOpens: s.uniqueOpens, uniqueClicks: s.uniqueClicks, uniqueReplies: s.replies };
      return { id, emails: s.emails, opens: s.opens, clicks: s.clicks, ...counters, ...engagementRates(counters) };
    })
    .sort((a, b) => b.uniqueOpens - a.uniqueOpens || b.emails - a.emails || a.id.localeCompare(b.id))
    .slice(0, limit);
}

export function parseTopLimit(raw: unknown): number {
  if (raw === undefined || raw === '') return TOP_LIMIT.default;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > TOP_LIMIT.max) {
    throw invalidParameter('limit', `limit must be a whole number from 1 to ${TOP_LIMIT.max}, got "${String(raw)}"`);
  }
  return n;
}

export async function queryOrgTop(
  redis: Redis,
  keys: Keys,
  orgId: string,
  range: { from?: string; to?: string },
  limit: number,
  now: number,
  fallback?: ControlFallback,
): Promise<OrgTop> {
  const dates = resolveRange(range, now);
  const { keys: v } = await openQuery(redis, keys, orgId, fallback);
  const members: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.sscan(v.orgIndex(orgId), cursor, 'COUNT', 1000);
    members.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  const found = classifyIndex(v, orgId, members, new Set(dates.map(bucketOf)));
  const emailKeys = found.emails.slice(0, MAX_TOP_EMAILS);
  const hashes = await readHashes(redis, [...emailKeys, ...found.senders.map((s) => s.key), ...found.templates.map((t) => t.key)]);
  const emailPrefix = v.email(orgId, '');
  const first = Date.parse(`${dates[0]}T00:00:00Z`);
  const last = Date.parse(`${dates[dates.length - 1]}T00:00:00Z`) + 86_400_000;
  const emails = emailKeys
    .map((key, i) => emailKpisFromHash(orgId, unescapeId(key.slice(emailPrefix.length)), hashes[i]!))
    .filter((e) => e.sentAt !== null && Date.parse(e.sentAt) >= first && Date.parse(e.sentAt) < last)
    .sort((a, b) => b.uniqueOpens - a.uniqueOpens || b.uniqueClicks - a.uniqueClicks || a.emailId.localeCompare(b.emailId))
    .slice(0, limit)
    .map(({ emailId, subject, senderId, templateId, sentAt, followedRecipients, uniqueOpens, uniqueClicks, uniqueReplies, openRate, clickRate, replyRate }) => ({
      emailId, subject, senderId, templateId, sentAt, followedRecipients, uniqueOpens, uniqueClicks, uniqueReplies, openRate, clickRate, replyRate,
    }));
  const offset = emailKeys.length;
  const senders = rankGroups(found.senders.map((s, i) => ({ id: s.id, hash: hashes[offset + i]! })), limit);
  const templates = rankGroups(found.templates.map((t, i) => ({ id: t.id, hash: hashes[offset + found.senders.length + i]! })), limit);
  return { orgId, from: dates[0]!, to: dates[dates.length - 1]!, emails, senders, templates, truncated: found.emails.length > MAX_TOP_EMAILS };
}
