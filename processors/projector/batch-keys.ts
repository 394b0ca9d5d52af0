/**
 * Per-batch memo of the key names the fold writes: each name is built once per batch (escaping
 * and concatenation are the fold's hottest work otherwise) and registered in the org's key index
 * the first time, so later uses are a Map lookup on an already-hashed string. A daily key's
 * expiry is a function of its day alone (the day's start + the horizon), so it is set here, once,
 * when the name is first built. Pure bookkeeping.
 */

import { dayOf, escapeId, packedDayOf, recipientRef, type VersionKeys } from '../../projections/keys.js';
import type { RecipientType } from '../../schemas/events.js';
import { addExpireAt, addFixedExpireAt, addOrgKey, addPack, type Delta, type PackKind } from '../../projections/projector/delta.js';

const DAY_MS = 86_400_000;

/** The inner map of `outer` under `key`, created empty the first time. */
function inner<K, V>(outer: Map<K, Map<string, V>>, key: K): Map<string, V> {
  let map = outer.get(key);
  if (map === undefined) outer.set(key, (map = new Map()));
  return map;
}

interface OrgKeys {
  index: string;
  emails: Map<string, { email: string; flags: string }>;
  days: Map<string, string>;
  senderDays: Map<string, Map<string, string>>;
  templateDays: Map<string, Map<string, string>>;
  contacts: Map<string, string>;
  contactDays: Map<string, Map<string, string>>;
  contactHours: Map<string, Map<string, string>>;
}

export class BatchKeys {
  private readonly orgs = new Map<string, OrgKeys>();
  private readonly days = new Map<number, string>();
  private readonly escaped = new Map<string, string>();
  private readonly refs = new Map<RecipientType, Map<string, string>>();
  private readonly dayExpiries = new Map<string, number>();
  private readonly monthExpiries = new Map<string, number>();

  /** `horizonSeconds`: HISTORY_DAYS in seconds; a daily key expires that long after its day starts. */
  constructor(
    private readonly keys: VersionKeys,
    private readonly delta: Delta,
    private readonly horizonSeconds: number,
  ) {}

  // Lookups first, the builder only on a miss: these run several times per event, so no
  // closure is allocated for the (rare) miss.

  /** dayOf(ms), memoised per UTC day. */
  day(ms: number): string {
    const n = Math.floor(ms / DAY_MS);
    let day = this.days.get(n);
    if (day === undefined) this.days.set(n, (day = dayOf(ms)));
    return day;
  }

  escape(id: string): string {
    let escaped = this.escaped.get(id);
    if (escaped === undefined) this.escaped.set(id, (escaped = escapeId(id)));
    return escaped;
  }

  /** recipientRef(type, id), memoised: a recipient's part of a flag. */
  recipient(type: RecipientType, id: string): string {
    if (type === 'contact') return this.escape(id);
    const refs = inner(this.refs, type);
    let ref = refs.get(id);
    if (ref === undefined) refs.set(id, (ref = recipientRef(type, id)));
    return ref;
  }

  email(orgId: string, emailId: string): { email: string; flags: string } {
    const org = this.org(orgId);
    let keys = org.emails.get(emailId);
    if (keys === undefined) {
      keys = { email: this.touch(org, this.keys.email(orgId, emailId)), flags: this.touch(org, this.keys.emailRecipients(orgId, emailId)) };
      org.emails.set(emailId, keys);
    }
    return keys;
  }

  orgDay(orgId: string, day: string): string {
    const org = this.org(orgId);
    let key = org.days.get(day);
    if (key === undefined) org.days.set(day, (key = this.rollup(org, this.keys.orgDay(orgId, day), day, (month) => this.keys.orgMonth(orgId, month))));
    return key;
  }

  senderDay(orgId: string, senderId: string, day: string): string {
    const org = this.org(orgId);
    const days = inner(org.senderDays, senderId);
    let key = days.get(day);
    if (key === undefined) days.set(day, (key = this.rollup(org, this.keys.senderDay(orgId, senderId, day), day, (month) => this.keys.senderMonth(orgId, senderId, month))));
    return key;
  }

