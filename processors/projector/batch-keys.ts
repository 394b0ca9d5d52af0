/**
 * Per-batch memo of the key names the fold writes: each name is built once per batch (escaping
 * and concatenation are the fold's hottest work otherwise) and registered in the org's key index
 * the first time, so later uses are a Map lookup on an already-hashed string. A daily key's
 * expiry is a function of its day alone (the day's start + the horizon), so it is set here, once,
 * when the name is first built. Pure bookkeeping.
 */

import { dayOf, escapeId, recipientRef, type VersionKeys } from '../../projections/keys.js';
import type { RecipientType } from '../../schemas/events.js';
import { addExpireAt, addOrgKey, type Delta } from '../../projections/projector/delta.js';

const DAY_MS = 86_400_000;

function memo<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

interface OrgKeys {
  index: string;
  emails: Map<string, { email: string; flags: string }>;
  days: Map<string, string>;
  senderDays: Map<string, Map<string, string>>;
  templateDays: Map<string, Map<string, string>>;
  contacts: Map<string, string>;
  contactDays: Map<string, Map<string, string>>;
}

export class BatchKeys {
  private readonly orgs = new Map<string, OrgKeys>();
  private readonly days = new Map<number, string>();
  private readonly escaped = new Map<string, string>();
  private readonly refs = new Map<RecipientType, Map<string, string>>();
  private readonly dayExpiries = new Map<string, number>();

  /** `horizonSeconds`: HISTORY_DAYS in seconds; a daily key expires that long after its day starts. */
  constructor(
    private readonly keys: VersionKeys,
    private readonly delta: Delta,
    private readonly horizonSeconds: number,
  ) {}

  /** dayOf(ms), memoised per UTC day. */
  day(ms: number): string {
    const n = Math.floor(ms / DAY_MS);
    return memo(this.days, n, () => dayOf(ms));
  }

  escape(id: string): string {
    return memo(this.escaped, id, () => escapeId(id));
  }

  /** recipientRef(type, id), memoised: a recipient's part of a flag. */
  recipient(type: RecipientType, id: string): string {
    if (type === 'contact') return this.escape(id);
    return memo(memo(this.refs, type, () => new Map<string, string>()), id, () => recipientRef(type, id));
  }

  email(orgId: string, emailId: string): { email: string; flags: string } {
    const org = this.org(orgId);
    return memo(org.emails, emailId, () => ({
      email: this.touch(org, this.keys.email(orgId, emailId)),
      flags: this.touch(org, this.keys.emailRecipients(orgId, emailId)),
    }));
  }

  orgDay(orgId: string, day: string): string {
    const org = this.org(orgId);
    return memo(org.days, day, () => this.daily(org, this.keys.orgDay(orgId, day), day));
  }

  senderDay(orgId: string, senderId: string, day: string): string {
    const org = this.org(orgId);
    return memo(memo(org.senderDays, senderId, () => new Map<string, string>()), day, () => this.daily(org, this.keys.senderDay(orgId, senderId, day), day));
  }

  templateDay(orgId: string, templateId: string, day: string): string {
    const org = this.org(orgId);
    return memo(memo(org.templateDays, templateId, () => new Map<string, string>()), day, () => this.daily(org, this.keys.templateDay(orgId, templateId, day), day));
  }

  contact(orgId: string, contactId: string, type: RecipientType): string {
    const org = this.org(orgId);
    return memo(org.contacts, this.recipient(type, contactId), () => this.touch(org, this.keys.contact(orgId, contactId, type)));
  }

  contactDay(orgId: string, contactId: string, day: string, type: RecipientType): string {
    const org = this.org(orgId);
    return memo(memo(org.contactDays, this.recipient(type, contactId), () => new Map<string, string>()), day, () =>
      this.daily(org, this.keys.contactDay(orgId, contactId, day, type), day),
    );
  }

  /** The org's key index (the fold expires it with the org's newest event). */
  orgIndex(orgId: string): string {
    return this.org(orgId).index;
  }

  private org(orgId: string): OrgKeys {
    return memo(this.orgs, orgId, () => ({
      index: this.keys.orgIndex(orgId),
      emails: new Map(),
      days: new Map(),
      senderDays: new Map(),
      templateDays: new Map(),
      contacts: new Map(),
      contactDays: new Map(),
    }));
  }

  private touch(org: OrgKeys, key: string): string {
    addOrgKey(this.delta, org.index, key);
    return key;
  }

  private daily(org: OrgKeys, key: string, day: string): string {
    const expiry = memo(this.dayExpiries, day, () => Date.UTC(Number(day.slice(0, 4)), Number(day.slice(4, 6)) - 1, Number(day.slice(6, 8))) / 1000 + this.horizonSeconds);
    addExpireAt(this.delta, key, expiry);
    return this.touch(org, key);
  }
}
