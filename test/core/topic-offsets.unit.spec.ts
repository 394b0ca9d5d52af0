import { KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, type Admin } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { EngagementError, isEngagementError } from '../../core/errors.js';
import { kafkaError, SETTLE_RETRY } from '../../core/kafka.js';
import { endsOf, nonEmptyEndsOf, readOffsetsAtTime, readTopicOffsets, startsOf } from '../../core/topic-offsets.js';

/** What the broker answers ListOffsets for a partition whose leadership has not settled yet. */
const notLeader = (): KafkaJSProtocolError =>
  new KafkaJSProtocolError(Object.assign(new Error('This server is not the leader for that topic-partition'), { type: 'NOT_LEADER_FOR_PARTITION', code: 6, retriable: true }));

type Answer = Array<{ partition: number; offset: string; high: string; low: string }>;
const ANSWER: Answer = [
  { partition: 0, offset: '5', high: '5', low: '2' },
  { partition: 1, offset: '0', high: '0', low: '0' },
];

/** An admin whose fetchTopicOffsets throws each of `failures` in turn, then answers. */
function admin(failures: unknown[]): { admin: Pick<Admin, 'fetchTopicOffsets'>; calls: () => number } {
  let calls = 0;
  return {
    admin: {
      fetchTopicOffsets: async () => {
        const failure = failures[calls++];
        if (failure !== undefined) throw failure;
        return ANSWER;
      },
    },
    calls: () => calls,
  };
}

/** A clock that each sleep moves forward, so deadlines are met without waiting. */
function fakeClock(): { now: () => number; sleep: (ms: number) => Promise<void>; slept: number[] } {
  let t = 0;
  const slept: number[] = [];
  const sleep = async (ms: number): Promise<void> => {
    t += ms;
    slept.push(ms);
  };
  return { now: () => t, sleep, slept };
}

describe('readTopicOffsets', () => {
  it('given NOT_LEADER_FOR_PARTITION while a new topic settles, when read, then it retries and answers the offsets as numbers', async () => {
    const fake = admin([notLeader(), notLeader()]);
    const clock = fakeClock();
    const offsets = await readTopicOffsets(fake.admin, 't.keys', clock);
    expect(offsets).toEqual([
      { partition: 0, low: 2, high: 5 },
      { partition: 1, low: 0, high: 0 },
    ]);
    expect(fake.calls()).toBe(3);
    expect(clock.slept).toHaveLength(2);
    expect(Math.max(...clock.slept)).toBeLessThanOrEqual(SETTLE_RETRY.backoff.capMs);
  });

  it('given a failure kafkajs does not retry, when read, then it fails at once as a kafka_unavailable error naming the topic', async () => {
    const refused = new KafkaJSNumberOfRetriesExceeded(new KafkaJSNonRetriableError('This server does not host this topic-partition'), { retryCount: 5, retryTime: 100 });
    const fake = admin([refused]);
    const error = await readTopicOffsets(fake.admin, 't.control', fakeClock()).catch((e: unknown) => e);
    expect(isEngagementError(error, 'kafka_unavailable')).toBe(true);
    expect((error as EngagementError).retriable).toBe(false);
    expect((error as EngagementError).message).toContain('t.control');
    expect((error as EngagementError).cause).toBe(refused);
    expect(fake.calls()).toBe(1);
  });

  it('given leadership that never settles, when read, then it gives up at the deadline with a clear error, never later', async () => {
    const fake = admin(Array.from({ length: 1000 }, notLeader));
    const clock = fakeClock();
    const error = await readTopicOffsets(fake.admin, 't.keys', { ...clock, deadlineMs: 5_000 }).catch((e: unknown) => e);
    expect(isEngagementError(error, 'kafka_unavailable')).toBe(true);
    expect((error as EngagementError).message).toMatch(/reading the offsets of topic t\.keys: This server is not the leader .*NOT_LEADER_FOR_PARTITION.*gave up/);
    expect(clock.now()).toBeLessThanOrEqual(5_000);
    expect(fake.calls()).toBeGreaterThan(3);
  });

  it('reads offsets at a time the same way', async () => {
    let calls = 0;
    const byTime = await readOffsetsAtTime(
      {
        fetchTopicOffsetsByTimestamp: async () => {
          if (calls++ === 0) throw notLeader();
          return [{ partition: 0, offset: '-1' }, { partition: 1, offset: '7' }];
        },
      },
      't.emails',
      0,
      fakeClock(),
    );
    expect(byTime).toEqual(new Map([[0, -1], [1, 7]]));
  });
});

describe('offset maps', () => {
  const offsets = [
    { partition: 0, low: 2, high: 5 },
    { partition: 1, low: 0, high: 0 },
  ];
  it('ends, non-empty ends and log starts per partition', () => {
    expect(endsOf(offsets)).toEqual(new Map([[0, 5], [1, 0]]));
    expect(nonEmptyEndsOf(offsets)).toEqual(new Map([[0, 5]]));
    expect(startsOf(offsets)).toEqual(new Map([[0, 2], [1, 0]]));
  });
});

describe('kafkaError', () => {
  it('is retriable exactly when kafkajs says so, and keeps what kafkajs called it', () => {
    const settling = kafkaError(notLeader(), 'reading');
    expect(settling).toMatchObject({ code: 'kafka_unavailable', retriable: true, details: { kafkaError: 'NOT_LEADER_FOR_PARTITION' } });
    expect(kafkaError(new KafkaJSNonRetriableError('refused'), 'reading').retriable).toBe(false);
    expect(kafkaError('not an error', 'reading')).toMatchObject({ retriable: false, message: 'reading: not an error' });
    const ours = new EngagementError('conflict', 'already ours');
    expect(kafkaError(ours, 'reading')).toBe(ours);
  });
});
