import type { Redis } from 'ioredis';
import { EngagementError } from '../../core/errors.js';
import type { Keys } from '../keys.js';
import type { ControlFallback } from '../control/control-store.js';
import { runQuery } from './context.js';
import { engagementRates, toInt, toIso, type EngagementRates } from './rates.js';

export interface LinkKpis {
  linkId: string;
  url: string | null;
  clicks: number;
  uniqueClicks: number;
}

export interface EmailKpis extends EngagementRates {
  orgId: string;
  emailId: string;
  senderId: string | null;
  templateId: string | null;
  subject: string | null;
  sentAt: string | null;
  recipients: number;
  followedRecipients: number;
  opens: number;
  uniqueOpens: number;
  firstOpenedAt: string | null;
  lastOpenedAt: string | null;
  clicks: number;
  uniqueClicks: number;
  links: LinkKpis[];
  attachmentViews: number;
  replies: number;
  /** recipients who replied at least once (the reply rate's numerator) */
  uniqueReplies: number;
  machineOpens: number;
  machineClicks: number;
}

/** Links in natural order (link 2 before link 10); one collator, not one per comparison as `localeCompare` with options builds. */
const LINK_ORDER = new Intl.Collator('en', { numeric: true });

/** Pure: the email hash as the projector writes it → the KPI document. */
export function emailKpisFromHash(orgId: string, emailId: string, h: Record<string, string>): EmailKpis {
  const links = new Map<string, LinkKpis>();
  const link = (id: string): LinkKpis => {
    let entry = links.get(id);
    if (!entry) links.set(id, (entry = { linkId: id, url: null, clicks: 0, uniqueClicks: 0 }));
    return entry;
  };
  for (const [field, value] of Object.entries(h)) {
    if (field.startsWith('lc:')) link(field.slice(3)).clicks = toInt(value);
    else if (field.startsWith('lu:')) link(field.slice(3)).uniqueClicks = toInt(value);
    else if (field.startsWith('url:')) link(field.slice(4)).url = value;
  }
  const counters = {
    recipients: toInt(h.recipients),
    followedRecipients: toInt(h.followedRecipients),
    opens: toInt(h.opens),
    uniqueOpens: toInt(h.uniqueOpens),
    clicks: toInt(h.clicks),
    uniqueClicks: toInt(h.uniqueClicks),
    attachmentViews: toInt(h.attachmentViews),
    replies: toInt(h.replies),
    uniqueReplies: toInt(h.uniqueReplies),
    machineOpens: toInt(h.machineOpens),
    machineClicks: toInt(h.machineClicks),
  };
  // in the order of emailKpisResponse, the order the answer is serialised in
  return {
    orgId,
    emailId,
    senderId: h.senderId || null,
    templateId: h.templateId || null,
    subject: h.subject || null,
    sentAt: toIso(h.sentAt),
    recipients: counters.recipients,
    followedRecipients: counters.followedRecipients,
    opens: counters.opens,
    uniqueOpens: counters.uniqueOpens,
    firstOpenedAt: toIso(h.firstOpenedAt),
    lastOpenedAt: toIso(h.lastOpenedAt),
    clicks: counters.clicks,
    uniqueClicks: counters.uniqueClicks,
    links: [...links.values()].sort((a, b) => LINK_ORDER.compare(a.linkId, b.linkId)),
    attachmentViews: counters.attachmentViews,
    replies: counters.replies,
    uniqueReplies: counters.uniqueReplies,
    machineOpens: counters.machineOpens,
    machineClicks: counters.machineClicks,
    ...engagementRates(counters),
  };
}

export async function queryEmailKpis(redis: Redis, keys: Keys, orgId: string, emailId: string, fallback?: ControlFallback): Promise<EmailKpis> {
  const { data } = await runQuery<'hash'>(redis, keys, orgId, (v) => ({ mode: 'hash', keys: [v.email(orgId, emailId)] }), fallback);
  const hash = data.hashes[0];
  if (!hash || Object.keys(hash).length === 0) {
    throw new EngagementError('not_found', `no KPIs for email ${emailId} of organisation ${orgId}`);
  }
  return emailKpisFromHash(orgId, emailId, hash);
}
