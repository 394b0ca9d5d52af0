/**
 * One partition's current cycle in memory: the encoded records of every org/date file of the
 * cycle, all named by the cycle's first offset. Pure bookkeeping, no I/O.
 */

import { blobDate, blobName, cycleStartOf, parseBlobName } from './blob-names.js';
import type { EmailEvent } from '../../schemas/events.js';

export interface CycleSnapshot {
  partition: number;
  cycleStart: number;
  /** last offset consumed into this cycle: the files' content is a function of it */
  lastOffset: number;
  files: Map<string, Buffer[]>;
  /** the events of `files`, record for record (an upload gates a purged org's records again) */
  events: Map<string, EmailEvent[]>;
  /**
   * Files to write whole, never extended by a block: those a purge's gate filtered. Gated again
   * at every flush, a file may lose records it was written with and regain others, which the
   * writer's check of its last record cannot see (blob-writer.ts).
   */
  whole?: ReadonlySet<string>;
  /**
   * The completed cycle's upload, after which the next cycle's start is committed: a file the
   * writer would skip as already written is looked at first (storage may have lost it since).
   */
  final?: boolean;
}

export class CycleBuffer {
  cycleStart: number | null = null;
  lastOffset = -1;
  private files = new Map<string, Buffer[]>();
  private events = new Map<string, EmailEvent[]>();

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly cycleOffsets: number,
  ) {}

  /** True when `offset` belongs to a later cycle than the one buffered: the current one is complete. */
  completes(offset: number): boolean {
    return this.cycleStart !== null && cycleStartOf(offset, this.cycleOffsets) !== this.cycleStart;
  }

  /** Records the offset as consumed; `encoded` is absent for records gated out or unreadable. */
  add(offset: number, event?: EmailEvent, encoded?: Buffer): void {
    if (this.cycleStart === null) this.cycleStart = cycleStartOf(offset, this.cycleOffsets);
    this.lastOffset = offset;
    if (!event || !encoded) return;
    const name = blobName({ orgId: event.orgId, date: blobDate(event.occurredAt), topic: this.topic, partition: this.partition, cycleStart: this.cycleStart });
    const list = this.files.get(name);
    if (list) {
      list.push(encoded);
      this.events.get(name)!.push(event);
    } else {
      this.files.set(name, [encoded]);
      this.events.set(name, [event]);
    }
  }

  snapshot(): CycleSnapshot {
    return {
      partition: this.partition,
      cycleStart: this.cycleStart ?? 0,
      lastOffset: this.lastOffset,
      files: new Map([...this.files].map(([name, list]) => [name, [...list]])),
      events: new Map([...this.events].map(([name, list]) => [name, [...list]])),
    };
  }

  /** Starts the next cycle empty (after the completed one is uploaded and committed). */
  reset(): void {
    this.cycleStart = null;
    this.lastOffset = -1;
    this.files = new Map();
    this.events = new Map();
  }
}

/**
 * The snapshot as an upload starting now may write it: the records of an org with a purge are
 * gated again with `keep` (the gate over the history as it is now), so records gated before the
 * lander read the purge never reach storage after it (DESIGN §2: a purge is ordered with the
 * processors). Orgs never purged, the common case, are passed through untouched. Pure.
 */
export function withoutPurged(snapshot: CycleSnapshot, purged: (orgId: string) => boolean, keep: (event: EmailEvent) => boolean): CycleSnapshot {
  let files: Map<string, Buffer[]> | undefined;
  let events: Map<string, EmailEvent[]> | undefined;
  const whole = new Set(snapshot.whole);
  for (const [name, list] of snapshot.events) {
    const orgId = parseBlobName(name)?.orgId;
    if (orgId === undefined || !purged(orgId)) continue;
    files ??= new Map(snapshot.files);
    events ??= new Map(snapshot.events);
    whole.add(name);
    const buffers = snapshot.files.get(name)!;
    const kept = list.flatMap((event, i) => (keep(event) ? [i] : []));
    if (kept.length === 0) {
      files.delete(name);
      events.delete(name);
    } else if (kept.length < list.length) {
      files.set(name, kept.map((i) => buffers[i]!));
      events.set(name, kept.map((i) => list[i]!));
    }
  }
  return files && events ? { ...snapshot, files, events, whole } : snapshot;
}

/**
 * `snapshot` without the files dated before `oldestKept` (oldestKeptBlobDate): a cycle stays open
 * until it fills, on a quiet partition for longer than the landing zone keeps blobs, and a lander
 * restarted reads it again from its start and would write back the files retention deleted. Pure.
 */
export function withoutExpired(snapshot: CycleSnapshot, oldestKept: string): CycleSnapshot {
  let files: Map<string, Buffer[]> | undefined;
  let events: Map<string, EmailEvent[]> | undefined;
  for (const name of snapshot.files.keys()) {
    const date = parseBlobName(name)?.date;
    if (date === undefined || date >= oldestKept) continue;
    files ??= new Map(snapshot.files);
    events ??= new Map(snapshot.events);
    files.delete(name);
    events.delete(name);
  }
  return files && events ? { ...snapshot, files, events } : snapshot;
}
