import type { EmailEvent } from '../../schemas/events.js';
import type { ControlHistory } from './control-history.js';
import { gate, type GateReason } from './decide.js';

/** Splits decoded events into the collected ones and a count of rejections by reason. Pure. */
export function gateBatch<T extends { event: EmailEvent }>(
  records: readonly T[],
  history: ControlHistory,
): { collected: T[]; rejected: Map<GateReason, number> } {
  const collected: T[] = [];
  const rejected = new Map<GateReason, number>();
  for (const record of records) {
    const decision = gate(record.event, history);
    if (decision.collect) collected.push(record);
    else rejected.set(decision.reason, (rejected.get(decision.reason) ?? 0) + 1);
  }
  return { collected, rejected };
}
