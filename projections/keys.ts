/**
 * Every Redis key name is built here; nothing else concatenates a key.
 *
 * Layout (P = REDIS_PREFIX, V = projection version; the `{P:vV}` hash tag keeps one version's
 * keys in one cluster slot, which the atomic batch script needs):
 *
 *   P:ctl:orgs                              set    orgIds with a control state (a purged org with nothing after leaves)
 *   P:ctl:org:<org>                         hash   enabled 0|1, changedAt, subscriptionEndedAt, renewedAt, purgedAt
 *   P:ctl:contacts:<org>                    hash   contactId -> "<0|1>:<changedAt>" (0: does not allow, 1: allows)
 *   P:ctl:leads:<org>, P:ctl:accounts:<org> hash   the same for leads and accounts (each type its own namespace)
 *   P:ctl:unreadable                        hash   "<partition>:<offset>" -> JSON {orgId|null, at, reason}: unresolved
 *                                                  unreadable control records (fail closed; the control role writes it)
 *   P:suppress:<org>                        set    HMAC-SHA256(SUPPRESSION_SECRET, org, type, id) of every recipient
 *                                                  that said "do not allow" (DESIGN §2.2): outlives a purge, never in
 *                                                  the org index, removed when the recipient allows again
 *   P:proj:current                          string the projection version queries read (default 1)
 *   P:proj:versions                         set    every version that may hold keys (live, being built, being dropped)
 *   P:replay:lock                           string holder of the replay lock (SET NX PX)
 *   P:purges                                hash   orgId -> a purge in progress (JSON: eventId, purgedAt, step…);
 *                                                  the field goes when the purge is complete (retention/)
 *   P:purge:fence                           hash   sha1(orgId) -> purgedAt of its latest purge: apply-batch.lua refuses
 *                                                  a batch gated without that purge, and the control store evolves the
 *                                                  org from it (kept: no org id, no personal data)
 *   P:landers                               set    ids of the lander instances that may upload blobs
 *   P:lander:<instance>                     string the control positions that instance has passed (JSON), with a TTL
 *
 *   {P:vV}:offsets:<topic>                  hash   partition -> next offset to read (written with the batch)
 *   {P:vV}:seen:<YYYYMMDD>                  set    eventIds applied, by event day; expires after the dedup window
 *   {P:vV}:email:<org>:<email>              hash   meta (sentAt, senderId, templateId, subject; none when it is kept by
 *                                                  interactions after its send's horizon) and counters
 *                                                  (recipients, followedRecipients, opens, uniqueOpens, clicks, uniqueClicks,
 *                                                  machineOpens, machineClicks, attachmentViews, replies, uniqueReplies, firstOpenedAt,
 *                                                  lastOpenedAt, lc:<linkId>, lu:<linkId>, url:<linkId>)
 *   {P:vV}:emailr:<org>:<email>             hash   first-time flags: sent (the send itself), and per recipient
 *                                                  o:<c>, c:<c>, c:<link>:<c>, r:<c>, f:<c>; k:<c> the recipient's
 *                                                  latest click second (burst rule, projector/click-rule.ts);
 *                                                  z: JSON {<c>: IANA zone} of the recipients the send gave a zone
 *   {P:vV}:contact:<org>:<contact>          hash   tz (the latest send's zone for the recipient); lastOpenedAt, hl:<slot>,
 *                                                  h:<hourOfWeekUtc> only as written before contact hours (below), read
 *                                                  with them until a replay rewrites them
 *   {P:vV}:contacth:<org>:<contact>:<YYYYMM> hash  the recipient's opens of that month (UTC): hl:<slot> -> opens in each
 *                                                  local hour of week, on the recipient's clock at each open (best time
 *                                                  to email), and lastOpenedAt. Expires with the newest day it counts,
 *                                                  so both keep the horizon (on the contact hash, which opens kept
 *                                                  alive, they counted opens the log no longer holds). A read takes
 *                                                  the months whose every day is within the horizon (hourMonths)
 *   {P:vV}:contactd:<org>:<contact>:<day>   hash   received, opened, clicked, replied (emails, once each); expires
 *   {P:vV}:orgd:<org>:<day>                 hash   daily rollup (the fields of ROLLUP_FIELDS)
 *   {P:vV}:senderd:<org>:<sender>:<day>     hash   daily rollup per sender
 *   {P:vV}:templated:<org>:<tpl>:<day>      hash   daily rollup per template
 *   {P:vV}:orgm:<org>:<YYYYMM>              hash   the org's daily rollups of a month, packed for reads: field <DD> ->
 *                                                  the day's ROLLUP_FIELDS values joined by ',' (an empty value: 0),
 *                                                  rewritten from the day's hash by every write to it, in the same
 *                                                  script (projections/lua/pack-rollup.lua); a 30-day read is two
 *                                                  HMGETs instead of 30. A day's field may outlive its day hash by
 *                                                  up to a month (one expiry per key, the month's last day's): a
 *                                                  read treats days past the horizon as empty, as the day hash is
 *   {P:vV}:senderm:<org>:<sender>:<YYYYMM>  hash   the same per sender
 *   {P:vV}:templatem:<org>:<tpl>:<YYYYMM>   hash   the same per template
 *   {P:vV}:contactm:<org>:<contact>:<YYYYMM> hash  the contact's days of a month packed the same way (CONTACT_DAY_FIELDS
 *                                                  joined by ','): a contact's 30-day window is two HMGETs, not 30
 *   {P:vV}:packed                           string the level of month hashes every key of this version was written with
 *                                                  (PACKED): 1 the rollups, 2 the rollups and the contact days, 3 and
 *                                                  the contact hours (none on the contact hash). Set with
 *                                                  a new version (replay/versions.ts), or by the projector on a version 1
 *                                                  that holds nothing (projections/packed-rollups.ts). A read takes the
 *                                                  month hashes only at the level it needs; a version written before
 *                                                  them is read from its day hashes until a replay rebuilds it
 *   {P:vV}:orgkeys:<org>                    set    every key of that org in this version (retention deletes by it)
 *   {P:vV}:replay                           hash   a version built by `engagement replay`: status (building|verify|live),
 *                                                  from, org, startedAt, holder, switchedAt (replay/ resumes or drops by it)
 *
 * Every email, emailr, contact, contacth, contactd, orgd, senderd, templated, their month hashes and
 * orgkeys key expires at the HISTORY_DAYS horizon, reckoned from event time (processors/projector/fold.ts):
 * daily keys that long after their day, a month hash that long after its month's last day, a contact's
 * month of opens that long after the newest day it counts, an email's hashes that long after its send,
 * the others that long after their newest event.
 *
 * Ids are percent-escaped of ':' '{' '}' so a hostile id can't forge another key.
 *
 * The org id in a control key (`<org>` of ctl:org, ctl:contacts, ctl:leads, ctl:accounts and
 * suppress) is `controlOrgRef(org)`: the escaped id, or for an id holding an at sign (schemas/ids.ts)
 * `%#` and a digest of it. Such an id is refused wherever something is created under it, but the
 * protective writes (switch off, subscription end, opt-out) take it, and they write control state:
 * under its own name that was an email address as a Redis key (DESIGN §2.5). `%#` is never the
 * start of an escaped id (escapeId writes '%' only before two hex digits), so no id can name
 * another's digest. The control role rewrites the store from the control topic at every start,
 * and drops the keys such an id had under its name before (legacyControlKeys).
 *
 * A recipient in a projection key or a flag (`<contact>` above) is `recipientRef(type, id)`: the
 * escaped id for a contact (so keys written before recipient types stay valid), the escaped id
 * followed by `%lead` or `%account` for the other types. escapeId writes '%' only before two
 * upper-case hex digits, so no contact id can produce a lead's or an account's ref.
 */

