import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { coalesceWrites } from '../../core/coalesced-writes.js';
import { EngagementError } from '../../core/errors.js';
import { countsInRow } from './reply-numbers.js';
import { storeSynced, type ControlFallback } from '../control/control-store.js';
import { redisIdentity } from '../../core/redis.js';
import { fromHash, type OrgState } from '../control/org-state.js';
import { FIRST_PROJECTION_VERSION, parseCurrentVersion, readCurrentVersion } from '../current-version.js';
import type { Keys, ProjectionVersion, VersionKeys } from '../keys.js';

const LUA = readFileSync(new URL('../lua/read-kpis.lua', import.meta.url), 'utf8');
const COMMAND = 'engagementReadKpis';
/** The same script with its reply left as Redis sent it (defineCommand adds the `Buffer` variant):
 *  ioredis would otherwise walk every reply element to turn bulk strings into strings, an org
 *  read's 330 numbers included; the few strings a read has are decoded here instead. */
const COMMAND_RAW = `${COMMAND}Buffer` as const;
/** A replay switch between the guess and the read costs one more round trip; more means a storm of switches. */
const MAX_ATTEMPTS = 4;

/** What one query reads from the live version (see read-kpis.lua for the modes). */
export type ReadPlan =
  | { mode: 'hash'; keys: string[] }
  | { mode: 'sum'; keys: [first: string, ...summed: string[]]; fields: readonly string[] }
  | { mode: 'rows'; keys: string[]; fields: readonly string[] }
  /**
   * A daily series from its month hashes (`months`, each with the DD fields it holds, in day
   * order) when the version's `marker` is at least `level` (projections/keys.ts, PACKED); `fields`
   * name the values each packed day holds (ROLLUP_FIELDS, CONTACT_DAY_FIELDS); `heads`, hashes read
   * whole in the same script (a contact's own hash).
   */
  | { mode: 'packed'; marker: string; level: number; heads?: readonly string[]; months: ReadonlyArray<{ key: string; days: readonly string[] }>; fields: readonly string[] };

export type ReadReply =
  | { mode: 'hash'; hashes: Array<Record<string, string>> }
  /** `first`: the first key's HGETALL as Redis sent it (bulk strings as Buffers), for the caller to read */
  | { mode: 'sum'; first: unknown; sums: Record<string, number>; present: number }
  /** one array per key, the values in the order of the plan's fields (missing ones 0) */
  | { mode: 'rows'; rows: number[][] }
  /**
   * as 'rows', one array per day, and per day whether its month hash holds it; `heads` as Redis sent
   * them (flat field/value arrays). `packed` false (nothing else): the version's level is short, read
   * its day hashes
   */
  | { mode: 'packed'; packed: boolean; heads: unknown[]; rows: number[][]; held: boolean[] };

export interface QueryResult<R extends ReadReply> {
  keys: VersionKeys;
  org: OrgState;
  data: R;
}

interface WithCommand {
  [COMMAND_RAW](numKeys: number, keys: string[], argv: string[]): Promise<unknown[]>;
}

/**
 * The version each reader last saw live, per key prefix: the read sends its keys in the same
 * script that checks the pointer, so a stale guess only costs a second round trip, never a wrong
 * answer (the check and the reads are one atomic script).
 */
const liveGuess = new Map<string, ProjectionVersion>();

/** A flat field/value reply (bulk strings as Buffers) → a hash of strings. */
function flatToHash(flat: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const list = (flat as unknown[] | null) ?? [];
  for (let i = 0; i + 1 < list.length; i += 2) out[String(list[i])] = String(list[i + 1]);
  return out;
}

function toRecord(fields: readonly string[], values: unknown): Record<string, number> {
  const list = (values as number[] | null) ?? [];
  const out: Record<string, number> = {};
  for (let i = 0; i < fields.length; i++) out[fields[i]!] = Number(list[i] ?? 0);
  return out;
}

/**
 * Every KPI query in one round trip (read-kpis.lua): which projection version is live, may this
 * org's KPIs be served at all (a disabled org answers engagement_disabled, its data untouched),
 * and the keys `plan` names in that version, read and (for windows) summed inside Redis.
 */
