/**
 * A projection version folded in memory, for a build that starts from nothing (a fresh replay):
 * the fold's per-batch Deltas are merged here with exactly apply-batch.lua's semantics, but the
 * first-time flags, the click bursts (click-rule.ts), the min/max times, the expiries and the seen
 * eventIds are decided in memory instead of by one Redis call per event. `drain()` then hands
 * over what changed since the last drain as final values: one HSET per key written for the first
 * time (counters, meta, flags, first/last open together), HINCRBY only for keys a previous drain
 * already wrote, HDEL for flags a previous drain wrote and a click burst took back since.
 *
 * Valid only while nothing else writes the version (the replay lock and the two-sided offsets
 * fence guarantee it) and only from the version's start: a resumed build has state in Redis this
 * class does not know, and must use the per-batch script (replay/version-builder.ts decides).
 * Pure: no I/O.
 */

import { applyClick, type ClickStore } from './click-rule.js';
import type { Delta, PackedDay } from './delta.js';

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
  /**
   * key -> fields: HDEL, before this drain's HSETs. Flags a previous drain wrote and a click burst
   * removed since; a field set again after its removal is in `set` only, never in both.
   */
  del: Map<string, Set<string>>;
  /** daily rollups written since the last drain, to pack into their month hashes after everything else */
  pack: Map<string, PackedDay>;
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
  /** flags key -> `k:<recipient>` -> the burst rule's state (click-rule.ts) */
  private readonly bursts = new Map<string, Map<string, string>>();
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
  /** the click-burst rule's view of this state (click-rule.ts) */
  private readonly clicks: ClickStore = {
    state: (fk, field) => this.bursts.get(fk)?.get(field),
    setState: (fk, field, value) => this.burstState(fk, field, value),
    flag: (fk, field) => {
      this.touch(fk);
      return this.flag(fk, field);
    },
    unflag: (fk, field) => this.unflag(fk, field),
    increment: (key, field, by) => this.touchIncrement(key, field, by),
  };
  /** pending counters of keys not written yet: they go out as HSET values */
  private fresh = new Map<string, Map<string, number>>();
  /** keys the merge in progress wrote through a flag's increments or the burst rule */
  private touched = new Set<string>();

  private static empty(): DrainedState {
    return { incr: new Map(), set: new Map(), expireAt: new Map(), add: new Map(), seenKeys: new Set(), del: new Map(), pack: new Map() };
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
    // Which keys this batch created (they had no expiry when it wrote them) is asked only in
    // section x, of keys still without one: the keys of the Delta's own sections are written
    // unconditionally, so they are looked up there; only the writes that depend on state (the
    // increments of new flags, the burst rule) are noted as they happen (touch).
    this.touched = new Set<string>();
    this.revive(delta, nowSeconds);
    for (const [key, fields] of delta.incr) {
      // increment() per field, with the key's target map looked up once
      const target = inner(this.written.has(key) ? this.pending.incr : this.fresh, key);
      for (const [field, by] of fields) target.set(field, (target.get(field) ?? 0) + by);
    }
    for (const [key, fields] of delta.set) {
      const target = inner(this.pending.set, key);
      for (const [field, value] of fields) target.set(field, value);
    }
    this.extreme(delta.min, this.min, (a, b) => a < b);
    this.extreme(delta.max, this.max, (a, b) => a > b);
    let newFlags = 0;
    for (const [key, fields] of delta.flags) {
      for (const [field, then] of fields) {
        if (!this.flag(key, field)) continue;
        newFlags++;
        for (const [tk, tf, by] of then) this.touchIncrement(tk, tf, by);
      }
    }
    // the click-burst rule after the flags, as the live projector applies it (click-rule.ts)
    for (const click of delta.clicks) newFlags += applyClick(this.clicks, click);
    for (const [indexKey, keys] of delta.orgKeys) this.addNew(this.indexed, indexKey, keys);
    for (const [day, packed] of delta.pack) this.pending.pack.set(day, packed);
    for (const [seenKey, ids] of delta.seen) {
      this.addNew(this.seen, seenKey, ids);
      this.pending.seenKeys.add(seenKey);
    }
    // apply-batch.lua section x: an expiry only moves later; a key this batch created (it had no
    // expiry) whose expiry is already past is deleted with everything the batch wrote to it.
    // Section y (expireOnce) sets one only on a key without one.
    for (const [key, at] of delta.expireAt) {
      const current = this.expiry.get(key);
      if (current === undefined && !this.created(delta, key)) continue; // no such key: EXPIREAT does nothing
      if (current !== undefined && delta.expireOnce.has(key)) continue; // section y: EXPIREAT NX, the key has one
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

  /**
   * The flags and burst states of flags hashes that were never written (past the horizon, see
   * drop()), for a build that goes on per batch (HeldFlags) after this state is dropped.
   */
  heldFlags(): Map<string, Map<string, string>> {
    const out = new Map<string, Map<string, string>>();
    for (const [key, fields] of this.flags) {
      if (this.expiry.has(key)) continue;
      const held = inner(out, key);
      for (const field of fields) held.set(field, '1');
    }
    for (const [key, fields] of this.bursts) {
      if (this.expiry.has(key)) continue;
      const held = inner(out, key);
      for (const [field, value] of fields) held.set(field, value);
    }
    return out;
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
    return this.fresh.size === 0 && p.set.size === 0 && p.incr.size === 0 && p.expireAt.size === 0 && p.add.size === 0 && p.del.size === 0 && p.pack.size === 0;
  }

  /**
   * A dropped key that this batch writes again with an expiry to come (an interaction after its
   * email's horizon, folded as one of an unknown email: fold.ts) starts empty, as the hash the
   * live run created then: the flags held for it are forgotten first.
   */
  private revive(delta: Delta, nowSeconds: number): void {
    if (this.flags.size === 0 && this.bursts.size === 0) return;
    for (const [key, at] of delta.expireAt) {
      if (at <= nowSeconds || this.expiry.has(key)) continue;
      this.flags.delete(key);
      this.bursts.delete(key);
    }
  }

  /** A key the merge in progress writes besides its Delta's own sections (see merge). */
  private touch(key: string): void {
    this.touched.add(key);
  }

  /** Did the merge in progress write `key` (asked of keys without an expiry: then it created it)? */
  private created(delta: Delta, key: string): boolean {
    return (
      this.touched.has(key) ||
      delta.incr.has(key) ||
      delta.set.has(key) ||
      delta.min.has(key) ||
      delta.max.has(key) ||
      delta.flags.has(key) ||
      delta.orgKeys.has(key)
    );
  }

  /** HSETNX key field 1: true when the flag is new. */
  private flag(key: string, field: string): boolean {
    let known = this.flags.get(key);
    if (!known) this.flags.set(key, (known = new Set()));
    if (known.has(field)) return false;
    known.add(field);
    inner(this.pending.set, key).set(field, '1');
    if (this.pending.del.size === 0) return true; // nothing taken back since the last drain (the usual case)
    const deleted = this.pending.del.get(key);
    if (deleted?.delete(field) && deleted.size === 0) this.pending.del.delete(key);
    return true;
  }

  /** HDEL key field of a flag that is set. */
  private unflag(key: string, field: string): void {
    this.flags.get(key)?.delete(field);
    // not written yet: it simply is not written; written by an earlier drain: deleted by this one
    this.pending.set.get(key)?.delete(field);
    if (!this.written.has(key)) return;
    let deleted = this.pending.del.get(key);
    if (!deleted) this.pending.del.set(key, (deleted = new Set()));
    deleted.add(field);
  }

  /** Set members not held yet: remembered in `known` and queued as SADD members. */
  private addNew(known: Map<string, Set<string>>, key: string, members: Iterable<string>): void {
    let set = known.get(key);
    if (!set) known.set(key, (set = new Set()));
    for (const member of members) {
      if (set.has(member)) continue;
      set.add(member);
      push(this.pending.add, key, member);
    }
  }

  private touchIncrement(key: string, field: string, by: number): void {
    this.touch(key);
    this.increment(key, field, by);
  }

  private burstState(fk: string, field: string, value: string): void {
    this.touch(fk);
    inner(this.bursts, fk).set(field, value);
    inner(this.pending.set, fk).set(field, value);
  }

  private increment(key: string, field: string, by: number): void {
    const target = inner(this.written.has(key) ? this.pending.incr : this.fresh, key);
    target.set(field, (target.get(field) ?? 0) + by);
  }

  private extreme(
    from: Map<string, Map<string, number>>,
    into: Map<string, Map<string, number>>,
    better: (a: number, b: number) => boolean,
  ): void {
    for (const [key, fields] of from) {
      const known = inner(into, key);
      let pending: Map<string, string> | undefined;
      for (const [field, value] of fields) {
        const current = known.get(field);
        if (current !== undefined && !better(value, current)) continue;
        known.set(field, value);
        (pending ??= inner(this.pending.set, key)).set(field, String(value));
      }
    }
  }

  /**
   * Nothing the batch wrote to `key` is written. Its flags and burst states stay known: only an
   * email's flags hash holds them, and one dropped here is past the horizon at replay time, when
   * its interactions were not (the live run kept its flags, so a recipient's later open or click
   * of it was not first-time). Held for the build's length, until the key comes back (revive());
   * bounded by the sends the log keeps past the horizon (its 7 days of slack). See heldFlags().
   */
  private drop(key: string): void {
    this.fresh.delete(key);
    this.pending.set.delete(key);
    this.pending.incr.delete(key);
    this.pending.del.delete(key);
    this.min.delete(key);
    this.max.delete(key);
    this.indexed.delete(key);
    this.pending.add.delete(key);
  }
}
