/**
 * The KPI projection as a pure function: gated, de-duplicated events of one batch -> one Delta.
 * "First time" facts (unique opens, unique clicks, received, replied) are flags the projector
 * decides against what the email's flags hash holds (projections/projector/delta.ts), so a
 * re-delivered event counts once even after the seen window expired.
 *
 * Every projection key expires at the horizon (HISTORY_DAYS), reckoned from event time, never
 * the wall clock, so the live run and a replay give the same expiries:
 *   daily keys (org/sender/template rollups, contact-day)   HISTORY_DAYS after their day starts
 *   email hash and its flags                                HISTORY_DAYS after the send (the newest
 *                                                           event when the send is unknown, or when
 *                                                           it came after the send's horizon)
 *   contact hash (time zone), org key index                 HISTORY_DAYS after their newest event
 *   contact opens of a month (best time, last open)         HISTORY_DAYS after the newest day they count
 * The script only ever moves an expiry later (apply-batch.lua, section x). Seen sets keep their
 * own de-duplication window (SEEN_TTL_SECONDS).
 */

import { type RollupField, type VersionKeys } from '../../projections/keys.js';
import { hourOfWeekIn } from '../../projections/local-hour.js';
import { BatchKeys } from './batch-keys.js';
import { recipientTypeOf, type EmailEvent, type EmailSent, type InteractionEvent, type LinkClicked } from '../../schemas/events.js';
import { addBurstClick, addExpireAt, addFixedExpireAt, addFlag, addIncr, addMax, addMin, addSeen, addSet, emptyDelta, type Delta, type Incr } from '../../projections/projector/delta.js';
import { emailMetaKey, ZONES_FIELD, type EmailMeta, type EmailMetaLookup } from './email-meta.js';
import { zonesOf } from './recipient-zones.js';
import { horizonOf } from './horizon-runs.js';

export interface FoldOptions {
  machineClickSeconds: number;
  /** HISTORY_DAYS */
  historyDays: number;
}

const DAY_SECONDS = 86_400;
/** the reason API instances before the projector's burst rule wrote on the later clicks of a burst */
const MULTI_LINK_BURST = 'multi_link_burst';
/** The email's first-time flag for the send itself (a field of the flags hash; recipient flags all hold a ':'). */
export const SENT_FLAG = 'sent';

/**
 * `local` (empty; optional): receives the meta of every email this batch sends for the first
 * time, so a caller that keeps the metas (a replay's fold in memory) takes them from here instead
 * of deriving them from the events again.
 */
