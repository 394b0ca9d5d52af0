/**
 * The first-time flags (and click-burst states) of emails past the horizon, held in memory for the
 * length of one replay, for its per-batch path. Such an email's flags hash expires in the same
 * script that writes it, since its expiry (send + HISTORY_DAYS) is already past at replay time;
 * but when its interactions happened it was younger, the live run kept its flags, and a
 * recipient's second open or click of it was not first-time. Without this the script would count
 * it again whenever the two fall in different batches. The in-memory fold keeps them the same way
 * (fold-state.ts drop()) and hands them over here when it spills. A held hash that a batch writes
 * again with an expiry to come (an interaction after its email's horizon, folded as one of an
 * unknown email) starts empty, as the live run's did: what was held for it is forgotten.
 *
 * Bounded by the sends the emails topic keeps past the horizon (its 7 days of slack, DESIGN §3).
 * A resumed build starts without them. Pure: no I/O.
 */

import type { Delta, StoredField } from './delta.js';

export class HeldFlags {
  private readonly held = new Map<string, Map<string, string>>();

  /** flags hashes held */
  get size(): number {
    return this.held.size;
  }

  /** Takes over flags a fold held (FoldState.heldFlags()). */
  add(flags: ReadonlyMap<string, ReadonlyMap<string, string>>): void {
    for (const [key, fields] of flags) {
      let held = this.held.get(key);
      if (!held) this.held.set(key, (held = new Map()));
      for (const [field, value] of fields) held.set(field, value);
    }
  }

  /**
   * What Redis holds, and where it holds nothing, what is held here, except for a hash `delta`
   * writes again with an expiry to come (it starts empty).
   */
  over(stored: StoredField, delta: Delta, nowSeconds: number): StoredField {
    if (this.held.size === 0) return stored;
    return (key, field) => stored(key, field) ?? (this.revived(delta, key, nowSeconds) ? null : (this.held.get(key)?.get(field) ?? null));
  }

  /**
   * After `delta` (resolved: its flags are HSETs and HDELs) was applied at `nowSeconds`: of the
   * flags hashes it read (`flagKeys`), one it left already expired keeps its fields here, and
   * one held follows every write.
   */
  keep(delta: Delta, flagKeys: Iterable<string>, nowSeconds: number): void {
    for (const key of flagKeys) {
      let held = this.held.get(key);
      if (held && this.revived(delta, key, nowSeconds)) {
        this.held.delete(key); // Redis holds it again, from what this batch wrote
        continue;
      }
      if (!held) {
        const at = delta.expireAt.get(key);
        if (at === undefined || at > nowSeconds) continue;
        this.held.set(key, (held = new Map()));
      }
      for (const [field, value] of delta.set.get(key) ?? []) held.set(field, value);
      for (const field of delta.del.get(key) ?? []) held.delete(field);
      if (held.size === 0) this.held.delete(key);
    }
  }

  private revived(delta: Delta, key: string, nowSeconds: number): boolean {
    return (delta.expireAt.get(key) ?? 0) > nowSeconds;
  }
}
