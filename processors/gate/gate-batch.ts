import type { EmailEvent } from '../../schemas/events.js';
import type { ControlHistory } from './control-history.js';
import { gate, type GateReason } from './decide.js';

/**
 * Splits decoded events into the collected ones and a count of rejections by reason; `refused`
 * holds each rejected record with its reason, in order (for a caller that counts part of a batch). Pure.
 */
export function gateBatch<T extends { event: EmailEvent }>(
  records: readonly T[],
  history: ControlHistory,
): { collected: T[]; rejected: Map<GateReason, number>; refused: Array<{ record: T; reason: GateReason }> } {
  const collected: T[] = [];
  const rejected = new Map<GateReason, number>();
  const refused: Array<{ record: T; reason: GateReason }> = [];
  for (const record of records) {
    const decision = gate(record.event, history);
    if (decision.collect) collected.push(record);
    else {
      rejected.set(decision.reason, (rejected.get(decision.reason) ?? 0) + 1);
      refused.push({ record, reason: decision.reason });
    }
  }
  return { collected, rejected, refused };
}
