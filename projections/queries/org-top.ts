/**
 * The organisation's top emails, senders and templates over a date range (the dashboard's
 * ranking). There is no ranking index (a projector-maintained one is the follow-up): the org's
 * key index (`orgkeys`, kept for retention) is walked instead, so every call is bounded:
 *   - at most TOP_SCAN_LIMIT index members are examined; `truncated` says the walk stopped there
 *     (the ranking then covers only the members seen);
 *   - emails are filtered by their sentAt BEFORE ranking, from a narrow HMGET, and only the
 *     `limit` winners are read whole;
 *   - every pipeline carries at most READ_CHUNK commands, so a wide range × many senders costs
 *     more round trips, never one giant reply;
 *   - an answer is reused for TOP_CACHE_MS per (org, version, range, limit), and concurrent
 *     identical calls share one walk. The enablement check still runs on every call.
 */
import type { Redis } from 'ioredis';
import { EngagementError } from '../../core/errors.js';
import { parseWholeNumber } from './query-params.js';
import type { ControlFallback } from '../control/control-store.js';
import { ROLLUP_FIELDS, type Keys, type RollupField, type VersionKeys } from '../keys.js';
import { readHashes, readLive } from './context.js';
import { bucketOf } from './days.js';
import { emailKpisFromHash, type EmailKpis } from './email-kpis.js';
import { engagementRates, toInt, type EngagementRates } from './rates.js';
import { resolveRange } from './rollup-kpis.js';

/** Index members (all of the org's keys: emails, contacts, days…) examined per call. */
export const TOP_SCAN_LIMIT = 50_000;
/** Commands per pipeline. */
export const READ_CHUNK = 500;
/** How long an answer is reused for the same (org, version, range, limit). */
export const TOP_CACHE_MS = 5_000;
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
  /** true when the org's key index has more than TOP_SCAN_LIMIT members and the ranking saw only some */
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
  return { emails, senders, templates };
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
  return parseWholeNumber('limit', raw, TOP_LIMIT.default, TOP_LIMIT.max);
}

/** Pure: the emails sent within [first, last) ranked best first (unique opens, then clicks, then id). */
export function rankEmailCandidates(
  candidates: ReadonlyArray<{ key: string; sentAt: string | null | undefined; uniqueOpens: string | null | undefined; uniqueClicks: string | null | undefined }>,
  first: number,
  last: number,
  limit: number,
): string[] {
  return candidates
    .map((c) => ({ key: c.key, sentAt: toInt(c.sentAt), uniqueOpens: toInt(c.uniqueOpens), uniqueClicks: toInt(c.uniqueClicks), has: !!c.sentAt }))
    .filter((c) => c.has && c.sentAt >= first && c.sentAt < last)
    .sort((a, b) => b.uniqueOpens - a.uniqueOpens || b.uniqueClicks - a.uniqueClicks || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, limit)
    .map((c) => c.key);
}

/** Walks the set with SSCAN until it ends or `cap` distinct members were seen. */
export async function scanBounded(redis: Redis, set: string, cap: number): Promise<{ members: string[]; truncated: boolean }> {
  const seen = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await redis.sscan(set, cursor, 'COUNT', 1000);
    for (const member of batch) {
      if (seen.size >= cap) return { members: [...seen], truncated: true };
      seen.add(member);
    }
    cursor = next;
  } while (cursor !== '0');
  return { members: [...seen], truncated: false };
}

async function hmgetChunked(redis: Redis, keys: readonly string[], fields: readonly string[]): Promise<Array<Array<string | null>>> {
  const out: Array<Array<string | null>> = [];
  for (let at = 0; at < keys.length; at += READ_CHUNK) {
    const pipeline = redis.pipeline();
    for (const key of keys.slice(at, at + READ_CHUNK)) pipeline.hmget(key, ...fields);
    for (const [error, value] of (await pipeline.exec()) ?? []) {
      if (error) throw new EngagementError('redis_unavailable', error.message, { cause: error, retriable: true });
      out.push((value as Array<string | null>) ?? []);
    }
  }
  return out;
}

