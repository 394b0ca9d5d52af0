/**
 * Drops events whose eventId was already applied (a re-sent event is counted once, DESIGN §4):
 * duplicates within the batch, then one SMISMEMBER per event day against the seen sets.
 */

import type { Redis } from 'ioredis';
import { dayOf, type VersionKeys } from '../../projections/keys.js';
import type { EmailEvent } from '../../schemas/events.js';

export function firstOccurrences<T extends { event: EmailEvent }>(records: readonly T[]): T[] {
  const ids = new Set<string>();
  return records.filter(({ event }) => (ids.has(event.eventId) ? false : (ids.add(event.eventId), true)));
}

export async function dropSeen<T extends { event: EmailEvent }>(redis: Redis, keys: VersionKeys, records: readonly T[]): Promise<T[]> {
  if (records.length === 0) return [];
  const byDay = new Map<string, T[]>();
  for (const record of records) {
    const day = dayOf(record.event.occurredAt);
    const list = byDay.get(day);
    if (list) list.push(record);
    else byDay.set(day, [record]);
  }
  const days = [...byDay.keys()];
  const pipeline = redis.pipeline();
  for (const day of days) pipeline.smismember(keys.seen(day), ...byDay.get(day)!.map((r) => r.event.eventId));
  const results = (await pipeline.exec()) ?? [];
  const fresh = new Set<T>();
  days.forEach((day, i) => {
    const [error, flags] = results[i] ?? [];
    if (error) throw error;
    byDay.get(day)!.forEach((record, j) => {
      if ((flags as number[])[j] === 0) fresh.add(record);
    });
  });
  return records.filter((r) => fresh.has(r));
}