import { hash } from 'node:crypto';
import { perUtcDay } from '../core/utc-day.js';
import { idCharsProblem } from '../schemas/ids.js';
import { RECIPIENT_TYPES, type RecipientType } from '../schemas/events.js';

export type ProjectionVersion = number;

export interface Keys {
  readonly prefix: string;
  // control state (not versioned: it is the current truth for the API)
  controlOrgs(): string;
  controlOrg(orgId: string): string;
  controlContacts(orgId: string): string;
  /** the preference hash of one recipient type (contacts: controlContacts) */
  controlRecipients(orgId: string, type: RecipientType): string;
  controlUnreadable(): string;
  /** outside the org's purgeable keys on purpose: "do not allow" outlives a purge */
  suppression(orgId: string): string;
  /**
   * present while the control store holds the whole control topic (the control role sets it). Its
   * name carries the store's key layout: a store written under another layout is not marked here,
   * so nobody trusts it before the control role has rewritten it (controlOrgRef)
   */
  controlSynced(): string;
  /** the synced mark of the layout before (org ids with an at sign under their own names), written by older versions */
  controlSyncedLayout1(): string;
  currentVersion(): string;
  projectionVersions(): string;
  replayLock(): string;
  /** set by a replay about to switch: the live projector applies nothing while it exists */
  projectionHold(): string;
  /** purges in progress, by orgId (retention resumes them) */
  purges(): string;
  /** sha1(orgId) -> purgedAt: the projector's fence against batches gated before a purge */
  purgeFence(): string;
  landers(): string;
  landerAck(instanceId: string): string;
  /** SCAN MATCH patterns covering every key under the prefix: control keys start with `P:`,
   *  projection keys with their cluster hash tag `{P:vN}` */
  patterns(): string[];
  // projection (versioned)
  version(v: ProjectionVersion): VersionKeys;
}

