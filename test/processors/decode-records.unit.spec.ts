import type { KafkaMessage } from 'kafkajs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeRecords } from '../../processors/decode-records.js';
import { EventCodec } from '../../schemas/codec.js';
import type { EmailEvent } from '../../schemas/events.js';
import { fixture } from '../support/fixtures.js';

const codec = new EventCodec();
const PRODUCED = Date.UTC(2026, 10, 25, 12);
const DAY = 86_400_000;

function record(offset: number, event: EmailEvent, timestamp = PRODUCED): KafkaMessage {
  return { key: null, value: codec.encode(event), timestamp: String(timestamp), attributes: 0, offset: String(offset), headers: {} } as unknown as KafkaMessage;
}

/** a record stamped an hour ahead of its own timestamp, a 30-day backfill, one at the skew limit, one before 2000 */
const log = [
  record(0, fixture('EmailOpened', { occurredAt: PRODUCED + 3_600_000 })),
  record(1, fixture('EmailOpened', { occurredAt: PRODUCED - 30 * DAY })),
  record(2, fixture('EmailOpened', { occurredAt: PRODUCED + 300_000 })),
  record(3, fixture('EmailOpened', { occurredAt: Date.UTC(1999, 11, 31) })),
];

const verdict = (maxSkewMs?: number) => {
  const { events, rejected } = decodeRecords(log, codec, maxSkewMs);
  return { accepted: events.map((e) => e.offset), rejected: rejected.map((r) => [r.offset, r.error.code, r.error.message]) };
};

describe('decodeRecords: the verdict depends on the record alone, never on the processor clock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('dead-letters an occurredAt more than MAX_CLOCK_SKEW_SECONDS after the record timestamp, and one before 2000', () => {
    expect(verdict()).toEqual({
      accepted: [1, 2],
      rejected: [
        [0, 'validation_failed', "occurredAt is 3600 s ahead of the record's timestamp: at most 300 s (MAX_CLOCK_SKEW_SECONDS) is accepted"],
        [3, 'validation_failed', 'occurredAt must be a time on or after 2000-01-01'],
      ],
    });
  });

  it('gives the same verdict live (clock at the produce time) as in a replay a year later or with a skewed clock', () => {
    const at = (now: number) => {
      vi.useFakeTimers({ now, toFake: ['Date'] });
      try {
        return verdict();
      } finally {
        vi.useRealTimers();
      }
    };
    const live = at(PRODUCED + 50);
    expect(at(PRODUCED + 365 * DAY)).toEqual(live);
    expect(at(PRODUCED - 2 * DAY)).toEqual(live);
    expect(at(PRODUCED + 3_600_000)).toEqual(live); // the future-stamped record's own time has come: still refused
  });

  it('takes the configured skew', () => {
    expect(verdict(2 * 3_600_000).accepted).toEqual([0, 1, 2]);
    expect(verdict(0).accepted).toEqual([1]);
  });
});
