import { keysFor, type VersionKeys } from '../../../projections/keys.js';
import { firstOccurrences } from '../../../processors/projector/dedupe.js';
import { emailMetaKey, type EmailMeta } from '../../../processors/projector/email-meta.js';
import { fold } from '../../../processors/projector/fold.js';
import type { Delta } from '../../../projections/projector/delta.js';
import type { EmailEvent } from '../../../schemas/events.js';

/**
 * The Lua script's semantics over a Map, so fold specs can check what Redis would hold after
 * one or several batches (including the seen filter and the HSETNX flags) without Redis.
 */
export type Hashes = Map<string, Map<string, string>>;

export const keys: VersionKeys = keysFor('t').version(1);

export class InMemoryProjection {
  readonly hashes: Hashes = new Map();
  readonly seen = new Set<string>();
  readonly sets = new Map<string, Set<string>>();
  private readonly meta = new Map<string, EmailMeta>();

  constructor(private readonly machineClickSeconds = 5) {}

  /** One batch through the same steps as the runner: batch dedupe, seen filter, fold, apply. */
  deliver(...events: EmailEvent[]): this {
    const fresh = firstOccurrences(events.map((event) => ({ event }))).filter(({ event }) => !this.seen.has(event.eventId));
    const batch = fresh.map((r) => r.event);
    this.apply(fold(batch, this.meta, keys, { machineClickSeconds: this.machineClickSeconds }));
    for (const event of batch) {
      this.seen.add(event.eventId);
      if (event.type === 'EmailSent') {
        this.meta.set(emailMetaKey(event.orgId, event.emailId), { senderId: event.senderId, templateId: event.templateId, sentAt: event.occurredAt });
      }
    }
    return this;
  }

  apply(delta: Delta): void {
    for (const [key, fields] of delta.incr) for (const [field, by] of fields) this.incr(key, field, by);
    for (const [key, fields] of delta.set) for (const [field, v] of fields) this.hash(key).set(field, v);
    for (const [key, fields] of delta.min) {
      for (const [field, v] of fields) {
        const cur = this.hash(key).get(field);
        if (cur === undefined || v < Number(cur)) this.hash(key).set(field, String(v));
      }
    }
    for (const [key, fields] of delta.max) {
      for (const [field, v] of fields) {
        const cur = this.hash(key).get(field);
        if (cur === undefined || v > Number(cur)) this.hash(key).set(field, String(v));
      }
    }
    for (const [key, fields] of delta.flags) {
      for (const [field, then] of fields) {
        if (this.hash(key).has(field)) continue;
        this.hash(key).set(field, '1');
        for (const [k, f, by] of then) this.incr(k, f, by);
      }
    }
    for (const [key, members] of delta.orgKeys) {
      const set = this.sets.get(key) ?? new Set<string>();
      members.forEach((m) => set.add(m));
      this.sets.set(key, set);
    }
  }

  get(key: string): Record<string, string> {
    return Object.fromEntries(this.hashes.get(key) ?? []);
  }

  private hash(key: string): Map<string, string> {
    let h = this.hashes.get(key);
    if (!h) {
      h = new Map();
      this.hashes.set(key, h);
    }
    return h;
  }

  private incr(key: string, field: string, by: number): void {
    const h = this.hash(key);
    h.set(field, String(Number(h.get(field) ?? 0) + by));
  }
}
