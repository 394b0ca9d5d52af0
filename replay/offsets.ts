/**
 * Where a replay reads: per partition, the version's stored offset when resuming, else the
 * earliest offset or the first offset at/after a timestamp; and how far it is from the ends.
 * Offsets are read through core/topic-offsets (retried while a partition's leadership settles).
 */

import type { Admin } from 'kafkajs';
import { endsOf, readOffsetsAtTime, readTopicOffsets } from '../core/topic-offsets.js';

export type From = 'earliest' | number;

export async function topicEnds(admin: Admin, topic: string): Promise<Map<number, number>> {
  return endsOf(await readTopicOffsets(admin, topic));
}

export async function startOffsets(admin: Admin, topic: string, from: From, stored: ReadonlyMap<number, number>): Promise<Map<number, number>> {
  const offsets = await readTopicOffsets(admin, topic);
  const byTime = from === 'earliest' ? new Map<number, number>() : await readOffsetsAtTime(admin, topic, from);
  const start = new Map<number, number>();
  for (const { partition, low, high } of offsets) {
    // fetchTopicOffsetsByTimestamp answers -1 when every record is older: nothing to read there.
    const atTime = byTime.get(partition);
    const first = from === 'earliest' ? low : atTime === undefined || atTime < 0 ? high : Math.max(low, atTime);
    start.set(partition, stored.get(partition) ?? first);
  }
  return start;
}

/** Pure: records between each partition's position and its end. */
export function totalLag(ends: ReadonlyMap<number, number>, positions: ReadonlyMap<number, number>): number {
  let lag = 0;
  for (const [partition, end] of ends) lag += Math.max(0, end - (positions.get(partition) ?? 0));
  return lag;
}
