/**
 * Reads a projection version into a Snapshot for the diff: every hash and set under the
 * version's base (SCAN, never KEYS), keyed relative to the base so two versions compare; set
 * members naming keys of the version are made relative too (the org key index).
 * `exclude` drops bookkeeping keys by their relative name.
 */

import type { Redis } from 'ioredis';
import { scanKeys } from '../core/redis-scan.js';
import { PACKED, type VersionKeys } from '../projections/keys.js';
import { SEEN_TTL_SECONDS } from '../projections/projector/apply-args.js';
import type { Fields, Snapshot } from './diff.js';

const READ_CHUNK = 500;

export const BOOKKEEPING = (relative: string): boolean => relative.startsWith('offsets:') || relative === 'replay';

export async function scanVersion(redis: Redis, keys: VersionKeys): Promise<string[]> {
  const found = new Set<string>();
  for await (const batch of scanKeys(redis, `${keys.base}*`)) for (const key of batch) found.add(key);
  return [...found];
}

/** Reads the given full key names (absent keys are left out). */
export async function readSnapshot(
  redis: Redis,
  keys: VersionKeys,
  names: readonly string[],
  exclude: (relative: string) => boolean = BOOKKEEPING,
): Promise<Map<string, Fields>> {
  const relative = (name: string): string => (name.startsWith(keys.base) ? name.slice(keys.base.length) : name);
  const wanted = names.filter((name) => !exclude(relative(name)));
  const out = new Map<string, Fields>();
  for (let at = 0; at < wanted.length; at += READ_CHUNK) {
    const chunk = wanted.slice(at, at + READ_CHUNK);
    const types = ((await redis.pipeline(chunk.map((name) => ['type', name])).exec()) ?? []).map(([, t]) => t as string);
    const reads = chunk.map((name, i) => (types[i] === 'set' ? ['smembers', name] : ['hgetall', name]));
    const values = (await redis.pipeline(reads).exec()) ?? [];
    chunk.forEach((name, i) => {
      const [error, value] = values[i] ?? [];
      if (error || types[i] === 'none') return;
      const fields: Fields = Array.isArray(value)
        ? Object.fromEntries((value as string[]).map((member) => [relative(member), '1']))
        : (value as Record<string, string>);
      if (Object.keys(fields).length > 0) out.set(relative(name), fields);
    });
  }
  return out;
}

export async function snapshotVersion(redis: Redis, keys: VersionKeys, exclude: (relative: string) => boolean = BOOKKEEPING): Promise<Snapshot> {
  return readSnapshot(redis, keys, await scanVersion(redis, keys), exclude);
}

/** One org's keys of a version, through its org key index (plus the index itself). */
export async function snapshotOrg(redis: Redis, keys: VersionKeys, orgId: string): Promise<Snapshot> {
  const index = keys.orgIndex(orgId);
  return readSnapshot(redis, keys, [index, ...(await redis.smembers(index))]);
}

const PACKED_ROLLUPS = /^(orgm|senderm|templatem|contactm|contacth):/;
const PACKED_CONTACTS = /^(contactm|contacth):/;
const CONTACT_HOURS = /^contacth:/;
const PACKED_MONTH = /^(?:orgm|senderm|templatem|contactm):.*:(\d{6})$/;
const HOURS_MONTH = /^contacth:.*:(\d{6})$/;
/** a contact hash's fields of its opens, written there before contact hours */
const CONTACT_OPENS = /^(hl?:|lastOpenedAt$)/;

/**
 * The snapshot without the packed days of month hashes whose day is at or before `lastExpired`
 * (YYYYMMDD): their day hashes are gone, readers treat them as gone, and a rebuild does not write
 * them; the month hash keeps them until its month's last day expires. Without the contact-hours
 * months that hold such a day too: they count its opens, which the log may no longer hold. Pure.
 */
export function withoutExpiredPackedDays(snapshot: Snapshot, lastExpired: string): Snapshot {
  const out = new Map<string, Fields>();
  for (const [name, fields] of snapshot) {
    const hours = HOURS_MONTH.exec(name)?.[1];
    if (hours !== undefined && `${hours}01` <= lastExpired) continue;
    const month = PACKED_MONTH.exec(name)?.[1];
    if (month === undefined) {
      out.set(name, fields);
      continue;
    }
    const kept = Object.fromEntries(Object.entries(fields).filter(([day]) => `${month}${day}` > lastExpired));
    if (Object.keys(kept).length > 0) out.set(name, kept);
  }
  return out;
}

const SEEN_DAY = /^seen:(\d{4})(\d{2})(\d{2})$/;
const DAY_MS = 86_400_000;

/**
 * The snapshot without the seen sets of days past the de-duplication window. The live projector's
 * set of day D expires SEEN_TTL_SECONDS after its last write, and every write of a day-D event
 * happens after D starts (less the clock skew, at most a day): a rebuild writes those sets again,
 * while the live ones may be gone. Both versions hold a set alike only while D started less than
 * SEEN_TTL_SECONDS minus that day ago. Pure.
 */
export function withoutSeenPastWindow(snapshot: Snapshot, now: number): Snapshot {
  const out = new Map<string, Fields>();
  for (const [name, fields] of snapshot) {
    const day = SEEN_DAY.exec(name);
    if (day && Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3])) + SEEN_TTL_SECONDS * 1000 - DAY_MS <= now) continue;
    out.set(name, fields);
  }
  return out;
}

/**
 * The snapshot without the month hashes a version at packed `level` may lack (and without their
 * entries in the org key indexes): every month hash below PACKED.rollups, the contact months below
 * PACKED.contacts, the contact hours below PACKED.hours, and then also the opens of the contact
 * hashes (histograms, last open: a version written before contact hours keeps them there). For comparing
 * with a version written before them, which holds them only for what was written since
 * (projections/keys.ts, `packed`). Pure.
 */
export function withoutPackedRollups(snapshot: Snapshot, level = 0): Snapshot {
  if (level >= PACKED.all) return snapshot;
  const packed = level >= PACKED.contacts ? CONTACT_HOURS : level >= PACKED.rollups ? PACKED_CONTACTS : PACKED_ROLLUPS;
  const out = new Map<string, Fields>();
  for (const [name, fields] of snapshot) {
    if (packed.test(name)) continue;
    if (name.startsWith('contact:')) {
      const kept = Object.fromEntries(Object.entries(fields).filter(([field]) => !CONTACT_OPENS.test(field)));
      if (Object.keys(kept).length > 0) out.set(name, kept);
      continue;
    }
    if (!name.startsWith('orgkeys:')) {
      out.set(name, fields);
      continue;
    }
    out.set(name, Object.fromEntries(Object.entries(fields).filter(([member]) => !packed.test(member))));
  }
  return out;
}

/**
 * The snapshot with each org key index listing only keys the snapshot holds. The live index keeps
 * an entry for every key written since retention last pruned it (retention/prune-index.ts), a
 * rebuild's only for what the log still holds: what differs is entries of keys that are gone.
 * Apply it last, after whatever else leaves keys out of the comparison. Pure.
 */
export function withoutDeadIndexEntries(snapshot: Snapshot): Snapshot {
  const out = new Map<string, Fields>();
  for (const [name, fields] of snapshot) {
    if (!name.startsWith('orgkeys:')) {
      out.set(name, fields);
      continue;
    }
    const kept = Object.fromEntries(Object.entries(fields).filter(([member]) => snapshot.has(member)));
    if (Object.keys(kept).length > 0) out.set(name, kept);
  }
  return out;
}
