/**
 * Pure: turns a Delta into the KEYS and ARGV of apply-batch.lua. Every key is declared once in
 * KEYS (cluster-correct: they share the version's hash tag) and the payload refers to keys by
 * their 1-based KEYS index, which keeps the payload small.
 */

import { EngagementError } from '../../core/errors.js';
import { CONTACT_DAY_FIELDS, ROLLUP_FIELDS } from '../keys.js';
import type { Delta } from './delta.js';

export interface BatchPosition {
  offsetsKey: string;
  partition: number;
  firstOffset: number;
  nextOffset: number;
  /**
   * Where the version's offsets start when none is stored for the partition (the log start for a
   * live version, the replay's start offset for a build): the batch must start exactly there.
   */
  expectedStart: number;
  /**
   * The live projector's pointer fence: write only while `currentVersionKey` still names
   * `version` and no replay holds the projection (`holdKey`) to switch it.
   */
  follow?: { currentVersionKey: string; holdKey: string; version: number };
  /**
   * The purge fence: for every org the batch writes, the purgedAt its gate knew (-1 for none).
   * The batch is refused when `key` (P:purge:fence) holds a later purge of one of them.
   */
  fence?: { key: string; orgs: ReadonlyMap<string, number> };
}

export interface ApplyArgs {
  keys: string[];
  argv: string[];
}

export const SEEN_TTL_SECONDS = 8 * 86_400;
/** Lua's unpack() has a stack limit; SADD and HDEL members go in chunks below it. */
const SADD_CHUNK = 1000;
const HSET_CHUNK = 500;

/** Section p's header (pack-rollup.lua): the fields packed for an 'r' entry, then for a 'c' one. */
export const PACK_HEADER: readonly string[] = [String(ROLLUP_FIELDS.length), ...ROLLUP_FIELDS, String(CONTACT_DAY_FIELDS.length), ...CONTACT_DAY_FIELDS];

export function buildApplyArgs(delta: Delta, position: BatchPosition): ApplyArgs {
  const keys = position.follow ? [position.offsetsKey, position.follow.currentVersionKey, position.follow.holdKey] : [position.offsetsKey];
  const fence: string[] = [];
  if (position.fence && position.fence.orgs.size > 0) {
    keys.push(position.fence.key);
    fence.push(`${keys.length} ${position.fence.orgs.size}`);
    for (const [orgId, known] of position.fence.orgs) fence.push(orgId, String(known));
  } else {
    fence.push('');
  }
  // key -> its 1-based KEYS index, as the ARGV string (made once per key, not once per use)
  const index = new Map<string, string>();
  const k = (key: string): string => {
    let i = index.get(key);
    if (i === undefined) {
      keys.push(key);
      i = String(keys.length);
      index.set(key, i);
    }
    return i;
  };
  // Flat ARGV sections (see apply-batch.lua): no JSON, so the script creates no tables per op —
  // cjson.decode of a JSON payload was the largest part of the script's time.
  const ops: string[] = [];
  if (delta.flags.size > 0 || delta.clicks.length > 0) {
    // decided from what Redis held before the batch (delta.ts resolveFlags, resolveClicks)
    throw new EngagementError('internal', 'apply-batch: first-time flags and clicks must be resolved before the script');
  }
  const counts = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const fields = <V>(section: number, map: Map<string, Map<string, V>>): void => {
    for (const [key, byField] of map) {
      const i = k(key);
      for (const [field, v] of byField) ops.push(i, field, String(v));
      counts[section]! += byField.size;
    }
  };
  fields(0, delta.incr);
  // HSET takes many fields: one entry per key (in chunks), not one per field.
  for (const [key, byField] of delta.set) {
    const i = k(key);
    let n = 0;
    let countAt = -1;
    for (const [field, value] of byField) {
      if (n % HSET_CHUNK === 0) {
        if (countAt >= 0) ops[countAt] = String(HSET_CHUNK);
        ops.push(i, '');
        countAt = ops.length - 1;
        counts[1]!++;
      }
      ops.push(field, value);
      n++;
    }
    if (countAt >= 0) ops[countAt] = String(n % HSET_CHUNK || HSET_CHUNK);
  }
  fields(2, delta.min);
  fields(3, delta.max);
  // HDEL and SADD: `k n member*n`, in chunks below Lua's unpack() limit
  const members = (section: number, key: string, list: readonly string[]): void => {
    const i = k(key);
    for (let at = 0; at < list.length; at += SADD_CHUNK) {
      const chunk = list.slice(at, at + SADD_CHUNK);
      ops.push(i, String(chunk.length), ...chunk);
      counts[section]!++;
    }
  };
  for (const [key, removed] of delta.del) members(4, key, [...removed]);
  for (const [key, keys] of delta.orgKeys) members(5, key, [...keys]);
  for (const [key, ids] of delta.seen) members(5, key, ids);
  const once: string[] = [];
  for (const [key, at] of delta.expireAt) {
    if (delta.expireOnce.has(key)) {
      once.push(k(key), String(at));
      counts[7]!++;
    } else {
      ops.push(k(key), String(at));
      counts[6]!++;
    }
  }
  ops.push(...once);
  for (const key of delta.seen.keys()) {
    ops.push(k(key), String(SEEN_TTL_SECONDS));
    counts[8]!++;
  }
  ops.push(...PACK_HEADER);
  for (const [day, { month, field, expireAt, kind, index: orgIndex }] of delta.pack) {
    ops.push(k(day), k(month), field, String(expireAt), kind, k(orgIndex));
    counts[9]!++;
  }

  return {
    keys,
    argv: [
      String(position.partition),
      String(position.firstOffset),
      String(position.nextOffset),
      counts.join(' '),
      position.follow ? String(position.follow.version) : '',
      String(position.expectedStart),
      ...fence,
      ...ops,
    ],
  };
}
