import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { EngagementError } from '../../core/errors.js';
import { RECIPIENT_TYPES, recipientKey, recipientTypeOf, type ControlEvent, type RecipientType } from '../../schemas/events.js';
import { isSealedPreference } from '../../schemas/sealing.js';
import { legacyControlKeys, type Keys } from '../keys.js';
import { evolveOrgState, fromHash, toHash, type OrgState } from './org-state.js';
import { suppressionHash } from './suppression.js';
import { isPurgedTombstone } from './purged-org.js';
import { orgDigest } from '../purge-fence.js';
import { redisIdentity } from '../../core/redis.js';
import type { PurgeRecord } from '../purge-record.js';

/**
 * The current control state in Redis, shared by every API instance: written right after a
 * control event is acknowledged by Kafka (read-your-writes for the admin caller) and by the
 * control-state processor role (so events produced elsewhere are seen too). Idempotent.
 *
 * Like the projection, it is derived from the log and Redis can lose it: the control role marks
 * the store synced (`P:ctl:synced:layout2`, named after the store's key layout: keys.ts) once it
 * holds the whole control topic, and rewrites it when
 * the mark is gone. Until then a reader with a `fallback` (the API's own copy of the control
 * topic) answers from the topic, never "disabled" because Redis forgot.
 *
 * Each org's events are applied atomically (projections/lua/control-apply.lua: compare-and-set
 * on the org hash's revision, retried), so concurrent writers end in the later state. Recipient
 * preferences live one hash per type (a lead and a contact with one id are two recipients); a
 * "do not allow" is also kept as a suppression hash (P:suppress:<org>) that outlives a purge, and
 * a preference older than the org's purge is never written in the clear again, only as that hash.
 *
 * A purged org with nothing after its purge keeps no entry (purged-org.ts: it reads as a new,
 * disabled org). What it keeps is the purge fence (P:purge:fence, sha1(orgId) -> purgedAt, no org
 * id in clear), set by the same script: an org is evolved from its hash *and* its latest purge, and
 * no event at or before that purge is applied again, so re-applying older control events (the
 * control role re-reading the topic, a late batch) never brings back an ended subscription without
 * the purge that concluded it, and a re-enabled org is not due for a purge again.
 */
export interface ControlFallback {
  orgState(orgId: string): OrgState;
  contactAllows(orgId: string, contactId: string, type?: RecipientType): boolean;
  orgIds(): string[];
  /** an event this process just had acknowledged, before the reader sees it on the topic */
  remember(events: readonly ControlEvent[]): void;
}

export interface UnreadableEntry {
  partition: number;
  offset: number;
  /** null: the record's key was unreadable too, every org is blocked */
  orgId: string | null;
  at: number;
  reason: string;
}

const APPLY_LUA = readFileSync(new URL('../lua/control-apply.lua', import.meta.url), 'utf8');
/** Compare-and-set attempts per org before giving up (each loses only to a concurrent writer). */
const APPLY_ATTEMPTS = 50;
const TYPE_KEY_INDEX: Record<RecipientType, number> = { contact: 3, lead: 4, account: 5 };

type ApplyScript = { engagementControlApply(...args: string[]): Promise<number> };

/** The synced mark's value when Redis did not say which it is (redisIdentity null). */
const UNKNOWN_IDENTITY = 'unknown';

/**
 * A synced mark (null: none) counts on the Redis whose identity is `identity`: it names that Redis,
 * or one of them is unknown (a Redis that refuses INFO: only a lost mark is noticed there). Pure.
 */
export function storeSynced(mark: string | null, identity: string | null): boolean {
  if (mark === null) return false;
  return identity === null || mark === UNKNOWN_IDENTITY || mark === identity;
}