export function fold(events: readonly EmailEvent[], emailMeta: EmailMetaLookup, keys: VersionKeys, opts: FoldOptions, local = new Map<string, EmailMeta>()): Delta {
  const delta = emptyDelta();
  const horizon = opts.historyDays * DAY_SECONDS;
  const k = new BatchKeys(keys, delta, horizon);
  // EmailSent folded earlier in this batch is known to the interactions after it.
  const metaOf = (orgId: string, emailId: string): EmailMeta | undefined => {
    const key = emailMetaKey(orgId, emailId);
    return local.get(key) ?? emailMeta.get(key);
  };
  const rollups = (orgId: string, day: string, meta: Pick<EmailMeta, 'senderId' | 'templateId'> | undefined): string[] => {
    const list = [k.orgDay(orgId, day)];
    if (meta) {
      list.push(k.senderDay(orgId, meta.senderId, day));
      if (meta.templateId !== null) list.push(k.templateDay(orgId, meta.templateId, day));
    }
    return list;
  };
  const contactDay = k.contactDay.bind(k);
  const rollupIncrs = (keyList: readonly string[], field: RollupField): Incr[] => keyList.map((key) => [key, field, 1] as const);
  const seenKeys = new Map<string, string>();

  for (const event of events) {
    const day = k.day(event.occurredAt);
    let seenKey = seenKeys.get(day);
    if (seenKey === undefined) seenKeys.set(day, (seenKey = keys.seen(day)));
    addSeen(delta, seenKey, event.eventId);
    const expiry = Math.floor(event.occurredAt / 1000) + horizon;
    addExpireAt(delta, k.orgIndex(event.orgId), expiry);
    if (event.type === 'EmailSent') {
      foldSent(event, expiry);
      continue;
    }
    const sent = metaOf(event.orgId, event.emailId);
    // An interaction after its email's horizon (send + HISTORY_DAYS) met, in the live run, an email
    // whose hashes had expired and whose send the projector no longer knew: it is folded as one of
    // an unknown email here too (no sender or template rollups, its hashes kept from this event),
    // whatever a meta cache or a replay still knows, so live and replay fold it alike.
    const meta = sent && event.occurredAt >= horizonOf(sent.sentAt, opts.historyDays) ? undefined : sent;
    const { email, flags: flagsKey } = k.email(event.orgId, event.emailId);
    const ups = rollups(event.orgId, day, meta);
    // A recipient is (type, id): a lead and a contact with one id are two recipients.
    const type = recipientTypeOf(event);
    const c = k.recipient(type, event.contactId);
    const machine = machineKind(event, meta, opts);
    if (machine === 'ignored') continue;
    // An email's keys live HISTORY_DAYS from its send, as its EmailSent record does in the log,
    // so a replay can always rebuild what the live projection still holds.
    // (the newest event's while the send is unknown: that one moves)
    const expireEmail = meta ? addFixedExpireAt : addExpireAt;
    const emailExpiry = meta ? Math.floor(meta.sentAt / 1000) + horizon : expiry;
    expireEmail(delta, email, emailExpiry);
    expireEmail(delta, flagsKey, emailExpiry);
    if (machine !== null) {
      addIncr(delta, email, machine);
      for (const key of ups) addIncr(delta, key, machine);
      continue;
    }
    switch (event.type) {
      case 'EmailOpened': {
        addIncr(delta, email, 'opens');
        addMin(delta, email, 'firstOpenedAt', event.occurredAt);
        addMax(delta, email, 'lastOpenedAt', event.occurredAt);
        addFlag(delta, flagsKey, `o:${c}`, [
          [email, 'uniqueOpens', 1],
          ...rollupIncrs(ups, 'uniqueOpens'),
          [contactDay(event.orgId, event.contactId, day, type), 'opened', 1],
        ]);
        for (const key of ups) addIncr(delta, key, 'opens');
        // The recipient's opens of the month (kept as long as the month's days: the KPI horizon):
        // best time, the hour of week on the recipient's clock at this open in the zone the send
        // gave, and the last open. Not on the contact hash: opens kept it alive, and with it what
        // they wrote, past the horizon and the log.
        const opens = k.contactHours(event.orgId, event.contactId, day, type);
        addIncr(delta, opens, `hl:${hourOfWeekIn(event.occurredAt, meta?.zones?.[c] ?? null)}`);
        addMax(delta, opens, 'lastOpenedAt', event.occurredAt);
        break;
      }
      case 'LinkClicked': {
        // Counted by the burst rule, in log order (projections/projector/click-rule.ts): a person's
        // click, unless another link of this email is clicked by this recipient in the same second.
        const link = k.escape(event.linkId);
        addSet(delta, email, `url:${link}`, event.url);
        addBurstClick(delta, {
          flags: flagsKey,
          email,
          contactDay: contactDay(event.orgId, event.contactId, day, type),
          recipient: c,
          link,
          second: Math.floor(event.occurredAt / 1000),
          rollups: ups,
        });
        break;
      }
      case 'AttachmentViewed':
        addIncr(delta, email, 'attachmentViews');
        for (const key of ups) addIncr(delta, key, 'attachmentViews');
        break;
      case 'EmailReplied':
        addIncr(delta, email, 'replies');
        addFlag(delta, flagsKey, `r:${c}`, [
          [email, 'uniqueReplies', 1],
          ...rollupIncrs(ups, 'replies'), // the rollups' uniqueReplies
          [contactDay(event.orgId, event.contactId, day, type), 'replied', 1],
        ]);
        break;
      default: {
        const never: never = event;
        return never;
      }
    }
  }
  return delta;

  /**
   * One email is one email (DESIGN §4): a send whose email is already known — folded before this
   * batch (its meta is in Redis) or earlier in it — is a retry, whatever its sentAt. It changes
   * nothing: the first send's meta stays, and its increments are not applied again. The `sent`
   * flag gates the increments in the script as well, so they count once even if the meta were
   * missed.
   */
  function foldSent(event: EmailSent, expiry: number): void {
    if (metaOf(event.orgId, event.emailId) !== undefined) return;
    const day = k.day(event.occurredAt);
    const zones = zonesOf(event);
    local.set(emailMetaKey(event.orgId, event.emailId), { senderId: event.senderId, templateId: event.templateId, sentAt: event.occurredAt, zones });
    const { email, flags } = k.email(event.orgId, event.emailId);
    if (zones) addSet(delta, flags, ZONES_FIELD, JSON.stringify(zones));
    addFixedExpireAt(delta, email, expiry);
    addFixedExpireAt(delta, flags, expiry);
    addSet(delta, email, 'sentAt', String(event.occurredAt));
    addSet(delta, email, 'senderId', event.senderId);
    if (event.templateId !== null) addSet(delta, email, 'templateId', event.templateId);
    if (event.subject !== null) addSet(delta, email, 'subject', event.subject);
    const followed = event.follow ? event.recipients.filter((r) => r.followed) : [];
    const n = event.recipients.length;
    const ups = rollups(event.orgId, day, event);
    const once: Incr[] = [[email, 'recipients', n], ...rollupIncrs(ups, 'emails'), ...ups.map((key) => [key, 'recipients', n] as const)];
    if (followed.length > 0) {
      once.push([email, 'followedRecipients', followed.length], ...ups.map((key) => [key, 'followedRecipients', followed.length] as const));
    }
    addFlag(delta, flags, SENT_FLAG, once);
    for (const recipient of followed) {
      const type = recipientTypeOf(recipient);
      addFlag(delta, flags, `f:${k.recipient(type, recipient.contactId)}`, [[contactDay(event.orgId, recipient.contactId, day, type), 'received', 1]]);
      if (recipient.timeZone) {
        const contact = k.contact(event.orgId, recipient.contactId, type);
        addSet(delta, contact, 'tz', recipient.timeZone);
        addExpireAt(delta, contact, expiry);
      }
    }
  }
}

/**
 * DESIGN §5 machine interactions: flagged upstream (HEAD, proxy/scanner user agents, burst
 * clicks) or a click sooner after the send than a person could. Attachment views and replies
 * have no machine counter: a machine attachment fetch is simply not counted.
 */
export function machineKind(
  event: InteractionEvent,
  meta: EmailMeta | undefined,
  opts: FoldOptions,
): 'machineOpens' | 'machineClicks' | 'ignored' | null {
  if (event.type === 'EmailReplied') return null;
  // A burst is the projector's to judge (projections/projector/click-rule.ts), over every instance's clicks:
  // the edge's own per-process verdict, in records written before, is not taken as final.
  const flagged = event.machineReason !== null && event.machineReason !== '' && event.machineReason !== MULTI_LINK_BURST;
  if (event.type === 'EmailOpened') return flagged ? 'machineOpens' : null;
  if (event.type === 'AttachmentViewed') return flagged ? 'ignored' : null;
  return flagged || tooSoon(event, meta, opts) ? 'machineClicks' : null;
}

function tooSoon(event: LinkClicked, meta: EmailMeta | undefined, opts: FoldOptions): boolean {
  return meta !== undefined && event.occurredAt - meta.sentAt < opts.machineClickSeconds * 1000;
}