export interface VersionKeys {
  readonly v: ProjectionVersion;
  /** the common prefix of every key of this version, for SCAN MATCH `${base}*` */
  readonly base: string;
  offsets(topic: string): string;
  seen(day: string): string;
  email(orgId: string, emailId: string): string;
  emailRecipients(orgId: string, emailId: string): string;
  contact(orgId: string, contactId: string, type?: RecipientType): string;
  contactDay(orgId: string, contactId: string, day: string, type?: RecipientType): string;
  orgDay(orgId: string, day: string): string;
  senderDay(orgId: string, senderId: string, day: string): string;
  templateDay(orgId: string, templateId: string, day: string): string;
  /** the month hashes packing the daily rollups for reads (`month`: YYYYMM, see packedDayOf) */
  orgMonth(orgId: string, month: string): string;
  senderMonth(orgId: string, senderId: string, month: string): string;
  templateMonth(orgId: string, templateId: string, month: string): string;
  contactMonth(orgId: string, contactId: string, month: string, type?: RecipientType): string;
  /** a recipient's opens of a month (YYYYMM) by local hour of week */
  contactHours(orgId: string, contactId: string, month: string, type?: RecipientType): string;
  /** the level of month hashes the version was written with (PACKED) */
  packedRollups(): string;
  orgIndex(orgId: string): string;
  /** checkpoint of a replay building this version */
  replay(): string;
}

/** The counters of a contact-day hash (emails received/opened/clicked/replied, once each), as packed. */
export const CONTACT_DAY_FIELDS = ['received', 'opened', 'clicked', 'replied'] as const;

/**
 * Levels of `{P:vV}:packed`: which month hashes every key of a version was written with. A new or
 * empty version gets ALL; reads check the level they need (read-kpis.lua, mode 'packed').
 */
export const PACKED = { rollups: 1, contacts: 2, hours: 3, all: 3 } as const;

export const ROLLUP_FIELDS = [
  'emails',
  'recipients',
  'followedRecipients',
  'opens',
  'uniqueOpens',
  'clicks',
  'uniqueClicks',
  /** replying recipients (each once per email); the API calls it uniqueReplies, as on the email
   *  KPIs. The stored name stays: renaming it would zero the rollups already in Redis. */
  'replies',
  'attachmentViews',
  'machineOpens',
  'machineClicks',
] as const;
export type RollupField = (typeof ROLLUP_FIELDS)[number];

export { hourOfWeekUtc } from './local-hour.js';