async function readHashesChunked(redis: Redis, keys: readonly string[]): Promise<Array<Record<string, string>>> {
  const out: Array<Record<string, string>> = [];
  for (let at = 0; at < keys.length; at += READ_CHUNK) out.push(...(await readHashes(redis, keys.slice(at, at + READ_CHUNK))));
  return out;
}

/** Answers reused for a few seconds, and one walk shared by concurrent identical calls. */
export class OrgTopCache {
  private readonly entries = new Map<string, { until: number; answer: Promise<OrgTop> }>();

  constructor(private readonly ttlMs = TOP_CACHE_MS, private readonly clock: () => number = Date.now) {}

  get(key: string, compute: () => Promise<OrgTop>): Promise<OrgTop> {
    const t = this.clock();
    const hit = this.entries.get(key);
    if (hit && hit.until > t) return hit.answer;
    for (const [k, e] of this.entries) if (e.until <= t) this.entries.delete(k);
    const answer = compute();
    this.entries.set(key, { until: t + this.ttlMs, answer });
    answer.catch(() => this.entries.delete(key));
    return answer;
  }
}

export async function queryOrgTop(
  redis: Redis,
  keys: Keys,
  orgId: string,
  range: { from?: string; to?: string },
  limit: number,
  now: number,
  fallback?: ControlFallback,
  cache?: OrgTopCache,
): Promise<OrgTop> {
  const dates = resolveRange(range, now);
  // every call checks enablement: a disabled org answers engagement_disabled even with a cached answer
  return readLive(redis, keys, orgId, fallback, (v) => {
    const compute = () => readOrgTop(redis, v, orgId, dates, limit);
    if (!cache) return compute();
    const version = v.orgIndex(orgId);
    return cache.get([version, dates[0], dates[dates.length - 1], limit].join('\u0000'), compute);
  });
}

async function readOrgTop(redis: Redis, v: VersionKeys, orgId: string, dates: readonly string[], limit: number): Promise<OrgTop> {
  const scan = await scanBounded(redis, v.orgIndex(orgId), TOP_SCAN_LIMIT);
  const found = classifyIndex(v, orgId, scan.members, new Set(dates.map(bucketOf)));
  const first = Date.parse(`${dates[0]}T00:00:00Z`);
  const last = Date.parse(`${dates[dates.length - 1]}T00:00:00Z`) + 86_400_000;
  // the range first (a narrow read of every email seen), then the ranking, then whole hashes of the winners only
  const narrow = await hmgetChunked(redis, found.emails, ['sentAt', 'uniqueOpens', 'uniqueClicks']);
  const winners = rankEmailCandidates(
    found.emails.map((key, i) => ({ key, sentAt: narrow[i]?.[0], uniqueOpens: narrow[i]?.[1], uniqueClicks: narrow[i]?.[2] })),
    first,
    last,
    limit,
  );
  const emailPrefix = v.email(orgId, '');
  const winnerHashes = await readHashes(redis, winners);
  const emails = winners
    .map((key, i) => emailKpisFromHash(orgId, unescapeId(key.slice(emailPrefix.length)), winnerHashes[i]!))
    .map(({ emailId, subject, senderId, templateId, sentAt, followedRecipients, uniqueOpens, uniqueClicks, uniqueReplies, openRate, clickRate, replyRate }) => ({
      emailId, subject, senderId, templateId, sentAt, followedRecipients, uniqueOpens, uniqueClicks, uniqueReplies, openRate, clickRate, replyRate,
    }));
  const dayHashes = await readHashesChunked(redis, [...found.senders.map((s) => s.key), ...found.templates.map((t) => t.key)]);
  const senders = rankGroups(found.senders.map((s, i) => ({ id: s.id, hash: dayHashes[i]! })), limit);
  const templates = rankGroups(found.templates.map((t, i) => ({ id: t.id, hash: dayHashes[found.senders.length + i]! })), limit);
  return { orgId, from: dates[0]!, to: dates[dates.length - 1]!, emails, senders, templates, truncated: scan.truncated };
}
