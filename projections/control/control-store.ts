import type { Redis } from 'ioredis';
import type { ControlEvent } from '../../schemas/events.js';
import type { Keys } from '../keys.js';
import { evolveOrgState, fromHash, toHash, type OrgState } from './org-state.js';

/**
 * The current control state in Redis, shared by every API instance: written right after a
 * control event is acknowledged by Kafka (read-your-writes for the admin caller) and by the
 * control-state processor role (so events produced elsewhere are seen too). Idempotent.
 */
export class ControlStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async apply(events: readonly ControlEvent[]): Promise<void> {
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
    const results = (await pipeline.exec()) ?? [];
    return new Map(orgIds.map((orgId, i) => [orgId, fromHash(orgId, (results[i]?.[1] as Record<string, string>) ?? {})]));
  }

  async readOrg(orgId: string): Promise<OrgState> {
    return (await this.readOrgs([orgId])).get(orgId)!;
  }

  /** contactId -> allows following; a contact never seen allows. */
  async readContactsAllow(orgId: string, contactIds: readonly string[]): Promise<Map<string, boolean>> {
    if (contactIds.length === 0) return new Map();
    const values = await this.redis.hmget(this.keys.controlContacts(orgId), ...contactIds);
    return new Map(contactIds.map((id, i) => [id, values[i] == null || values[i]!.startsWith('1')]));
  }

  async listOrgs(): Promise<string[]> {
    return this.redis.smembers(this.keys.controlOrgs());
  }
}
