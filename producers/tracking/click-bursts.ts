/**
 * Remembers, per email and recipient, which targets were clicked in the latest second, to spot
 * link scanners that open every link of a mail at once. Bounded LRU: memory stays flat however
 * many emails are tracked; forgetting an old entry only means a later burst starts fresh.
 * One instance per process — a burst split across instances goes unnoticed, which is acceptable
 * for a heuristic.
 */

export const CLICK_BURST_DEFAULTS = { maxEntries: 50_000 } as const;

interface Entry {
  second: number;
  targets: Set<string>;
}

export class ClickBursts {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries: number = CLICK_BURST_DEFAULTS.maxEntries) {}

  /** Records a click and answers whether a different target was clicked in the same second. */
  record(emailKey: string, contactId: string, targetId: string, nowMs: number): boolean {
    const key = `${emailKey}\u0000${contactId}`;
    const second = Math.floor(nowMs / 1000);
    const previous = this.entries.get(key);
    this.entries.delete(key);
    let burst = false;
    let entry: Entry;
    if (previous && previous.second === second) {
      burst = [...previous.targets].some((t) => t !== targetId);
      previous.targets.add(targetId);
      entry = previous;
    } else {
      entry = { second, targets: new Set([targetId]) };
    }
    this.entries.set(key, entry);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    return burst;
  }

  get size(): number {
    return this.entries.size;
  }
}
