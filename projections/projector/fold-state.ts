/**
 * A projection version folded in memory, for a build that starts from nothing (a fresh replay):
 * the fold's per-batch Deltas are merged here with exactly apply-batch.lua's semantics, but the
 * first-time flags, the click bursts (section k), the min/max times, the expiries and the seen
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

import type { BurstClick, Delta, PackedDay } from './delta.js';

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
  /** flags key -> `k:<recipient>` -> the burst rule's state, byte for byte what apply-batch.lua writes */
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
    // apply-batch.lua section k, after the flags (it reads and removes flags they may have set)
    for (const click of delta.clicks) newFlags += this.click(click);
    for (const [indexKey, keys] of delta.orgKeys) this.addNew(this.indexed, indexKey, keys);
    for (const [day, packed] of delta.pack) this.pending.pack.set(day, packed);
    for (const [seenKey, ids] of delta.seen) {
      this.addNew(this.seen, seenKey, ids);
      this.pending.seenKeys.add(seenKey);
    }
    // apply-batch.lua section x: an expiry only moves later; a key this batch created (it had no
    // expiry) whose expiry is already past is deleted with everything the batch wrote to it.
    for (const [key, at] of delta.expireAt) {
      const current = this.expiry.get(key);
      if (current === undefined && !this.created(delta, key)) continue; // no such key: EXPIREAT does nothing
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
    return this.fresh.size === 0 && p.set.size === 0 && p.incr.size === 0 && p.expireAt.size === 0 && p.add.size === 0 && p.del.size === 0 && p.pack.size === 0;
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

  /**
   * One click through the burst rule: apply-batch.lua section k, statement for statement (the
   * state string, its parsing and every increment). Returns the number of new flags.
   * Its steps are methods, not closures: a closure per click was a measurable share of a replay.
   */
  private click(click: BurstClick): number {
    const { flags: fk, email: ek, contactDay: cdk, recipient: c, link, rollups: ups } = click;
    const second = String(click.second);
    const field = `k:${c}`;
    const raw = this.bursts.get(fk)?.get(field);
    // Lua's gmatch('([^\n]*)\n'): every piece followed by a newline; text after the last one is not a part
    const parts = raw === undefined ? [] : raw.split('\n').slice(0, -1);
    let newFlags = 0;
    if (parts[0] === second && parts[1] === 'b') {
      this.machineClick(ek, ups);
    } else if (parts[0] === second) {
      let other = false;
      for (let i = 3; i < parts.length; i += 3) if (parts[i] !== link) other = true;
      if (other) {
        // the burst is recognised: what this second counted as a person's becomes a machine's
        for (let i = 3; i < parts.length; i += 3) {
          const l = parts[i]!;
          const count = Number(parts[i + 1]);
          this.touchIncrement(ek, 'clicks', -count);
          this.touchIncrement(ek, `lc:${l}`, -count);
          this.touchIncrement(ek, 'machineClicks', count);
          for (const up of ups) {
            this.touchIncrement(up, 'clicks', -count);
            this.touchIncrement(up, 'machineClicks', count);
          }
          if (parts[i + 2] === '1') {
            this.unflag(fk, `c:${l}:${c}`);
            this.touchIncrement(ek, `lu:${l}`, -1);
          }
        }
        if (parts[2] === '1') {
          this.unflag(fk, `c:${c}`);
          this.touchIncrement(ek, 'uniqueClicks', -1);
          for (const up of ups) this.touchIncrement(up, 'uniqueClicks', -1);
          this.touchIncrement(cdk, 'clicked', -1);
        }
        this.machineClick(ek, ups);
        this.burstState(fk, field, `${second}\nb\n0\n`);
      } else {
        // the same link again within the second (a double click): still a person's
        const person = this.personClick(click);
        newFlags += person.newFlags;
        parts[2] = parts[2] === '1' || person.u === 1 ? '1' : '0';
        for (let i = 3; i < parts.length; i += 3) {
          if (parts[i] !== link) continue;
          parts[i + 1] = String(Number(parts[i + 1]) + 1);
          if (person.lu === 1) parts[i + 2] = '1';
        }
        this.burstState(fk, field, `${parts.join('\n')}\n`);
      }
    } else {
      const person = this.personClick(click);
      newFlags += person.newFlags;
      this.burstState(fk, field, `${second}\nh\n${person.u}\n${link}\n1\n${person.lu}\n`);
    }
    return newFlags;
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

  private machineClick(ek: string, ups: readonly string[]): void {
    this.touchIncrement(ek, 'machineClicks', 1);
    for (const up of ups) this.touchIncrement(up, 'machineClicks', 1);
  }

  /** A person's click: its counters and first-time flags (u: the recipient's first click of the email, lu: of the link). */
  private personClick(click: BurstClick): { u: number; lu: number; newFlags: number } {
    const { flags: fk, email: ek, contactDay: cdk, recipient: c, link, rollups: ups } = click;
    this.touchIncrement(ek, 'clicks', 1);
    this.touchIncrement(ek, `lc:${link}`, 1);
    for (const up of ups) this.touchIncrement(up, 'clicks', 1);
    let u = 0;
    let lu = 0;
    let newFlags = 0;
    this.touch(fk);
    if (this.flag(fk, `c:${c}`)) {
      newFlags++;
      u = 1;
      this.touchIncrement(ek, 'uniqueClicks', 1);
      for (const up of ups) this.touchIncrement(up, 'uniqueClicks', 1);
      this.touchIncrement(cdk, 'clicked', 1);
    }
    if (this.flag(fk, `c:${link}:${c}`)) {
      newFlags++;
      lu = 1;
      this.touchIncrement(ek, `lu:${link}`, 1);
    }
    return { u, lu, newFlags };
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

  private drop(key: string): void {
    this.fresh.delete(key);
    this.pending.set.delete(key);
    this.pending.incr.delete(key);
    this.flags.delete(key);
    this.bursts.delete(key);
    this.pending.del.delete(key);
    this.min.delete(key);
    this.max.delete(key);
    this.indexed.delete(key);
    this.pending.add.delete(key);
  }
}