  templateDay(orgId: string, templateId: string, day: string): string {
    const org = this.org(orgId);
    const days = inner(org.templateDays, templateId);
    let key = days.get(day);
    if (key === undefined) days.set(day, (key = this.rollup(org, this.keys.templateDay(orgId, templateId, day), day, (month) => this.keys.templateMonth(orgId, templateId, month))));
    return key;
  }

  contact(orgId: string, contactId: string, type: RecipientType): string {
    const org = this.org(orgId);
    const ref = this.recipient(type, contactId);
    let key = org.contacts.get(ref);
    if (key === undefined) org.contacts.set(ref, (key = this.touch(org, this.keys.contact(orgId, contactId, type))));
    return key;
  }

  contactDay(orgId: string, contactId: string, day: string, type: RecipientType): string {
    const org = this.org(orgId);
    const days = inner(org.contactDays, this.recipient(type, contactId));
    let key = days.get(day);
    if (key === undefined) {
      const packed = (month: string) => this.keys.contactMonth(orgId, contactId, month, type);
      days.set(day, (key = this.rollup(org, this.keys.contactDay(orgId, contactId, day, type), day, packed, 'c')));
    }
    return key;
  }

  /**
   * The recipient's open histogram of the month of `day`, for an open on `day`: it expires with
   * the newest day it counts (only ever later), so an open already past the horizon leaves no
   * hash behind, as its contact day leaves none. The org's index outlives it: the fold expires the
   * index with the newest event.
   */
  contactHours(orgId: string, contactId: string, day: string, type: RecipientType): string {
    const org = this.org(orgId);
    const months = inner(org.contactHours, this.recipient(type, contactId));
    const { month } = packedDayOf(day);
    let key = months.get(month);
    if (key === undefined) months.set(month, (key = this.touch(org, this.keys.contactHours(orgId, contactId, month, type))));
    addExpireAt(this.delta, key, this.dayExpiry(day));
    return key;
  }

  /** The org's key index (the fold expires it with the org's newest event). */
  orgIndex(orgId: string): string {
    return this.org(orgId).index;
  }

  private org(orgId: string): OrgKeys {
    let org = this.orgs.get(orgId);
    if (org === undefined) {
      org = {
        index: this.keys.orgIndex(orgId),
        emails: new Map(),
        days: new Map(),
        senderDays: new Map(),
        templateDays: new Map(),
        contacts: new Map(),
        contactDays: new Map(),
        contactHours: new Map(),
      };
      this.orgs.set(orgId, org);
    }
    return org;
  }

  private touch(org: OrgKeys, key: string): string {
    addOrgKey(this.delta, org.index, key);
    return key;
  }

  private daily(org: OrgKeys, key: string, day: string): string {
    addFixedExpireAt(this.delta, key, this.dayExpiry(day));
    return this.touch(org, key);
  }

  /** A daily rollup or contact day, packed into its month hash for reads (listed in the org's index as well). */
  private rollup(org: OrgKeys, key: string, day: string, monthKey: (month: string) => string, kind: PackKind = 'r'): string {
    const { month, field } = packedDayOf(day);
    addPack(this.delta, key, { month: this.touch(org, monthKey(month)), field, expireAt: this.monthExpiry(month), kind, index: org.index });
    return this.daily(org, key, day);
  }

  /** A month hash expires with the last day of its month: a function of the month alone. */
  private monthExpiry(month: string): number {
    let expiry = this.monthExpiries.get(month);
    if (expiry === undefined) {
      // day 0 of the next month is the last day of this one
      expiry = Date.UTC(Number(month.slice(0, 4)), Number(month.slice(4, 6)), 0) / 1000 + this.horizonSeconds;
      this.monthExpiries.set(month, expiry);
    }
    return expiry;
  }

  private dayExpiry(day: string): number {
    let expiry = this.dayExpiries.get(day);
    if (expiry === undefined) {
      expiry = Date.UTC(Number(day.slice(0, 4)), Number(day.slice(4, 6)) - 1, Number(day.slice(6, 8))) / 1000 + this.horizonSeconds;
      this.dayExpiries.set(day, expiry);
    }
    return expiry;
  }
}