export async function runQuery<M extends ReadPlan['mode']>(
  redis: Redis,
  keys: Keys,
  orgId: string,
  plan: (v: VersionKeys) => Extract<ReadPlan, { mode: M }>,
  fallback?: ControlFallback,
): Promise<QueryResult<Extract<ReadReply, { mode: M }>>> {
  if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { lua: LUA });
  let version = liveGuess.get(keys.prefix) ?? FIRST_PROJECTION_VERSION;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const v = keys.version(version);
    const p: ReadPlan = plan(v);
    const allKeys = [keys.currentVersion(), keys.controlOrg(orgId), keys.controlSynced(), ...planKeys(p)];
    const argv = [String(version), p.mode, ...planArgs(p)];
    let reply: unknown[];
    let identity: string | null = null;
    try {
      // concurrent reads of this turn share one write to Redis (the API's largest cost per read)
      coalesceWrites(redis);
      // which Redis this is (at most one INFO a second, alongside): the control store's mark counts only there
      [reply, identity] = await Promise.all([(redis as unknown as WithCommand)[COMMAND_RAW](allKeys.length, allKeys, argv), fallback ? redisIdentity(redis) : null]);
    } catch (cause) {
      throw new EngagementError('redis_unavailable', (cause as Error).message, { cause, retriable: true });
    }
    const live = parseCurrentVersion(String(reply[0]));
    if (live !== version || reply.length === 1) {
      liveGuess.set(keys.prefix, live);
      version = live;
      continue;
    }
    // The control store lost (flushed, or a Redis without its latest writes) and not rewritten yet:
    // the control topic decides, not a missing or stale hash.
    const synced = !fallback || storeSynced(reply[2] == null ? null : String(reply[2]), identity);
    const org = synced ? fromHash(orgId, flatToHash(reply[1])) : fallback.orgState(orgId);
    if (!org.enabled) {
      throw new EngagementError('engagement_disabled', `email engagement is disabled for organisation ${orgId}`);
    }
    return { keys: v, org, data: decode(p, reply.slice(3)) as Extract<ReadReply, { mode: M }> };
  }
  throw new EngagementError('redis_unavailable', `the live projection version kept changing during a read of organisation ${orgId}`, { retriable: true });
}

/** KEYS[4..] of read-kpis.lua for a plan */
function planKeys(plan: ReadPlan): string[] {
  return plan.mode === 'packed' ? [plan.marker, ...(plan.heads ?? []), ...plan.months.map((m) => m.key)] : plan.keys;
}

/** ARGV[3..] of read-kpis.lua for a plan */
function planArgs(plan: ReadPlan): string[] {
  switch (plan.mode) {
    case 'hash':
      return [];
    case 'packed': {
      const args: string[] = [String(plan.level), String(plan.heads?.length ?? 0)];
      for (const { days } of plan.months) args.push(String(days.length), ...days);
      return args;
    }
    default:
      return [...plan.fields];
  }
}

function decode(plan: ReadPlan, rest: unknown[]): ReadReply {
  switch (plan.mode) {
    case 'hash':
      return { mode: 'hash', hashes: rest.map(flatToHash) };
    case 'sum':
      return { mode: 'sum', first: rest[0], sums: toRecord(plan.fields, rest[1]), present: Number(rest[2] ?? 0) };
    case 'rows':
      return { mode: 'rows', rows: rest.map((row) => countsInRow(row as Uint8Array | null, plan.fields.length)) };
    case 'packed': {
      if (rest[0] !== 1) return { mode: 'packed', packed: false, heads: [], rows: [], held: [] };
      const heads = plan.heads?.length ?? 0;
      const days = rest.slice(1 + heads);
      const rows = days.map((row) => countsInRow(row as Uint8Array | null, plan.fields.length));
      return { mode: 'packed', packed: true, heads: rest.slice(1, 1 + heads), rows, held: days.map((row) => row !== null) };
    }
    default: {
      const never: never = plan;
      return never;
    }
  }
}

export interface QueryContext {
  keys: VersionKeys;
  org: OrgState;
}

/**
 * The version and the org's enablement alone (one round trip), for a read that builds its own
 * key list afterwards; a KPI query should use `runQuery`, which reads its keys in the same script.
 */
export async function openQuery(redis: Redis, keys: Keys, orgId: string, fallback?: ControlFallback): Promise<QueryContext> {
  const { keys: v, org } = await runQuery<'hash'>(redis, keys, orgId, () => ({ mode: 'hash', keys: [] }), fallback);
  return { keys: v, org };
}

/**
 * A read of several round trips (a ranking, a heatmap, a daily series) in one version: `read` runs
 * on the live version, which is checked to be live still once it is done. A replay's switch starts
 * deleting the old version's keys right away, so a read that straddled one may have found some of
 * them gone (or failed for it): it is read again on the new version, and an answer never mixes
 * versions or misses what both held.
 */
export async function readLive<T>(redis: Redis, keys: Keys, orgId: string, fallback: ControlFallback | undefined, read: (v: VersionKeys) => Promise<T>): Promise<T> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const { keys: v } = await openQuery(redis, keys, orgId, fallback);
    let outcome: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, value: await read(v) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    let live: ProjectionVersion;
    try {
      live = await readCurrentVersion(redis, keys);
    } catch (cause) {
      throw new EngagementError('redis_unavailable', (cause as Error).message, { cause, retriable: true });
    }
    if (live === v.v) {
      if (outcome.ok) return outcome.value;
      throw outcome.error;
    }
    liveGuess.set(keys.prefix, live);
  }
  throw new EngagementError('redis_unavailable', `the live projection version kept changing during a read of organisation ${orgId}`, { retriable: true });
}

/** HGETALL of each key in one pipeline (not atomic with a preceding openQuery). */
export async function readHashes(redis: Redis, names: readonly string[]): Promise<Array<Record<string, string>>> {
  if (names.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const name of names) pipeline.hgetall(name);
  const results = (await pipeline.exec()) ?? [];
  return names.map((_, i) => {
    const [error, value] = results[i] ?? [null, {}];
    if (error) throw new EngagementError('redis_unavailable', error.message, { cause: error, retriable: true });
    return (value as Record<string, string>) ?? {};
  });
}
