/**
 * The whole control history, in memory, as the gate needs it: per org the enable/disable
 * switches, the subscription ends and renewals and the purges in time order, per (org, contact)
 * the preference changes in time order. Kept as transitions, not current state, because gating
 * asks "what was true at this event's own time" (DESIGN §2) — that is what makes a replay give
 * the same answer. A purge starts the org over (DESIGN §2.3): after it, the org is disabled until
 * an enable later than the purge, and a subscription that ended before it no longer counts.
 * Idempotent: an event already applied (same eventId) is ignored; out-of-order arrival is fine.
 */

import { recipientKey, recipientTypeOf, type ControlEvent, type RecipientType } from '../../schemas/events.js';
import { isSealedPreference } from '../../schemas/sealing.js';

export interface Transition {
  at: number;
  on: boolean;
}

interface OrgHistory {
  switches: Transition[];
  /** times in order */
  subscriptionEnds: number[];
  renewals: number[];
  purges: number[];
  /** by `<recipientType>:<id>`: a lead and a contact with one id are two recipients */
  contacts: Map<string, Transition[]>;
  /**
   * by suppression hash: preferences whose contactId could not be opened because a purge destroyed
   * the org's key (schemas/sealing.ts). The hash is all a purged org needs: it still suppresses
   * the recipient after the org is re-enabled (DESIGN §2.2).
   */
  hashed: Map<string, Transition[]>;
}

/** The suppression hash of a recipient (projections/control/suppression.ts with the secret bound). */
export type RecipientHasher = (orgId: string, type: RecipientType, id: string) => string;

/**
 * A control record that could not be decoded or validated (DESIGN §2: fail closed). It blocks
 * its org (null: the record's key was unreadable too, so every org) from `at` — the record's
 * Kafka timestamp — until an administrator's ControlRecordResolved for (partition, offset).
 * Kept as an interval of event time, like every other control fact, so a replay blocks the same
 * events the live run blocked.
 */
export interface UnreadableRecord {
  partition: number;
  offset: number;
  orgId: string | null;
  at: number;
  reason: string;
}

export class ControlHistory {
  private readonly orgs = new Map<string, OrgHistory>();
  private readonly applied = new Set<string>();
  private readonly unreadable = new Map<string, UnreadableRecord>();
  /** `<partition>:<offset>` -> time of the first resolution */
  private readonly resolutions = new Map<string, number>();

  /** `hashRecipient` looks up the preferences kept only as a hash; without it they refuse following (fail closed). */
  constructor(private readonly hashRecipient?: RecipientHasher) {}

  /** true when the event is new (not applied before) */
  apply(event: ControlEvent): boolean {
    if (this.applied.has(event.eventId)) return false;
    this.applied.add(event.eventId);
    const org = this.org(event.orgId);
    switch (event.type) {
      case 'OrgEngagementEnabled':
      case 'OrgEngagementDisabled':
        insertInTimeOrder(org.switches, { at: event.occurredAt, on: event.type === 'OrgEngagementEnabled' });
        return true;
      case 'ContactFollowPreferenceChanged': {
        // still sealed: its key was destroyed by a purge (the control reader checked), only the hash is left
        const sealed = isSealedPreference(event);
        if (sealed && !event.suppressionHash) throw new Error(`sealed preference ${event.eventId} has no suppression hash`);
        const map = sealed ? org.hashed : org.contacts;
        const key = sealed ? event.suppressionHash! : recipientKey(recipientTypeOf(event), event.contactId);
        const list = map.get(key) ?? [];
        insertInTimeOrder(list, { at: event.occurredAt, on: event.allow });
        map.set(key, list);
        return true;
      }
      case 'ControlRecordResolved': {
        const key = `${event.partition}:${event.offset}`;
        this.resolutions.set(key, Math.min(this.resolutions.get(key) ?? Infinity, event.occurredAt));
        return true;
      }
      case 'OrgPurged':
        insertTime(org.purges, event.occurredAt);
        return true;
      case 'SubscriptionEnded':
        insertTime(org.subscriptionEnds, event.occurredAt);
        return true;
      case 'SubscriptionRenewed':
        insertTime(org.renewals, event.occurredAt);
        return true;
      default: {
        const never: never = event;
        return never;
      }
    }
  }

  /** A new organisation starts disabled (DESIGN §6), and so does a purged one: only a later enable counts. */
  orgEnabledAt(orgId: string, at: number): boolean {
    const org = this.orgs.get(orgId);
    if (!org) return false;
    const last = lastAtOrBefore(org.switches, at);
    return last !== undefined && last.on && last.at > this.purgeBefore(org, at);
  }

