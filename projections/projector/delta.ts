/**
 * The Redis-agnostic result of folding one batch: what to write, coalesced (one entry per
 * key/field), and which first-time flags gate which increments. resolveFlags and resolveClicks
 * decide those from what Redis held before the batch; the Lua script then applies the writes
 * atomically with the batch's offset (projections/lua/apply-batch.lua).
 */
import { applyClick, clickFields, type BurstClick, type ClickStore } from './click-rule.js';

export type { BurstClick } from './click-rule.js';

export type Incr = readonly [key: string, field: string, by: number];

export interface Delta {
  /** unconditional HINCRBY, coalesced per key/field */
  incr: Map<string, Map<string, number>>;
  /** HSET (metadata, link urls, contact time zone) */
  set: Map<string, Map<string, string>>;
  /** keep the smaller / larger number already stored (firstOpenedAt, lastOpenedAt) */
  min: Map<string, Map<string, number>>;
  max: Map<string, Map<string, number>>;
  /** first-time flags: only when the flag is new are its increments applied (resolveFlags decides) */
  flags: Map<string, Map<string, Incr[]>>;
  /** HDEL: flags a click burst took back (resolveClicks) */
  del: Map<string, Set<string>>;
  /** EXPIREAT in unix seconds, the latest per key; the script only ever moves a key's expiry later */
  expireAt: Map<string, number>;
  /**
   * Keys of `expireAt` whose expiry is a function of the key alone (a day's key: its day; an
   * email's: its send), so it never moves: the script sets it only when the key has none (one
   * EXPIREAT NX, where a moving expiry may take NX and then GT).
   */
  expireOnce: Set<string>;
  /** orgIndex key -> every key of that org the batch touches */
  orgKeys: Map<string, Set<string>>;
  /** seen key -> eventIds folded in this batch */
  seen: Map<string, string[]>;
  /** clicks through the burst rule, in log order (click-rule.ts; resolveClicks decides) */
  clicks: BurstClick[];
  /** rollup or contact day key -> where it is packed for reads, rewritten after every other write (pack-rollup.lua) */
  pack: Map<string, PackedDay>;
}

/** A daily rollup's place in its month hash (projections/keys.ts, orgm/senderm/templatem). */
export interface PackedDay {
  month: string;
  /** DD */
  field: string;
  /** the month hash's expiry (unix seconds): its month's last day's, set when the hash is created */
  expireAt: number;
  /** which counters are packed: 'r' ROLLUP_FIELDS (org/sender/template), 'c' CONTACT_DAY_FIELDS */
  kind: PackKind;
  /** the org's key index, kept alive as long as the month hash (a purge finds keys through it) */
  index: string;
}

export type PackKind = 'r' | 'c';

export function addBurstClick(delta: Delta, click: BurstClick): void {
  delta.clicks.push(click);
}

export function emptyDelta(): Delta {
  return {
    incr: new Map(),
    set: new Map(),
    min: new Map(),
    max: new Map(),
    flags: new Map(),
    del: new Map(),
    expireAt: new Map(),
    expireOnce: new Set(),
    orgKeys: new Map(),
    seen: new Map(),
    clicks: [],
    pack: new Map(),
  };
}

function inner<V>(outer: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let map = outer.get(key);
  if (!map) {
    map = new Map();
    outer.set(key, map);
  }
  return map;
}

export function addIncr(delta: Delta, key: string, field: string, by = 1): void {
  const fields = inner(delta.incr, key);
  fields.set(field, (fields.get(field) ?? 0) + by);
}

export function addSet(delta: Delta, key: string, field: string, value: string): void {
  inner(delta.set, key).set(field, value);
}

export function addMin(delta: Delta, key: string, field: string, value: number): void {
  const fields = inner(delta.min, key);
  const current = fields.get(field);
  if (current === undefined || value < current) fields.set(field, value);
}

export function addMax(delta: Delta, key: string, field: string, value: number): void {
  const fields = inner(delta.max, key);
  const current = fields.get(field);
  if (current === undefined || value > current) fields.set(field, value);
}

/** The first occurrence of a flag in a batch carries the increments; later ones add nothing. */
export function addFlag(delta: Delta, key: string, field: string, then: Incr[]): void {
  const fields = inner(delta.flags, key);
  if (!fields.has(field)) fields.set(field, then);
}

/** Expire `key` at `at` (unix seconds) unless the batch already gave it a later expiry. */
export function addExpireAt(delta: Delta, key: string, at: number): void {
  delta.expireOnce.delete(key);
  const current = delta.expireAt.get(key);
  if (current === undefined || at > current) delta.expireAt.set(key, at);
}

