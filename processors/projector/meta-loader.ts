import type { Redis } from 'ioredis';
import type { VersionKeys } from '../../projections/keys.js';
import type { EmailEvent } from '../../schemas/events.js';
import { EMAIL_META_FIELDS, emailMetaFromHash, emailMetaKey, outlivesPurge, ZONES_FIELD, type EmailMeta } from './email-meta.js';
import { zonesOf } from './recipient-zones.js';
import { Lru } from './lru.js';

/**
 * The fold's emailMeta input: an LRU filled from folded EmailSent events, and for misses ONE
 * pipelined HMGET per batch (an email's events share a partition, so its EmailSent was folded
 * before, possibly by another instance or before a restart). For an email with an EmailSent in
 * the batch the answer always comes from Redis, never the cache: it decides whether that send is
 * the first (DESIGN §4: one email is one email), and Redis may have lost what the cache remembers.
 */
export class EmailMetaLoader {
  private readonly cache: Lru<string, EmailMeta>;
  /** emails Redis cannot answer for by design (their hashes expired at the horizon), see pin() */
  private readonly pinned = new Map<string, EmailMeta>();

  /**
   * `pastHorizonSeconds` (a replay: HISTORY_DAYS in seconds): remember() pins the sends already
   * past the horizon instead of leaving them to the LRU, which would forget them after
   * `maxEntries` other emails, and with them the sender and template of their interactions.
   */
  constructor(
    private readonly redis: Redis,
    private readonly keys: VersionKeys,
    maxEntries = 200_000,
    private readonly pastHorizonSeconds?: number,
  ) {
    this.cache = new Lru(maxEntries);
  }

  /**
   * `purgedAt` (the gate's ControlHistory): a send at or before its org's latest purge is not
   * answered, from the cache or from Redis (whose hashes the purge's redis step deletes only a
   * while after the gate knows the purge). A replay never folds such a send (the gate refuses it);
   * remembered here, an email opened after the org was enabled again would bring back its sender,
   * template and recipients' time zones, live only.
   */
  async lookup(events: readonly EmailEvent[], purgedAt?: (orgId: string) => number | null): Promise<Map<string, EmailMeta>> {
    const purges = new Map<string, number | null>();
    const current = (orgId: string, meta: EmailMeta): boolean => {
      if (!purgedAt) return true;
      let purge = purges.get(orgId);
      if (purge === undefined) purges.set(orgId, (purge = purgedAt(orgId)));
      return outlivesPurge(meta, purge);
    };
    const found = new Map<string, EmailMeta>();
    const sentHere = new Set<string>();
    for (const event of events) if (event.type === 'EmailSent') sentHere.add(emailMetaKey(event.orgId, event.emailId));
    const missing = new Map<string, { orgId: string; emailId: string }>();
    for (const event of events) {
      const key = emailMetaKey(event.orgId, event.emailId);
      if (found.has(key) || missing.has(key)) continue;
      const gone = this.pinned.get(key);
      if (gone && current(event.orgId, gone)) {
        found.set(key, gone);
        continue;
      }
      if (gone) this.pinned.delete(key);
      const cached = sentHere.has(key) ? undefined : this.cache.get(key);
      if (cached && current(event.orgId, cached)) found.set(key, cached);
      else missing.set(key, { orgId: event.orgId, emailId: event.emailId });
    }
    if (missing.size === 0) return found;
    const pipeline = this.redis.pipeline();
    for (const { orgId, emailId } of missing.values()) {
      pipeline.hmget(this.keys.email(orgId, emailId), ...EMAIL_META_FIELDS);
      pipeline.hget(this.keys.emailRecipients(orgId, emailId), ZONES_FIELD);
    }
    const results = (await pipeline.exec()) ?? [];
    [...missing.keys()].forEach((key, i) => {
      const [error, values] = results[2 * i] ?? [];
      const [zonesError, zones] = results[2 * i + 1] ?? [];
      if (error) throw error;
      if (zonesError) throw zonesError;
      const meta = emailMetaFromHash(values as Array<string | null>, zones as string | null);
      if (meta && current(missing.get(key)!.orgId, meta)) {
        found.set(key, meta);
        this.cache.set(key, meta);
      }
    });
    return found;
  }

  /**
   * Meta of emails whose hashes are past the horizon, known from their folded EmailSent: Redis
   * dropped those hashes (or never kept them), yet their later interactions still count in the
   * day rollups and a repeated EmailSent is still not a new email. Answered before the cache and
   * Redis, sends included. A replay that goes on per batch after its in-memory fold hands them over.
   * Held for the loader's life: bounded by the sends the log keeps past the horizon (7 days).
   */
  pin(metas: ReadonlyMap<string, EmailMeta>): void {
    for (const [key, meta] of metas) this.pinned.set(key, meta);
  }

  /**
   * Called once a batch is applied with the `known` meta its fold was given: the first EmailSent
   * of each email not known before is now the truth in Redis too (a retry changed nothing).
   */
  remember(events: readonly EmailEvent[], known: ReadonlyMap<string, EmailMeta>): void {
    const firsts = new Set<string>();
    const gone = this.pastHorizonSeconds === undefined ? -Infinity : Math.floor(Date.now() / 1000) - this.pastHorizonSeconds;
    for (const event of events) {
      if (event.type !== 'EmailSent') continue;
      const key = emailMetaKey(event.orgId, event.emailId);
      if (known.has(key) || firsts.has(key)) continue;
      firsts.add(key);
      const meta = { senderId: event.senderId, templateId: event.templateId, sentAt: event.occurredAt, zones: zonesOf(event) };
      if (Math.floor(meta.sentAt / 1000) <= gone) this.pinned.set(key, meta);
      else this.cache.set(key, meta);
    }
  }
}