  /**
   * Collection stops at a subscription's end and resumes at its renewal; a renewal at the very
   * instant of an end wins (as for retention, `pendingPurgeSince`). An end before the latest
   * purge is done with.
   */
  subscriptionActiveAt(orgId: string, at: number): boolean {
    const org = this.orgs.get(orgId);
    if (!org) return true;
    const ended = lastAtOrBefore(org.subscriptionEnds, at);
    if (ended === undefined || ended <= this.purgeBefore(org, at)) return true;
    const renewed = lastAtOrBefore(org.renewals, at);
    return renewed !== undefined && renewed >= ended;
  }

  /** Whether any recipient of the org ever stated a preference: else every recipient allows, whoever it is. */
  hasRecipientPreferences(orgId: string): boolean {
    const org = this.orgs.get(orgId);
    return org !== undefined && (org.contacts.size > 0 || org.hashed.size > 0);
  }

  /**
   * A recipient allows following until it says otherwise. Its latest preference at `at` is the
   * later of its clear ones and those kept only as its suppression hash (a purged generation's).
   */
  contactAllowsAt(orgId: string, contactId: string, at: number, type: RecipientType = 'contact'): boolean {
    const org = this.orgs.get(orgId);
    // No preference stated in the org at all (most orgs): nothing to look up per event.
    if (!org || (org.contacts.size === 0 && org.hashed.size === 0)) return true;
    const clear = lastAtOrBefore(org.contacts.get(recipientKey(type, contactId)) ?? [], at);
    if (org.hashed.size === 0) return clear?.on ?? true;
    if (!this.hashRecipient) return false; // a hash we cannot check may be an opt-out
    const hashed = lastAtOrBefore(org.hashed.get(this.hashRecipient(orgId, type, contactId)) ?? [], at);
    const latest = hashed === undefined || (clear !== undefined && clear.at >= hashed.at) ? clear : hashed;
    return latest?.on ?? true;
  }

  /** Records an unreadable control record; true when it was not known yet. */
  markUnreadable(record: UnreadableRecord): boolean {
    const key = `${record.partition}:${record.offset}`;
    if (this.unreadable.has(key)) return false;
    this.unreadable.set(key, record);
    return true;
  }

  /** The org is blocked at `at` by an unreadable control record: from its time until its resolution. */
  blockedAt(orgId: string, at: number): boolean {
    for (const [key, record] of this.unreadable) {
      if (record.orgId !== null && record.orgId !== orgId) continue;
      if (at >= record.at && at < (this.resolutions.get(key) ?? Infinity)) return true;
    }
    return false;
  }

  /** Unreadable records no administrator has resolved yet. */
  unresolved(): UnreadableRecord[] {
    return [...this.unreadable].filter(([key]) => !this.resolutions.has(key)).map(([, record]) => record);
  }

  /** the latest purge: everything of the org up to it is gone for good */
  purgedAt(orgId: string): number | null {
    return this.orgs.get(orgId)?.purges.at(-1) ?? null;
  }

  get size(): number {
    return this.applied.size;
  }

  private org(orgId: string): OrgHistory {
    let org = this.orgs.get(orgId);
    if (!org) {
      org = { switches: [], subscriptionEnds: [], renewals: [], purges: [], contacts: new Map(), hashed: new Map() };
      this.orgs.set(orgId, org);
    }
    return org;
  }

  /** the latest purge at or before `at`, -Infinity when none */
  private purgeBefore(org: OrgHistory, at: number): number {
    return lastAtOrBefore(org.purges, at) ?? -Infinity;
  }
}

/** Equal times keep arrival order, so of two switches at the same instant the later-read wins. */
function insertInTimeOrder(list: Transition[], item: Transition): void {
  let i = list.length;
  while (i > 0 && list[i - 1]!.at > item.at) i--;
  list.splice(i, 0, item);
}

function insertTime(list: number[], at: number): void {
  let i = list.length;
  while (i > 0 && list[i - 1]! > at) i--;
  list.splice(i, 0, at);
}

// A module-level function, not a closure per call: the gate runs this several times per event.
function timeOf(item: number | Transition): number {
  return typeof item === 'number' ? item : item.at;
}

/** The last item at or before `at` of a list in time order (binary search). */
function lastAtOrBefore<T extends number | Transition>(list: readonly T[], at: number): T | undefined {
  let lo = 0;
  let hi = list.length; // first index with a time > at
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (timeOf(list[mid]!) <= at) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? undefined : list[lo - 1];
}
