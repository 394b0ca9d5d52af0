/**
 * One partition's current cycle in memory: the encoded records of every org/date file of the
 * cycle, all named by the cycle's first offset. Pure bookkeeping, no I/O.
 */

import { blobDate, blobName, cycleStartOf } from './blob-names.js';
import type { EmailEvent } from '../../schemas/events.js';

export interface CycleSnapshot {
  partition: number;
  cycleStart: number;
  /** last offset consumed into this cycle: the files' content is a function of it */
  lastOffset: number;
  files: Map<string, Buffer[]>;
}

export class CycleBuffer {
  cycleStart: number | null = null;
  lastOffset = -1;
  private files = new Map<string, Buffer[]>();

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
    if (list) list.push(encoded);
    else this.files.set(name, [encoded]);
  }

  snapshot(): CycleSnapshot {
    return {
      partition: this.partition,
      cycleStart: this.cycleStart ?? 0,
      lastOffset: this.lastOffset,
      files: new Map([...this.files].map(([name, list]) => [name, [...list]])),
    };
  }

  /** Starts the next cycle empty (after the completed one is uploaded and committed). */
  reset(): void {
    this.cycleStart = null;
    this.lastOffset = -1;
    this.files = new Map();
  }
}