/** YYYYMMDD of an epoch-ms time in UTC: the day bucket of every daily key. */
export const dayOf: (ms: number) => string = perUtcDay((ms) => new Date(ms).toISOString().slice(0, 10).replaceAll('-', ''));

/**
 * The latest day bucket (YYYYMMDD) whose daily keys have expired at `now`: a day's keys expire at
 * its start + HISTORY_DAYS. A month hash keeps such days' packed fields until its month's last
 * day expires: readers treat them as gone.
 */
export function lastExpiredDay(now: number, historyDays: number): string {
  return rememberByDay('expired', now, historyDays, () => dayOf(now - historyDays * 86_400_000));
}

/**
 * lastExpiredDay and hourMonths change only with the day (every contact read asks both, and
 * `toISOString` was a few % of its time): kept per (day, horizon), the last few.
 */
const byDay = new Map<string, string | string[]>();

function rememberByDay<V extends string | string[]>(kind: string, now: number, historyDays: number, make: () => V): V {
  const key = `${kind}:${Math.floor(now / 86_400_000)}:${historyDays}`;
  let value = byDay.get(key) as V | undefined;
  if (value === undefined) {
    if (byDay.size >= 64) byDay.clear();
    byDay.set(key, (value = make()));
  }
  return value;
}

/**
 * The months (YYYYMM, oldest first) a best-time read sums at `now` (contact hours): those whose
 * every day is within the horizon, to `now`'s. The month across the horizon is left out: its hash
 * may still hold opens of its days past the horizon (one expiry per hash, its newest day's), which
 * the log (7 days past the horizon) may no longer hold, so a replay could not give them back. Best
 * time therefore covers between HISTORY_DAYS less a month and HISTORY_DAYS.
 */
export function hourMonths(now: number, historyDays: number): string[] {
  return rememberByDay('months', now, historyDays, () => monthsWithin(now, historyDays)).slice();
}

function monthsWithin(now: number, historyDays: number): string[] {
  // the first day of the month after the last expired day's, unless that day is a month's last
  const expired = lastExpiredDay(now, historyDays);
  const next = dayOf(Date.UTC(Number(expired.slice(0, 4)), Number(expired.slice(4, 6)) - 1, Number(expired.slice(6, 8)) + 1));
  let year = Number(next.slice(0, 4));
  let month = Number(next.slice(4, 6)) + (next.endsWith('01') ? 0 : 1);
  const last = dayOf(now).slice(0, 6);
  const months: string[] = [];
  for (;;) {
    if (month === 13) (year++, (month = 1));
    const m = `${year}${String(month).padStart(2, '0')}`;
    if (m > last) return months;
    months.push(m);
    month++;
  }
}

/** Where a day bucket (YYYYMMDD) is packed: its month hash's month (YYYYMM) and field (DD). */
export function packedDayOf(day: string): { month: string; field: string } {
  return { month: day.slice(0, 6), field: day.slice(6, 8) };
}

const NEEDS_ESCAPE = /[%:{}]/;

