/**
 * Per-batch memo of the key names the fold writes: each name is built once per batch (escaping
 * and concatenation are the fold's hottest work otherwise) and registered in the org's key index
 * the first time, so later uses are a Map lookup on an already-hashed string. Pure bookkeeping.
 */

import { dayOf, escapeId, type VersionKeys } from '../../projections/keys.js';
import { addOrgKey, type Delta } from '../../projections/projector/delta.js';

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

  constructor(
    private readonly keys: VersionKeys,
    private readonly delta: Delta,
  ) {}

  /** dayOf(ms), memoised per UTC day. */
  day(ms: number): string {
    const n = Math.floor(ms / DAY_MS);
    return memo(this.days, n, () => dayOf(ms));
  }

  escape(id: string): string {
    return memo(this.escaped, id, () => escapeId(id));
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
    return memo(org.days, day, () => this.touch(org, this.keys.orgDay(orgId, day)));
  }

  senderDay(orgId: string, senderId: string, day: string): string {
    const org = this.org(orgId);
    return memo(memo(org.senderDays, senderId, () => new Map<string, string>()), day, () => this.touch(org, this.keys.senderDay(orgId, senderId, day)));
  }

  templateDay(orgId: string, templateId: string, day: string): string {
    const org = this.org(orgId);
    return memo(memo(org.templateDays, templateId, () => new Map<string, string>()), day, () => this.touch(org, this.keys.templateDay(orgId, templateId, day)));
  }

  contact(orgId: string, contactId: string): string {
    const org = this.org(orgId);
    return memo(org.contacts, contactId, () => this.touch(org, this.keys.contact(orgId, contactId)));
  }

  /** The contact-day key; `onCreate` runs once per batch when the name is first built. */
  contactDay(orgId: string, contactId: string, day: string, onCreate: (key: string) => void): string {
    const org = this.org(orgId);
    return memo(memo(org.contactDays, contactId, () => new Map<string, string>()), day, () => {
      const key = this.touch(org, this.keys.contactDay(orgId, contactId, day));
      onCreate(key);
      return key;
    });
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
}
