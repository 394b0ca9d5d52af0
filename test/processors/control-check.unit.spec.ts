import { describe, expect, it } from 'vitest';
import { controlCheckCovers, type ControlCheck } from '../../processors/control/control-reader.js';
import { newestTime } from '../../processors/projector/project-batch.js';
import type { DecodedRecord } from '../../processors/decode-records.js';
import type { KafkaMessage } from 'kafkajs';

const T = Date.UTC(2026, 0, 10, 12);
const MARGIN = 5_000;
const check = (startedAt: number): ControlCheck => ({ startedAt, targets: new Map([[0, 10]]) });

describe('control catch-up shortcut: a previous end-offset check covers a batch', () => {
  it('covers a batch whose newest event is older than the check start minus the margin', () => {
    expect(controlCheckCovers(check(T), true, T - MARGIN - 1, MARGIN)).toBe(true);
  });
  it('does not cover when the newest event is within the margin of the check start (or after it)', () => {
    expect(controlCheckCovers(check(T), true, T - MARGIN, MARGIN)).toBe(false);
    expect(controlCheckCovers(check(T), true, T - 1, MARGIN)).toBe(false);
    expect(controlCheckCovers(check(T), true, T + 60_000, MARGIN)).toBe(false);
  });
  it('does not cover while the history has not read up to that check’s end offsets', () => {
    expect(controlCheckCovers(check(T), false, T - 3_600_000, MARGIN)).toBe(false);
  });
  it('does not cover without any previous check, or for a batch without a usable time', () => {
    expect(controlCheckCovers(undefined, true, T - 3_600_000, MARGIN)).toBe(false);
    expect(controlCheckCovers(check(T), true, -Infinity, MARGIN)).toBe(false);
    expect(controlCheckCovers(check(T), true, Number.NaN, MARGIN)).toBe(false);
  });
  it('a zero margin still needs the check to start strictly after the newest event', () => {
    expect(controlCheckCovers(check(T), true, T, 0)).toBe(false);
    expect(controlCheckCovers(check(T), true, T - 1, 0)).toBe(true);
  });
});

describe('newestTime: what the shortcut compares', () => {
  const msg = (ts: number): KafkaMessage => ({ offset: '0', timestamp: String(ts), key: null, value: null, attributes: 0, headers: {} }) as unknown as KafkaMessage;
  const ev = (at: number): DecodedRecord => ({ offset: 0, event: { occurredAt: at } }) as unknown as DecodedRecord;
  it('takes the larger of every occurredAt and every record timestamp', () => {
    expect(newestTime([msg(T - 10), msg(T - 20)], [ev(T - 5)])).toBe(T - 5);
    expect(newestTime([msg(T + 7)], [ev(T - 5), ev(T)])).toBe(T + 7);
  });
  it('is -Infinity for nothing (then the reader checks the end offsets)', () => {
    expect(newestTime([], [])).toBe(-Infinity);
  });
});
