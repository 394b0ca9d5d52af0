/** Reads what the processors produced (Redis hashes, landed files, topic ends) for assertions. */

import type { ContainerClient } from '@azure/storage-blob';
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { readLandedFile, type LandedRecord } from '../../../processors/lander/avro-file.js';
import { CONTACT_DAY_FIELDS, keysFor, PACKED, packedDayOf, ROLLUP_FIELDS } from '../../../projections/keys.js';
import { packedLevel } from '../../../projections/packed-rollups.js';
import type { Config } from '../../../core/config.js';
import { waitFor } from '../../support/env.js';
import type { ExpectedKpis, Fields } from '../../support/workload.js';

export async function projectionMismatches(redis: Redis, config: Config, expected: ExpectedKpis, version = 1): Promise<string[]> {
  const k = keysFor(config.redisPrefix).version(version);
  const wanted: Array<[string, Fields]> = [];
  const split = (s: string): string[] => s.split('/');
  for (const [id, h] of expected.emails) wanted.push([k.email(...(split(id) as [string, string])), h]);
  for (const [id, h] of expected.orgDays) wanted.push([k.orgDay(...(split(id) as [string, string])), h]);
  for (const [id, h] of expected.senderDays) wanted.push([k.senderDay(...(split(id) as [string, string, string])), h]);
  for (const [id, h] of expected.templateDays) wanted.push([k.templateDay(...(split(id) as [string, string, string])), h]);
  for (const [id, h] of expected.contactDays) wanted.push([k.contactDay(...(split(id) as [string, string, string])), h]);
  for (const [id, h] of expected.contacts) wanted.push([k.contact(...(split(id) as [string, string])), h]);
  for (const [id, h] of expected.contactHours) wanted.push([k.contactHours(...(split(id) as [string, string, string])), h]);
  const pipeline = redis.pipeline();
  for (const [key] of wanted) pipeline.hgetall(key);
  const results = (await pipeline.exec()) ?? [];
  const problems: string[] = [];
  wanted.forEach(([key, want], i) => {
    const got = (results[i]?.[1] ?? {}) as Fields;
    if (JSON.stringify(sorted(got)) !== JSON.stringify(sorted(want))) problems.push(`${key}: want ${JSON.stringify(sorted(want))} got ${JSON.stringify(sorted(got))}`);
  });
  // A version marked packed is read from its month hashes: each rollup (and contact) day packed there as expected.
  const level = await packedLevel(redis, k);
  if (level >= PACKED.rollups) {
    const packed: Array<[string, string, Fields, readonly string[]]> = [];
    const month = (day: string, keyOf: (m: string) => string): [string, string] => {
      const at = packedDayOf(day);
      return [keyOf(at.month), at.field];
    };
    for (const [id, h] of expected.orgDays) {
      const [org, day] = split(id) as [string, string];
      packed.push([...month(day, (m) => k.orgMonth(org, m)), h, ROLLUP_FIELDS]);
    }
    for (const [id, h] of expected.senderDays) {
      const [org, sender, day] = split(id) as [string, string, string];
      packed.push([...month(day, (m) => k.senderMonth(org, sender, m)), h, ROLLUP_FIELDS]);
    }
    for (const [id, h] of expected.templateDays) {
      const [org, template, day] = split(id) as [string, string, string];
      packed.push([...month(day, (m) => k.templateMonth(org, template, m)), h, ROLLUP_FIELDS]);
    }
    if (level >= PACKED.contacts) {
      for (const [id, h] of expected.contactDays) {
        const [org, contact, day] = split(id) as [string, string, string];
        packed.push([...month(day, (m) => k.contactMonth(org, contact, m)), h, CONTACT_DAY_FIELDS]);
      }
    }
    const fields = (await redis.pipeline(packed.map(([key, field]) => ['hget', key, field])).exec()) ?? [];
    packed.forEach(([key, field, want, names], i) => {
      const wantPacked = Object.keys(want).length === 0 ? null : names.map((f) => want[f] ?? '').join(',');
      const got = (fields[i]?.[1] ?? null) as string | null;
      if (got !== wantPacked) problems.push(`${key} ${field}: want ${String(wantPacked)} got ${String(got)}`);
    });
  }
  return problems;
}

function sorted(h: Fields): Fields {
  return Object.fromEntries(Object.entries(h).sort(([a], [b]) => a.localeCompare(b)));
}

export async function readAllLanded(container: ContainerClient): Promise<{ records: LandedRecord[]; blobs: string[] }> {
  const blobs: string[] = [];
  for await (const blob of container.listBlobsFlat()) blobs.push(blob.name);
  const records = (
    await Promise.all(blobs.map(async (name) => readLandedFile(await container.getBlobClient(name).downloadToBuffer())))
  ).flat();
  return { records, blobs };
}

/** Sum over partitions of the projector's stored next offsets. */
export async function storedOffsetTotal(redis: Redis, config: Config, topic: string, version = 1): Promise<number> {
  const hash = await redis.hgetall(keysFor(config.redisPrefix).version(version).offsets(topic));
  return Object.values(hash).reduce((sum, v) => sum + Number(v), 0);
}

export async function highWatermarkTotal(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, o) => sum + Number(o.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Landed records vs the expected multiset of eventIds, and no log position twice. */
export function landedMismatch(records: readonly LandedRecord[], expected: readonly string[]): string | null {
  const positions = new Set(records.map((r) => `${r.partition}/${r.offset}`));
  if (positions.size !== records.length) return `${records.length - positions.size} log positions landed twice`;
  const count = (ids: Iterable<string>): Map<string, number> => {
    const m = new Map<string, number>();
    for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
    return m;
  };
  const want = count(expected);
  const got = count(records.map((r) => r.event.eventId));
  if (got.size !== want.size || records.length !== expected.length) return `landed ${records.length} records (${got.size} ids), want ${expected.length} (${want.size} ids)`;
  for (const [id, n] of want) if (got.get(id) !== n) return `event ${id} landed ${got.get(id) ?? 0} times, want ${n}`;
  return null;
}

/** Polls the container until at least `count` records have landed, and returns them. */
export async function waitForLanded(container: ContainerClient, count: number, timeoutMs: number): Promise<LandedRecord[]> {
  return waitFor(
    async () => {
      const { records } = await readAllLanded(container);
      return records.length >= count ? records : false;
    },
    { timeoutMs, intervalMs: 500, message: `${count} records landed` },
  );
}

/** Waits until a projection version's stored offsets reach the topic's end. */
export async function waitForProjectorAtEnd(kafka: Kafka, redis: Redis, config: Config, topic: string, version = 1, timeoutMs = 60_000): Promise<void> {
  const end = await highWatermarkTotal(kafka, topic);
  await waitFor(async () => (await storedOffsetTotal(redis, config, topic, version)) === end, { timeoutMs, intervalMs: 100, message: `v${version} at the end` });
}
