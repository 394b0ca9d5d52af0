import type { Redis } from 'ioredis';
import type { ControlEvent } from '../../schemas/events.js';
import type { Keys } from '../keys.js';
import { evolveOrgState, fromHash, toHash, type OrgState } from './org-state.js';
import { isPurgedTombstone } from './purged-org.js';

/**
 * The current control state in Redis, shared by every API instance: written right after a
 * control event is acknowledged by Kafka (read-your-writes for the admin caller) and by the
 * control-state processor role (so events produced elsewhere are seen too). Idempotent.
 *
 * Like the projection, it is derived from the log and Redis can lose it: the control role marks
 * the store synced (`P:ctl:synced`) once it holds the whole control topic, and rewrites it when
 * the mark is gone. Until then a reader with a `fallback` (the API's own copy of the control
 * topic) answers from the topic, never "disabled" because Redis forgot.
 */
export interface ControlFallback {
  orgState(orgId: string): OrgState;
  contactAllows(orgId: string, contactId: string): boolean;
  orgIds(): string[];
  /** an event this process just had acknowledged, before the reader sees it on the topic */
  remember(events: readonly ControlEvent[]): void;
}

export class ControlStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    readonly fallback?: ControlFallback,
  ) {}

  async isSynced(): Promise<boolean> {
    return (await this.redis.exists(this.keys.controlSynced())) === 1;
  }

  async markSynced(): Promise<void> {
    await this.redis.set(this.keys.controlSynced(), new Date().toISOString());
  }

  async apply(events: readonly ControlEvent[]): Promise<void> {
    this.fallback?.remember(events);
    const byOrg = new Map<string, ControlEvent[]>();
    for (const event of events) byOrg.set(event.orgId, [...(byOrg.get(event.orgId) ?? []), event]);
    const orgIds = [...byOrg.keys()];
    if (orgIds.length === 0) return;
    const states = await this.readOrgs(orgIds);
    const contacts = new Map<string, Map<string, { allow: boolean; at: number }>>();
    const multi = this.redis.multi();
    for (const [orgId, orgEvents] of byOrg) {
      let state = states.get(orgId)!;
      for (const event of orgEvents) {
        state = evolveOrgState(state, event);
        if (event.type === 'ContactFollowPreferenceChanged') {
          const perOrg = contacts.get(orgId) ?? new Map<string, { allow: boolean; at: number }>();
          const previous = perOrg.get(event.contactId);
          if (!previous || previous.at <= event.occurredAt) perOrg.set(event.contactId, { allow: event.allow, at: event.occurredAt });
          contacts.set(orgId, perOrg);
        }
      }
      if (isPurgedTombstone(state)) {
        // Nothing after the purge: the org reads as never seen (disabled); its entry goes.
        multi.srem(this.keys.controlOrgs(), orgId);
        multi.del(this.keys.controlOrg(orgId));
        continue;
      }
      multi.sadd(this.keys.controlOrgs(), orgId);
      multi.hset(this.keys.controlOrg(orgId), toHash(state));
    }
    for (const [orgId, perOrg] of contacts) {
      // Each value carries its time, so re-applying an older event never undoes a newer one.
      const ids = [...perOrg.keys()];
      const stored = await this.redis.hmget(this.keys.controlContacts(orgId), ...ids);
      ids.forEach((contactId, i) => {
        const { allow, at } = perOrg.get(contactId)!;
        const storedAt = Number(stored[i]?.split(':')[1] ?? -1);
        if (at >= storedAt) multi.hset(this.keys.controlContacts(orgId), contactId, `${allow ? 1 : 0}:${at}`);
      });
    }
    await multi.exec();
  }

  async readOrgs(orgIds: readonly string[]): Promise<Map<string, OrgState>> {
    const pipeline = this.redis.pipeline();
    for (const orgId of orgIds) pipeline.hgetall(this.keys.controlOrg(orgId));
    pipeline.exists(this.keys.controlSynced());
    const results = (await pipeline.exec()) ?? [];
    const fallback = this.fallback;
    if (fallback && results[orgIds.length]?.[1] !== 1) return new Map(orgIds.map((orgId) => [orgId, fallback.orgState(orgId)]));
    return new Map(orgIds.map((orgId, i) => [orgId, fromHash(orgId, (results[i]?.[1] as Record<string, string>) ?? {})]));
  }

  async readOrg(orgId: string): Promise<OrgState> {
    return (await this.readOrgs([orgId])).get(orgId)!;
  }

  /** contactId -> allows following; a contact never seen allows. */
  async readContactsAllow(orgId: string, contactIds: readonly string[]): Promise<Map<string, boolean>> {
    if (contactIds.length === 0) return new Map();
    const fallback = this.fallback;
    if (fallback && !(await this.isSynced())) return new Map(contactIds.map((id) => [id, fallback.contactAllows(orgId, id)]));
    const values = await this.redis.hmget(this.keys.controlContacts(orgId), ...contactIds);
    return new Map(contactIds.map((id, i) => [id, values[i] == null || values[i]!.startsWith('1')]));
  }

  async listOrgs(): Promise<string[]> {
    if (this.fallback && !(await this.isSynced())) return this.fallback.orgIds();
    return this.redis.smembers(this.keys.controlOrgs());
  }
}