/**
 * An expiry that is a function of the key alone (see `expireOnce`), set only on a key without one
 * (EXPIREAT NX), as event by event: after a moving one of this batch it is nothing, whichever is
 * later (a batch boundary between the two must not change the expiry).
 */
export function addFixedExpireAt(delta: Delta, key: string, at: number): void {
  if (delta.expireAt.has(key)) return;
  delta.expireOnce.add(key);
  delta.expireAt.set(key, at);
}

export function addOrgKey(delta: Delta, indexKey: string, key: string): void {
  let set = delta.orgKeys.get(indexKey);
  if (!set) {
    set = new Set();
    delta.orgKeys.set(indexKey, set);
  }
  set.add(key);
}

export function addSeen(delta: Delta, seenKey: string, eventId: string): void {
  const list = delta.seen.get(seenKey);
  if (list) list.push(eventId);
  else delta.seen.set(seenKey, [eventId]);
}

export function addPack(delta: Delta, dayKey: string, packed: PackedDay): void {
  delta.pack.set(dayKey, packed);
}

/** What a flags-hash field held before the batch (null: nothing). */
export type StoredField = (key: string, field: string) => string | null;

/** The flags-hash fields resolveFlags and resolveClicks read, per flags key. Pure. */
export function storedFieldsOf(delta: Delta): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const want = (key: string, fields: Iterable<string>): void => {
    let set = out.get(key);
    if (!set) out.set(key, (set = new Set()));
    for (const field of fields) set.add(field);
  };
  for (const [key, byField] of delta.flags) want(key, byField.keys());
  for (const click of delta.clicks) want(click.flags, clickFields(click));
  return out;
}

/**
 * Runs the batch's clicks through the burst rule (click-rule.ts) in Node, from what the email's
 * flags hash held before the batch (`stored`), as the script did with one HGET, HSET and up to a
 * dozen HINCRBYs per click: the increments join the coalesced ones, the burst states and new
 * flags become HSETs, the flags a burst took back HDELs (a field set again after being taken back
 * is only set; HDEL of a field Redis does not hold does nothing). Sound for the same reason as
 * resolveFlags. Returns how many flags are new. Pure.
 */
export function resolveClicks(delta: Delta, stored: StoredField): number {
  if (delta.clicks.length === 0) return 0;
  // flags key -> field -> its value after the clicks so far (null: removed)
  const now = new Map<string, Map<string, string | null>>();
  const get = (key: string, field: string): string | null => {
    const fields = now.get(key);
    return fields?.has(field) ? fields.get(field)! : stored(key, field);
  };
  const put = (key: string, field: string, value: string | null): void => {
    let fields = now.get(key);
    if (!fields) now.set(key, (fields = new Map()));
    fields.set(field, value);
  };
  const store: ClickStore = {
    state: (key, field) => get(key, field) ?? undefined,
    setState: put,
    flag: (key, field) => {
      if (get(key, field) !== null) return false;
      put(key, field, '1');
      return true;
    },
    unflag: (key, field) => put(key, field, null),
    increment: (key, field, by) => addIncr(delta, key, field, by),
  };
  let fresh = 0;
  for (const click of delta.clicks) fresh += applyClick(store, click);
  delta.clicks.length = 0;
  for (const [key, fields] of now) {
    for (const [field, value] of fields) {
      // a removed flag may be one the batch did not read (another link of the burst's second): HDEL it anyway
      if (value !== null) addSet(delta, key, field, value);
      else addDel(delta, key, field);
    }
  }
  return fresh;
}

export function addDel(delta: Delta, key: string, field: string): void {
  let fields = delta.del.get(key);
  if (!fields) delta.del.set(key, (fields = new Set()));
  fields.add(field);
}

/**
 * Decides the batch's first-time flags in Node, from what Redis held before the batch (`stored`):
 * a flag not stored becomes an HSET and its increments join the unconditional ones (coalesced per
 * key/field with everything else), a stored one is dropped with its increments. The script then
 * has no HSETNX and no increment per flag (bench/RESULTS.md, "Fifth session").
 * Only sound when nothing else writes the flags between the read and the apply: a flags hash is
 * the email's, an email is on one partition, and the apply is fenced on the partition's offset.
 * Returns how many flags are new. Pure.
 */
export function resolveFlags(delta: Delta, stored: StoredField): number {
  let fresh = 0;
  for (const [key, byField] of delta.flags) {
    for (const [field, then] of byField) {
      if (stored(key, field) !== null) continue;
      fresh++;
      addSet(delta, key, field, '1');
      for (const [tk, tf, by] of then) addIncr(delta, tk, tf, by);
    }
  }
  delta.flags.clear();
  return fresh;
}
