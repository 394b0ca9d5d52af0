/**
 * A projection version folded in memory, for a build that starts from nothing (a fresh replay):
 * the fold's per-batch Deltas are merged here with exactly apply-batch.lua's semantics, but the
 * first-time flags, the min/max times, the expiries and the seen eventIds are decided in memory
 * instead of by one Redis call per event. `drain()` then hands over what changed since the last
 * drain as final values: one HSET per key written for the first time (counters, meta, flags,
 * first/last open together), HINCRBY only for keys a previous drain already wrote.
 *
 * Valid only while nothing else writes the version (the replay lock and the two-sided offsets
 * fence guarantee it) and only from the version's start: a resumed build has state in Redis this
 * class does not know, and must use the per-batch script (replay/version-builder.ts decides).
 * Pure: no I/O.
 */

import type { Delta } from './delta.js';

export interface DrainedState {
  /** key -> field -> increment: keys a previous drain wrote (HINCRBY) */
  incr: Map<string, Map<string, number>>;
  /** key -> field -> value: HSET; for a key written for the first time it holds every field */
  set: Map<string, Map<string, string>>;
  /** key -> unix seconds: EXPIREAT (the latest of every event so far: only ever later) */
  expireAt: Map<string, number>;
  /** set key -> new members (org key indexes, seen eventIds) */
  add: Map<string, string[]>;
  /** seen sets touched: EXPIRE with the dedup window */
  seenKeys: Set<string>;
}

function inner<V>(outer: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let map = outer.get(key);
  if (!map) outer.set(key, (map = new Map()));
  return map;
}

function push(outer: Map<string, string[]>, key: string, member: string): void {
  const list = outer.get(key);
  if (list) list.push(member);
  else outer.set(key, [member]);
}

export class FoldState {
  /** every flag set so far, per flags key */
  private readonly flags = new Map<string, Set<string>>();
  private readonly min = new Map<string, Map<string, number>>();
  private readonly max = new Map<string, Map<string, number>>();
  /** every key's expiry so far (unix seconds); a key without one here does not exist */
  private readonly expiry = new Map<string, number>();
  /** org index key -> the keys it lists */
  private readonly indexed = new Map<string, Set<string>>();
  /** seen key -> eventIds folded */
  private readonly seen = new Map<string, Set<string>>();
  /** keys a drain has written */
  private readonly written = new Set<string>();
  private pending: DrainedState = FoldState.empty();
  /** pending counters of keys not written yet: they go out as HSET values */
  private fresh = new Map<string, Map<string, number>>();

  private static empty(): DrainedState {
    return { incr: new Map(), set: new Map(), expireAt: new Map(), add: new Map(), seenKeys: new Set() };
  }

  /** Was this eventId folded already (its seen set is `seenKey`, the event's day)? */
  hasSeen(seenKey: string, eventId: string): boolean {
    return this.seen.get(seenKey)?.has(eventId) ?? false;
  }

  /**
   * Merges one batch's Delta as apply-batch.lua would apply it on top of everything merged so
   * far, at `nowSeconds` (a key created by this batch whose newest expiry is already past is
   * deleted by the script: here its state is dropped). Returns the number of new flags.
   */
  merge(delta: Delta, nowSeconds: number): number {
    const created = new Set<string>();
    const touch = (key: string): void => {
      if (!this.expiry.has(key)) created.add(key);
    };
    for (const [key, fields] of delta.incr) {
      touch(key);
      for (const [field, by] of fields) this.increment(key, field, by);
    }
    for (const [key, fields] of delta.set) {
      touch(key);
      const target = inner(this.pending.set, key);
      for (const [field, value] of fields) target.set(field, value);
    }
    this.extreme(delta.min, this.min, (a, b) => a < b, touch);
    this.extreme(delta.max, this.max, (a, b) => a > b, touch);
    let newFlags = 0;
    for (const [key, fields] of delta.flags) {
      touch(key);
      let known = this.flags.get(key);
      if (!known) this.flags.set(key, (known = new Set()));
      for (const [field, then] of fields) {
        if (known.has(field)) continue;
        known.add(field);
        newFlags++;
        inner(this.pending.set, key).set(field, '1');
        for (const [tk, tf, by] of then) {
          touch(tk);
          this.increment(tk, tf, by);
        }
      }
    }
    for (const [indexKey, keys] of delta.orgKeys) {
      touch(indexKey);
      let listed = this.indexed.get(indexKey);
      if (!listed) this.indexed.set(indexKey, (listed = new Set()));
      for (const key of keys) {
        if (listed.has(key)) continue;
        listed.add(key);
        push(this.pending.add, indexKey, key);
      }
    }
    for (const [seenKey, ids] of delta.seen) {
      let set = this.seen.get(seenKey);
      if (!set) this.seen.set(seenKey, (set = new Set()));
      for (const id of ids) {
        if (set.has(id)) continue;
        set.add(id);
        push(this.pending.add, seenKey, id);
      }
      this.pending.seenKeys.add(seenKey);
    }
    // apply-batch.lua section x: an expiry only moves later; a key this batch created (it had no
    // expiry) whose expiry is already past is deleted with everything the batch wrote to it.
    for (const [key, at] of delta.expireAt) {
      const current = this.expiry.get(key);
      if (current === undefined && !created.has(key)) continue; // no such key: EXPIREAT does nothing
      if (current === undefined && at <= nowSeconds) {
        this.drop(key);
        continue;
      }
      if (current === undefined || at > current) {
        this.expiry.set(key, at);
        this.pending.expireAt.set(key, at);
      }
    }
    return newFlags;
  }

  /** What changed since the last drain, as final values; the caller writes it (atomically, with its offsets). */
  drain(): DrainedState {
    const out = this.pending;
    for (const [key, fields] of this.fresh) {
      const target = inner(out.set, key);
      for (const [field, value] of fields) target.set(field, String(value));
    }
    for (const key of out.set.keys()) this.written.add(key);
    for (const key of out.incr.keys()) this.written.add(key);
    this.pending = FoldState.empty();
    this.fresh = new Map();
    return out;
  }

  /** Nothing merged since the last drain. */
  get idle(): boolean {
    const p = this.pending;
    return this.fresh.size === 0 && p.set.size === 0 && p.incr.size === 0 && p.expireAt.size === 0 && p.add.size === 0;
  }

  private increment(key: string, field: string, by: number): void {
    const target = inner(this.written.has(key) ? this.pending.incr : this.fresh, key);
    target.set(field, (target.get(field) ?? 0) + by);
  }

  private extreme(
    from: Map<string, Map<string, number>>,
    into: Map<string, Map<string, number>>,
    better: (a: number, b: number) => boolean,
    touch: (key: string) => void,
  ): void {
    for (const [key, fields] of from) {
      touch(key);
      const known = inner(into, key);
      for (const [field, value] of fields) {
        const current = known.get(field);
        if (current !== undefined && !better(value, current)) continue;
        known.set(field, value);
        inner(this.pending.set, key).set(field, String(value));
      }
    }
  }

  private drop(key: string): void {
    this.fresh.delete(key);
    this.pending.set.delete(key);
    this.pending.incr.delete(key);
    this.flags.delete(key);
    this.min.delete(key);
    this.max.delete(key);
    this.indexed.delete(key);
    this.pending.add.delete(key);
  }
}
