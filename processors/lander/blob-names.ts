/**
 * Blob names of the landing zone (DESIGN §4), built here and nowhere else:
 *   org=<orgId>/date=<YYYY-MM-DD>/<topic>+<partition>+<cycleStartOffset>.avro
 * A name is a function of record offsets alone (the cycle's first offset), which is what makes
 * a rewrite after a crash land on the same names. Ids are URI-encoded so a '/' can't add a level.
 */

import { perUtcDay } from '../../core/utc-day.js';

export interface BlobNameParts {
  orgId: string;
  date: string;
  topic: string;
  partition: number;
  cycleStart: number;
}

export function blobName({ orgId, date, topic, partition, cycleStart }: BlobNameParts): string {
  return `${orgBlobPrefix(orgId)}date=${date}/${encodeURIComponent(topic)}+${partition}+${cycleStart}.avro`;
}

/** Every blob of one organisation (retention purges by it). */
export function orgBlobPrefix(orgId: string): string {
  return `org=${encodeURIComponent(orgId)}/`;
}

/** YYYY-MM-DD (UTC) of an epoch-ms time: the date level of the blob path. */
export const blobDate: (ms: number) => string = perUtcDay((ms) => new Date(ms).toISOString().slice(0, 10));

/**
 * The oldest blob date the landing zone keeps at `now` (BLOB_RETENTION_DAYS): an older one is
 * expired, deleted by retention and never written by the lander.
 */
export function oldestKeptBlobDate(now: number, blobRetentionDays: number): string {
  return blobDate(now - blobRetentionDays * 86_400_000);
}

const NAME = /^org=([^/]+)\/date=(\d{4}-\d{2}-\d{2})\/(.+)\+(\d+)\+(\d+)\.avro$/;

export function parseBlobName(name: string): BlobNameParts | null {
  const m = NAME.exec(name);
  if (!m) return null;
  return { orgId: decodeURIComponent(m[1]!), date: m[2]!, topic: decodeURIComponent(m[3]!), partition: Number(m[4]), cycleStart: Number(m[5]) };
}

/** The first offset of the cycle an offset belongs to: cycles are aligned multiples of N. */
export function cycleStartOf(offset: number, cycleOffsets: number): number {
  return Math.floor(offset / cycleOffsets) * cycleOffsets;
}
