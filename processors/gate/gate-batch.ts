import type { EmailEvent } from '../../schemas/events.js';
import type { ControlHistory } from './control-history.js';
import { gate, type GateReason } from './decide.js';

export interface Refused<T> {
  record: T;
  reason: GateReason;
}

/** Splits decoded events into the collected ones and the refused ones with their reasons, in order. Pure. */
export function gateBatch<T extends { event: EmailEvent }>(records: readonly T[], history: ControlHistory): { collected: T[]; refused: Array<Refused<T>> } {
  const collected: T[] = [];
  const refused: Array<Refused<T>> = [];
  for (const record of records) {
    const decision = gate(record.event, history);
    if (decision.collect) collected.push(record);
    else refused.push({ record, reason: decision.reason });
  }
  return { collected, refused };
}

/** How many of `refused` (those `counted`, all by default) each reason refused. Pure. */
export function refusedByReason<T>(refused: ReadonlyArray<Refused<T>>, counted: (record: T) => boolean = () => true): Map<GateReason, number> {
  const counts = new Map<GateReason, number>();
  for (const { record, reason } of refused) if (counted(record)) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  return counts;
}
