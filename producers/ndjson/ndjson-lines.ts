/**
 * Streams an NDJSON file line by line (never the whole file in memory), skipping blank lines,
 * and turns each into a validated event or a `FILE:LINE: message` problem.
 */

import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { EngagementError } from '../../core/errors.js';
import { DEFAULT_MAX_CLOCK_SKEW_MS } from '../../schemas/occurred-at.js';
import { reservedEventProblem } from '../../schemas/events.js';
import { validateEvent, type ValidationResult } from '../../schemas/validate.js';

export interface NdjsonLine {
  lineNo: number;
  result: ValidationResult | { ok: false; errors: Array<{ path: string; message: string }> };
}

/** Each line is validated against `nowMs()` as the receiving clock, with `maxSkewMs` as MAX_CLOCK_SKEW_SECONDS. */
export async function* ndjsonEvents(
  path: string,
  nowMs: () => number = Date.now,
  maxSkewMs: number = DEFAULT_MAX_CLOCK_SKEW_MS,
): AsyncGenerator<NdjsonLine> {
  await access(path).catch((cause: unknown) => {
    throw new EngagementError('not_found', `${path}: cannot read the file (${(cause as Error).message})`, { cause });
  });
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const text of lines) {
    lineNo += 1;
    if (text.trim() === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      yield { lineNo, result: { ok: false, errors: [{ path: '', message: `invalid JSON: ${(error as Error).message}` }] } };
      continue;
    }
    const result = validateEvent(json, nowMs(), maxSkewMs);
    // the same events /v1/events refuses: a file must not bypass the purge or the fail-closed control stream
    const reserved = result.ok ? reservedEventProblem(result.event.type, '`engagement produce`') : null;
    yield { lineNo, result: reserved ? { ok: false, errors: [{ path: 'type', message: reserved }] } : result };
  }
}

export function formatProblem(path: string, lineNo: number, errors: ReadonlyArray<{ path: string; message: string }>): string {
  const detail = errors.map((e) => (e.path === '' ? e.message : `${e.path}: ${e.message}`)).join('; ');
  return `${path}:${lineNo}: ${detail}`;
}