export function escapeId(id: string): string {
  // Most ids hold none of these: a test is far cheaper than a replace with a callback (key names
  // are built several times per event, and a few dozen times per KPI read).
  return NEEDS_ESCAPE.test(id) ? id.replace(/[%:{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`) : id;
}

/** The org's part of a control key (see the header). Pure. */
export function controlOrgRef(orgId: string): string {
  return idCharsProblem(orgId) === null ? escapeId(orgId) : `%#${hash('sha256', orgId, 'hex').slice(0, 32)}`;
}

/**
 * The control keys an org id with an at sign had under its own name before controlOrgRef (none for
 * any other id, whose names did not change): the control role deletes them once it has rewritten
 * the store, keeping the suppression hashes (projections/control/control-store.ts).
 */
export function legacyControlKeys(keys: Keys, orgId: string): { state: string[]; suppression: string } | null {
  if (idCharsProblem(orgId) === null) return null;
  const raw = escapeId(orgId);
  const p = keys.prefix;
  return { state: [controlOrgKey(p, raw), ...RECIPIENT_TYPES.map((type) => controlRecipientsKey(p, type, raw))], suppression: suppressionKey(p, raw) };
}

// The control keys of an org whose part in them is `ref` (controlOrgRef, or an older version's escaped id).
const controlOrgKey = (prefix: string, ref: string): string => `${prefix}:ctl:org:${ref}`;
const controlRecipientsKey = (prefix: string, type: RecipientType, ref: string): string => `${prefix}:ctl:${type}s:${ref}`;
const suppressionKey = (prefix: string, ref: string): string => `${prefix}:suppress:${ref}`;

/** A recipient's part of a projection key or flag (see the header). */
export function recipientRef(type: RecipientType, id: string): string {
  return type === 'contact' ? escapeId(id) : `${escapeId(id)}%${type}`;
}

export function keysFor(prefix: string): Keys {
  const e = escapeId;
  const c = controlOrgRef;
  const r = recipientRef;
  const versions = new Map<ProjectionVersion, VersionKeys>();
  return {
    prefix,
    controlOrgs: () => `${prefix}:ctl:orgs`,
    controlOrg: (org) => controlOrgKey(prefix, c(org)),
    controlContacts: (org) => controlRecipientsKey(prefix, 'contact', c(org)),
    controlRecipients: (org, type) => controlRecipientsKey(prefix, type, c(org)),
    controlUnreadable: () => `${prefix}:ctl:unreadable`,
    suppression: (org) => suppressionKey(prefix, c(org)),
    controlSynced: () => `${prefix}:ctl:synced:layout2`,
    controlSyncedLayout1: () => `${prefix}:ctl:synced`,
    currentVersion: () => `${prefix}:proj:current`,
    projectionVersions: () => `${prefix}:proj:versions`,
    replayLock: () => `${prefix}:replay:lock`,
    projectionHold: () => `${prefix}:proj:hold`,
    purges: () => `${prefix}:purges`,
    purgeFence: () => `${prefix}:purge:fence`,
    landers: () => `${prefix}:landers`,
    landerAck: (id) => `${prefix}:lander:${e(id)}`,
    patterns: () => [`${prefix}:*`, `{${prefix}:*`],
    // every read asks for its version's builder: built once per version, not per request
    version: (v) => {
      let built = versions.get(v);
      if (built === undefined) versions.set(v, (built = versionKeys(v)));
      return built;
    },
  };

  function versionKeys(v: ProjectionVersion): VersionKeys {
    const base = `{${prefix}:v${v}}:`;
    return {
      v,
      base,
      offsets: (topic) => `${base}offsets:${topic}`,
      seen: (day) => `${base}seen:${day}`,
      email: (org, email) => `${base}email:${e(org)}:${e(email)}`,
      emailRecipients: (org, email) => `${base}emailr:${e(org)}:${e(email)}`,
      contact: (org, contact, type = 'contact') => `${base}contact:${e(org)}:${r(type, contact)}`,
      contactDay: (org, contact, day, type = 'contact') => `${base}contactd:${e(org)}:${r(type, contact)}:${day}`,
      orgDay: (org, day) => `${base}orgd:${e(org)}:${day}`,
      senderDay: (org, sender, day) => `${base}senderd:${e(org)}:${e(sender)}:${day}`,
      templateDay: (org, tpl, day) => `${base}templated:${e(org)}:${e(tpl)}:${day}`,
      orgMonth: (org, month) => `${base}orgm:${e(org)}:${month}`,
      senderMonth: (org, sender, month) => `${base}senderm:${e(org)}:${e(sender)}:${month}`,
      templateMonth: (org, tpl, month) => `${base}templatem:${e(org)}:${e(tpl)}:${month}`,
      contactMonth: (org, contact, month, type = 'contact') => `${base}contactm:${e(org)}:${r(type, contact)}:${month}`,
      contactHours: (org, contact, month, type = 'contact') => `${base}contacth:${e(org)}:${r(type, contact)}:${month}`,
      packedRollups: () => `${base}packed`,
      orgIndex: (org) => `${base}orgkeys:${e(org)}`,
      replay: () => `${base}replay`,
    };
  }
}
