/**
 * How retention knows that no lander will upload a record gated before a purge (DESIGN §2: a
 * purge is ordered with the processors). Every lander instance registers in `P:landers` before it
 * consumes anything and keeps `P:lander:<instance>` (TTL ACK_TTL_MS) set to the control positions
 * it has passed: every upload running or starting from then on gates with at least the control
 * events before them (lander-runner.ts: an upload takes the positions and re-gates a purged org's
 * records in one tick). Retention deletes an org's blobs once every registered lander has passed
 * the OrgPurged event; an instance whose key expired is gone (a dead process uploads nothing).
 */

import type { Redis } from 'ioredis';
import type { Keys } from '../../projections/keys.js';

export const ACK_INTERVAL_MS = 1000;
export const ACK_TTL_MS = 15_000;

export type Positions = ReadonlyMap<number, number>;

/** Per partition the smaller of two position maps; a partition missing from either is missing. */
export function minPositions(a: Positions, b: Positions): Map<number, number> {
  const min = new Map<number, number>();
  for (const [partition, offset] of a) {
    const other = b.get(partition);
    if (other !== undefined) min.set(partition, Math.min(offset, other));
  }
  return min;
}

/** Whether `positions` reach every target (partition -> offset that must have been read). */
export function passed(positions: Positions, targets: Positions): boolean {
  for (const [partition, offset] of targets) if ((positions.get(partition) ?? 0) < offset) return false;
  return true;
}

export async function publishLanderAck(redis: Redis, keys: Keys, instanceId: string, positions: Positions): Promise<void> {
  await redis
    .multi()
    .sadd(keys.landers(), instanceId)
    .set(keys.landerAck(instanceId), JSON.stringify(Object.fromEntries(positions)), 'PX', ACK_TTL_MS)
    .exec();
}

export async function removeLanderAck(redis: Redis, keys: Keys, instanceId: string): Promise<void> {
  await redis.multi().srem(keys.landers(), instanceId).del(keys.landerAck(instanceId)).exec();
}

/** The lander instances that have not passed `targets` yet; forgets instances whose key expired. */
export async function landersBehind(redis: Redis, keys: Keys, targets: Positions): Promise<string[]> {
  const ids = await redis.smembers(keys.landers());
  if (ids.length === 0) return [];
  const acks = await redis.mget(...ids.map((id) => keys.landerAck(id)));
  const gone = ids.filter((_, i) => acks[i] === null);
  if (gone.length > 0) await redis.srem(keys.landers(), ...gone);
  return ids.filter((_, i) => {
    const raw = acks[i];
    if (raw == null) return false;
    const positions = new Map(Object.entries(JSON.parse(raw) as Record<string, number>).map(([p, o]) => [Number(p), o]));
    return !passed(positions, targets);
  });
}
