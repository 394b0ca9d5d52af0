/**
 * Where a replay reads: per partition, the version's stored offset when resuming, else the
 * earliest offset or the first offset at/after a timestamp; and how far it is from the ends.
 */

import type { Admin } from 'kafkajs';

export type From = 'earliest' | number;

export async function topicEnds(admin: Admin, topic: string): Promise<Map<number, number>> {
  return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
}

export async function startOffsets(admin: Admin, topic: string, from: From, stored: ReadonlyMap<number, number>): Promise<Map<number, number>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  const byTime =
    from === 'earliest' ? new Map<number, number>() : new Map((await admin.fetchTopicOffsetsByTimestamp(topic, from)).map((o) => [o.partition, Number(o.offset)]));
  const start = new Map<number, number>();
  for (const o of offsets) {
    const low = Number(o.low);
    const high = Number(o.high);
    // fetchTopicOffsetsByTimestamp answers -1 when every record is older: nothing to read there.
    const atTime = byTime.get(o.partition);
    const first = from === 'earliest' ? low : atTime === undefined || atTime < 0 ? high : Math.max(low, atTime);
    start.set(o.partition, stored.get(o.partition) ?? first);
  }
  return start;
}

/** Pure: records between each partition's position and its end. */
export function totalLag(ends: ReadonlyMap<number, number>, positions: ReadonlyMap<number, number>): number {
  let lag = 0;
  for (const [partition, end] of ends) lag += Math.max(0, end - (positions.get(partition) ?? 0));
  return lag;
}
