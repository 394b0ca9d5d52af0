/**
 * `engagement produce FILE.ndjson` without the terminal: first a validation pass over every line
 * (nothing is written if any line is bad), then a second streaming pass that writes. Two passes
 * over the file instead of holding a million events in memory.
 */

import { EngagementError } from '../../core/errors.js';
import { isControlEvent } from '../../schemas/events.js';
import { DEFAULT_MAX_CLOCK_SKEW_MS } from '../../schemas/occurred-at.js';
import type { EventSink } from '../event-sink.js';
import { formatProblem, ndjsonEvents } from './ndjson-lines.js';

export interface FileCheck {
  /** lines holding an event (blank lines excluded) */
  events: number;
  /** `FILE:LINE: message`, one per bad line, in file order */
  problems: string[];
}

export interface ProduceSummary {
  written: number;
  control: number;
  email: number;
}

/** Events awaiting Kafka's ack at once: bounds memory while keeping the producer's batches full. */
export const PRODUCE_WINDOW = 20_000;

export async function checkFile(path: string, maxSkewMs: number = DEFAULT_MAX_CLOCK_SKEW_MS): Promise<FileCheck> {
  const check: FileCheck = { events: 0, problems: [] };
  for await (const { lineNo, result } of ndjsonEvents(path, Date.now, maxSkewMs)) {
    if (result.ok) check.events += 1;
    else check.problems.push(formatProblem(path, lineNo, result.errors));
  }
  return check;
}

export async function produceFile(
  path: string,
  sink: EventSink,
  options: { onProgress?: (written: number) => void; window?: number; maxSkewMs?: number } = {},
): Promise<ProduceSummary> {
  const window = options.window ?? PRODUCE_WINDOW;
  const summary: ProduceSummary = { written: 0, control: 0, email: 0 };
  let pending: Array<Promise<void>> = [];
  const drain = async (): Promise<void> => {
    const batch = pending;
    pending = [];
    await Promise.all(batch);
    summary.written += batch.length;
    options.onProgress?.(summary.written);
  };
  for await (const { lineNo, result } of ndjsonEvents(path, Date.now, options.maxSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS)) {
    if (!result.ok) {
      // The file changed since it was checked: stop rather than write half of it blindly.
      throw new EngagementError('validation_failed', `${formatProblem(path, lineNo, result.errors)} (the file changed after validation)`);
    }
    if (isControlEvent(result.event)) summary.control += 1;
    else summary.email += 1;
    pending.push(sink.send(result.event));
    if (pending.length >= window) await drain();
  }
  await drain();
  return summary;
}
