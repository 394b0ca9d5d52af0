import type { Delta } from '../../processors/projector/delta.js';

/**
 * Pure: turns a Delta into the KEYS and ARGV of apply-batch.lua. Every key is declared once in
 * KEYS (cluster-correct: they share the version's hash tag) and the payload refers to keys by
 * their 1-based KEYS index, which keeps the payload small.
 */
export interface BatchPosition {
  offsetsKey: string;
  partition: number;
  firstOffset: number;
  nextOffset: number;
}

export interface ApplyArgs {
  keys: string[];
  argv: string[];
}

export const SEEN_TTL_SECONDS = 8 * 86_400;
/** Lua's unpack() has a stack limit; SADD members go in chunks below it. */
const SADD_CHUNK = 1000;

type Op = [number, string, number | string];

export function buildApplyArgs(delta: Delta, position: BatchPosition): ApplyArgs {
  const keys = [position.offsetsKey];
  const index = new Map<string, number>();
  const k = (key: string): number => {
    let i = index.get(key);
    if (i === undefined) {
      keys.push(key);
      i = keys.length;
      index.set(key, i);
    }
    return i;
  };
  const flat = <V>(map: Map<string, Map<string, V>>, value: (v: V) => number | string): Op[] => {
    const out: Op[] = [];
    for (const [key, fields] of map) for (const [field, v] of fields) out.push([k(key), field, value(v)]);
    return out;
  };

  const payload = {
    i: flat(delta.incr, (by) => by),
    s: flat(delta.set, (v) => v),
    lo: flat(delta.min, (v) => String(v)),
    hi: flat(delta.max, (v) => String(v)),
    f: [] as Array<[number, string, Op[]]>,
    a: [] as Array<[number, string[]]>,
    x: [] as Array<[number, number]>,
    e: [] as Array<[number, number]>,
  };
  for (const [key, fields] of delta.flags) {
    for (const [field, then] of fields) payload.f.push([k(key), field, then.map(([tk, tf, by]) => [k(tk), tf, by] as Op)]);
  }
  const sadd = (key: string, members: readonly string[]): void => {
    for (let at = 0; at < members.length; at += SADD_CHUNK) payload.a.push([k(key), members.slice(at, at + SADD_CHUNK)]);
  };
  for (const [key, members] of delta.orgKeys) sadd(key, [...members]);
  for (const [key, ids] of delta.seen) {
    sadd(key, ids);
    payload.e.push([k(key), SEEN_TTL_SECONDS]);
  }
  for (const [key, at] of delta.expireAt) payload.x.push([k(key), at]);

  return {
    keys,
    argv: [String(position.partition), String(position.firstOffset), String(position.nextOffset), JSON.stringify(payload)],
  };
}