const FINISH_SYNC = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[2])
return 1`;

export class ControlStore {
  /**
   * `suppressionSecret` (SUPPRESSION_SECRET) keys the suppression hashes; a store without it can
   * apply org switches but no recipient preference.
   */
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    readonly fallback?: ControlFallback,
    private readonly suppressionSecret?: string,
  ) {
    if (!('engagementControlApply' in redis)) redis.defineCommand('engagementControlApply', { numberOfKeys: 8, lua: APPLY_LUA });
  }

  /**
   * The store holds the whole control topic: the synced mark is there and names the Redis this is
   * (`maxAgeMs`: how old the identity read may be, redisIdentity).
   */
  async isSynced(maxAgeMs?: number): Promise<boolean> {
    const { mark, identity } = await this.readMark(maxAgeMs);
    return storeSynced(mark, identity);
  }

  /**
   * For the control role's watch: the synced mark, whether it holds (it counts, and names this
   * Redis when this Redis says which it is: a mark written while it did not is written again), and
   * the identity of this Redis read now.
   */
  async syncState(): Promise<{ marked: boolean; synced: boolean; identity: string | null; layout1Synced: boolean }> {
    const [{ mark, identity }, layout1] = await Promise.all([this.readMark(0), this.redis.get(this.keys.controlSyncedLayout1())]);
    const holds = (value: string | null): boolean => storeSynced(value, identity) && !(value === UNKNOWN_IDENTITY && identity !== null);
    // an older version's mark on this Redis: the store is whole under that layout (an upgrade, no lost writes)
    // (only on a Redis that says which it is: elsewhere any old mark would count, a restore from before the upgrade too)
    return { marked: mark !== null, synced: holds(mark), identity, layout1Synced: mark === null && identity !== null && holds(layout1) };
  }

  /** The synced mark's value and the identity of this Redis (read at most `maxAgeMs` ago, redisIdentity). */
  private async readMark(maxAgeMs?: number): Promise<{ mark: string | null; identity: string | null }> {
    const [mark, identity] = await Promise.all([this.redis.get(this.keys.controlSynced()), redisIdentity(this.redis, maxAgeMs)]);
    return { mark, identity };
  }

  /**
   * A rewrite of the whole store is bracketed: `beginSync` leaves a token, `finishSync` sets the
   * synced mark only if the token is still there. A flush in between takes the token with the
   * data, so the mark is never set on a store that lost what was just written. The mark's value
   * is the identity of the Redis read before the rewrite began (redisIdentity): a Redis that comes
   * back with the mark but without recent writes is another one, so the mark no longer counts.
   */
  async beginSync(): Promise<string> {
    const token = `${process.pid}:${Date.now()}:${Math.random().toString(36).slice(2)}`;
    await this.redis.set(`${this.keys.controlSynced()}:pending`, token);
    return token;
  }

  async finishSync(token: string, identity: string | null): Promise<boolean> {
    const marked = await this.redis.eval(FINISH_SYNC, 2, `${this.keys.controlSynced()}:pending`, this.keys.controlSynced(), token, identity ?? UNKNOWN_IDENTITY);
    return marked === 1;
  }

  async apply(events: readonly ControlEvent[]): Promise<void> {
    this.fallback?.remember(events);
    const byOrg = new Map<string, ControlEvent[]>();
    for (const event of events) byOrg.set(event.orgId, [...(byOrg.get(event.orgId) ?? []), event]);
    await Promise.all([...byOrg].map(([orgId, orgEvents]) => this.applyOrg(orgId, orgEvents)));
  }

  private async applyOrg(orgId: string, events: readonly ControlEvent[]): Promise<void> {
    // The latest preference of each recipient in these events (equal times: the later one read),
    // by suppression hash: a preference a purge left sealed (its key destroyed) names its
    // recipient only so, and must compete with the same recipient's clear ones.
    const prefs = new Map<string, { type: RecipientType; id: string; allow: boolean; at: number; hash: string }>();
    const resolved: string[] = [];
    let purges = false;
    const secret = this.suppressionSecret;
    for (const event of events) {
      if (event.type === 'ContactFollowPreferenceChanged') {
        const type = recipientTypeOf(event);
        const sealed = isSealedPreference(event);
        const hash = event.suppressionHash ?? (secret === undefined || sealed ? undefined : suppressionHash(secret, orgId, type, event.contactId));
        if (hash === undefined) throw new EngagementError('config_invalid', 'this control store has no SUPPRESSION_SECRET: it cannot apply preferences');
        const previous = prefs.get(hash);
        // '' for the id of a sealed one: only its suppression hash is written
        if (!previous || previous.at <= event.occurredAt) prefs.set(hash, { type, id: sealed ? '' : event.contactId, allow: event.allow, at: event.occurredAt, hash });
      } else if (event.type === 'ControlRecordResolved') resolved.push(`${event.partition}:${event.offset}`);
      else if (event.type === 'OrgPurged') purges = true;
    }
    const script = this.redis as unknown as ApplyScript;
    const keys = [
      this.keys.controlOrgs(),
      this.keys.controlOrg(orgId),
      ...RECIPIENT_TYPES.map((type) => this.keys.controlRecipients(orgId, type)),
      this.keys.suppression(orgId),
      this.keys.controlUnreadable(),
      this.keys.purgeFence(),
    ];
    const prefArgs = [...prefs.values()].flatMap((p) => [String(TYPE_KEY_INDEX[p.type]), p.id, p.allow ? '1' : '0', String(p.at), p.hash]);
    for (let attempt = 1; attempt <= APPLY_ATTEMPTS; attempt++) {
      const { hash, fence } = await this.readOrgAndFence(orgId);
      const state = evolveAfterPurge(fromHash(orgId, hash), fence === '' ? null : Number(fence), events);
      const tombstone = isPurgedTombstone(state);
      const fields = tombstone ? [] : Object.entries(toHash(state)).flat();
      const applied = await script.engagementControlApply(
        ...keys,
        orgId,
        `${hash.rev ?? ''}:${fence}`,
        state.purgedAt === null ? '' : String(state.purgedAt),
        purges ? '1' : '0',
        tombstone ? '1' : '0',
        String(fields.length / 2),
        ...fields,
        String(prefs.size),
        ...prefArgs,
        String(resolved.length),
        ...resolved,
      );
      if (applied === 1) return;
    }
    throw new EngagementError('redis_unavailable', `control state of organisation "${orgId}" kept changing under ${APPLY_ATTEMPTS} attempts`, { retriable: true });
  }

  /** The org's hash and the time of its latest fenced purge (null: never purged). */
  private async readOrgAndFence(orgId: string): Promise<{ hash: Record<string, string>; fence: string }> {
    const results = (await this.redis.pipeline().hgetall(this.keys.controlOrg(orgId)).hget(this.keys.purgeFence(), orgDigest(orgId)).exec()) ?? [];
    for (const [error] of results) if (error) throw error;
    return { hash: (results[0]?.[1] as Record<string, string> | undefined) ?? {}, fence: (results[1]?.[1] as string | null | undefined) ?? '' };
  }

  /**
   * Purges for retention to finish again (purgeToFinishAgain), each unless one of its org is in
   * progress already. Returns the orgs recorded.
   */
  async recordPurgesToFinish(records: ReadonlyMap<string, PurgeRecord>): Promise<string[]> {
    if (records.size === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const [orgId, record] of records) pipeline.hsetnx(this.keys.purges(), orgId, JSON.stringify(record));
    const results = (await pipeline.exec()) ?? [];
    const orgIds = [...records.keys()];
    const recorded: string[] = [];
    results.forEach(([error, value], i) => {
      if (error) throw error;
      if (value === 1) recorded.push(orgIds[i]!);
    });
    return recorded;
  }

  /** The unresolved unreadable control records (the control role writes them whole). */
  async setUnreadable(records: readonly UnreadableEntry[]): Promise<void> {
    const multi = this.redis.multi().del(this.keys.controlUnreadable());
    for (const r of records) multi.hset(this.keys.controlUnreadable(), `${r.partition}:${r.offset}`, JSON.stringify(r));
    await multi.exec();
  }

  /** The unresolved unreadable control records that block `orgId` (those of any org with an unreadable key too). */
  async readUnreadable(orgId: string): Promise<UnreadableEntry[]> {
    const values = await this.redis.hvals(this.keys.controlUnreadable());
    return values.map((v) => JSON.parse(v) as UnreadableEntry).filter((r) => r.orgId === null || r.orgId === orgId);
  }

  async readOrgs(orgIds: readonly string[]): Promise<Map<string, OrgState>> {
    const pipeline = this.redis.pipeline();
    for (const orgId of orgIds) pipeline.hgetall(this.keys.controlOrg(orgId));
    pipeline.get(this.keys.controlSynced());
    const fallback = this.fallback;
    const [results, identity] = await Promise.all([pipeline.exec().then((r) => r ?? []), fallback ? redisIdentity(this.redis) : null]);
    if (fallback && !storeSynced((results[orgIds.length]?.[1] as string | null | undefined) ?? null, identity)) return new Map(orgIds.map((orgId) => [orgId, fallback.orgState(orgId)]));
    return new Map(orgIds.map((orgId, i) => [orgId, fromHash(orgId, (results[i]?.[1] as Record<string, string>) ?? {})]));
  }

  async readOrg(orgId: string): Promise<OrgState> {
    return (await this.readOrgs([orgId])).get(orgId)!;
  }

  /**
   * recipientKey(type, id) -> allows following. A stored preference answers; without one (never
   * said, or forgotten by a purge) the suppression list does: a recipient never seen allows.
   */
  async readRecipientsAllow(orgId: string, recipients: ReadonlyArray<{ type: RecipientType; id: string }>): Promise<Map<string, boolean>> {
    if (recipients.length === 0) return new Map();
    const fallback = this.fallback;
    if (fallback && !(await this.isSynced())) return new Map(recipients.map((r) => [recipientKey(r.type, r.id), fallback.contactAllows(orgId, r.id, r.type)]));
    const pipeline = this.redis.pipeline();
    for (const r of recipients) pipeline.hget(this.keys.controlRecipients(orgId, r.type), r.id);
    const secret = this.suppressionSecret;
    if (secret !== undefined) pipeline.smismember(this.keys.suppression(orgId), ...recipients.map((r) => suppressionHash(secret, orgId, r.type, r.id)));
    const results = (await pipeline.exec()) ?? [];
    for (const [error] of results) if (error) throw error;
    const suppressed = (results[recipients.length]?.[1] as number[] | undefined) ?? [];
    return new Map(
      recipients.map((r, i) => {
        const stored = results[i]?.[1] as string | null;
        return [recipientKey(r.type, r.id), stored != null ? stored.startsWith('1') : suppressed[i] !== 1];
      }),
    );
  }

  /**
   * The org was purged and not re-enabled since: its key is destroyed and the gate refuses its
   * interactions (org_purged), so the tracking edge writes none rather than create a key for it.
   */
  async purgedAndDisabled(orgId: string): Promise<boolean> {
    const fallback = this.fallback;
    if (fallback && !(await this.isSynced())) {
      const state = fallback.orgState(orgId);
      return state.purgedAt !== null && !state.enabled;
    }
    const { hash, fence } = await this.readOrgAndFence(orgId);
    const state = evolveAfterPurge(fromHash(orgId, hash), fence === '' ? null : Number(fence), []);
    return state.purgedAt !== null && !state.enabled;
  }

  /**
   * Deletes the control keys that org ids with an at sign had under their own names before their
   * names became digests (projections/keys.ts, controlOrgRef). With `keepSuppressions` (a rewrite,
   * before it applies the topic) their suppression hashes are merged into the new set first: the
   * rewrite's preferences then decide each recipient again, and one the topic does not name stays
   * suppressed, since "do not allow" outlives everything. Without (the watch, deleting what an
   * older instance wrote again), they go: that instance wrote the same events to the topic, and
   * the new names have them. Returns how many keys went. Idempotent.
   */
  async dropLegacyControlKeys(orgIds: Iterable<string>, keepSuppressions: boolean): Promise<number> {
    const legacy = [...orgIds].flatMap((orgId) => {
      const names = legacyControlKeys(this.keys, orgId);
      return names ? [{ orgId, ...names }] : [];
    });
    if (legacy.length === 0) return 0;
    const check = this.redis.pipeline();
    for (const { suppression, state } of legacy) check.exists(suppression, ...state);
    const present = await execAll(check);
    const held = legacy.filter((_, i) => Number(present[i]) > 0);
    if (held.length === 0) return 0;
    const drop = this.redis.multi();
    for (const { orgId, suppression, state } of held) {
      if (keepSuppressions) drop.sunionstore(this.keys.suppression(orgId), this.keys.suppression(orgId), suppression);
      drop.del(suppression, ...state);
    }
    const results = await execAll(drop);
    return results.filter((_, i) => !keepSuppressions || i % 2 === 1).reduce<number>((sum, deleted) => sum + Number(deleted), 0);
  }

  /** The orgs the store holds a state of (P:ctl:orgs), whatever the synced mark says. */
  storedOrgIds(): Promise<string[]> {
    return this.redis.smembers(this.keys.controlOrgs());
  }

  async listOrgs(): Promise<string[]> {
    if (this.fallback && !(await this.isSynced())) return this.fallback.orgIds();
    return this.storedOrgIds();
  }
}

/**
 * The org state after `events`, from its stored state and its latest purge (the fence): the purge
 * is part of the state even when the purge left no hash, and events at or before it are done with.
 */
export function evolveAfterPurge(stored: OrgState, fence: number | null, events: readonly ControlEvent[]): OrgState {
  if (fence === null) return events.reduce(evolveOrgState, stored);
  const base = stored.purgedAt !== null && stored.purgedAt >= fence ? stored : evolveOrgState(stored, purgedAt(stored.orgId, fence));
  return events.filter((e) => e.occurredAt > fence).reduce(evolveOrgState, base);
}

function purgedAt(orgId: string, at: number): ControlEvent {
  return { type: 'OrgPurged', eventId: '', orgId, occurredAt: at };
}

/** The replies of a pipeline or transaction, or the first error among them. */
async function execAll(batch: { exec(): Promise<Array<[Error | null, unknown]> | null> }): Promise<unknown[]> {
  const results = await batch.exec();
  const failed = results?.find(([error]) => error);
  if (!results || failed) throw new EngagementError('redis_unavailable', `control store: ${failed?.[0]?.message ?? 'transaction aborted'}`, { retriable: true });
  return results.map(([, value]) => value);
}
